// A small argument parser for the studio CLI: positionals, `--name value`, `--flag`, repeatable options.
export interface Parsed {
  positionals: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
}

export function parseArgs(argv: string[], flagNames: readonly string[]): Parsed {
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    if (!a.startsWith('--')) { positionals.push(a); continue; }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq > 0 ? eq : undefined);
    if (flagNames.includes(name)) { flags.add(name); continue; }
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    options.set(name, [...(options.get(name) ?? []), value]);
  }
  return { positionals, options, flags };
}

export function str(p: Parsed, name: string, fallback?: string): string {
  const v = p.options.get(name)?.at(-1) ?? fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

export function num(p: Parsed, name: string, fallback: number): number {
  const v = p.options.get(name)?.at(-1);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
  return n;
}

export function list(p: Parsed, name: string): string[] {
  return p.options.get(name) ?? [];
}
