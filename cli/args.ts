// The studio CLI's argument parser: positionals, `--name value` / `--name=value`, `--flag`, repeatable
// options. Each command declares the flags and options it knows; anything else is an error naming the
// closest known one (a mistyped `--rnak 4` must not train at the default rank). Numbers are checked against
// the range the option allows before anything is loaded.

/** The command line refusing its own arguments: an unknown command or option, a missing or malformed value (exit 2). */
export class UsageError extends Error {}

export interface Parsed {
  positionals: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
}

export interface Grammar {
  /** Options without a value. */
  flags: readonly string[];
  /** Options that take a value. */
  options: readonly string[];
}

export function parseArgs(argv: string[], grammar: Grammar): Parsed {
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    if (!a.startsWith('--')) { positionals.push(a); continue; }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq > 0 ? eq : undefined);
    if (grammar.flags.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
      continue;
    }
    if (!grammar.options.includes(name)) throw new UsageError(unknownOption(name, grammar));
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    options.set(name, [...(options.get(name) ?? []), value]);
  }
  return { positionals, options, flags };
}

function unknownOption(name: string, grammar: Grammar): string {
  const known = [...grammar.flags, ...grammar.options];
  const best = known.map((k) => ({ k, d: editDistance(name, k) })).sort((x, y) => x.d - y.d)[0];
  const hint = best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean --${best.k}?)` : '';
  return `unknown option --${name}${hint}`;
}

/** Levenshtein distance, for the "did you mean" hint. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

export function str(p: Parsed, name: string, fallback?: string): string {
  const v = p.options.get(name)?.at(-1) ?? fallback;
  if (v === undefined) throw new UsageError(`missing --${name}`);
  return v;
}

/** The range a numeric option accepts; `integer` also refuses fractions. */
export interface Range {
  min?: number;
  /** The minimum itself is not allowed (--lr > 0). */
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
  integer?: boolean;
}

export function num(p: Parsed, name: string, fallback: number, range: Range = {}): number {
  const v = p.options.get(name)?.at(-1);
  if (v === undefined) return fallback;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  if (range.integer && !Number.isInteger(n)) throw new UsageError(`--${name} must be a whole number, got ${v}`);
  const { min, max } = range;
  const low = min !== undefined && (range.minExclusive ? n <= min : n < min);
  const high = max !== undefined && (range.maxExclusive ? n >= max : n > max);
  if (low || high) throw new UsageError(`--${name} must be ${describe(range)}, got ${v}`);
  return n;
}

function describe({ min, max, minExclusive, maxExclusive }: Range): string {
  const lo = min === undefined ? '' : `${minExclusive ? '>' : '≥'} ${min}`;
  const hi = max === undefined ? '' : `${maxExclusive ? '<' : '≤'} ${max}`;
  return lo && hi ? `${lo} and ${hi}` : lo || hi;
}

/** An option that takes one of `allowed` (the last given wins), or `fallback` when absent. */
export function choice<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T;
export function choice<T extends string>(p: Parsed, name: string, allowed: readonly T[]): T | undefined;
export function choice<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback?: T): T | undefined {
  const v = p.options.get(name)?.at(-1);
  if (v === undefined) return fallback;
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) throw new UsageError(`--${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, got "${v}"`);
  return hit;
}

export function list(p: Parsed, name: string): string[] {
  return p.options.get(name) ?? [];
}
