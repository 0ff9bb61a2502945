// Rewards for GRPO: the checks a run scores its sampled answers with, built in or written by the user, with weights.
//
// Built-ins (pure, in-process): exact match with the row's reference answer (both NFC, whitespace collapsed, trimmed),
// contains TEXT, regex RE (JavaScript syntax, tested on the answer), a length band in characters, and "ends cleanly"
// (the answer stopped at a stop token, the end of the turn, rather than at the token limit). Each gives 1 or 0.
// A JavaScript function: one self-contained ES module whose default export receives
// `{ prompt, messages, completion, reference }` (prompt: the last user turn's text; messages: the turns the model
// answered; completion: the sampled answer; reference: the row's assistant answer, or null) and returns a number or
// a Promise of one. It runs in a sandbox the host opens (OpenSandbox: a locked-down worker of its own in the page,
// workers/reward-client.ts; worker_threads in Node, src/train/rewards-node.ts), with a time limit per call. A module
// may not import anything: in the page that would reach the network.
//
// Per-sample errors: a function that throws, times out or returns anything but a finite number gives that sample an
// error naming the function and why; it never stops the run and never counts as 0. The sample's every reward is then
// NaN, so it is unscorable (TRL's word): left out of its group's mean and standard deviation, advantage 0 (see
// grpo.ts groupAdvantages). Why the whole sample and not just that function's term: a weighted sum with one term
// missing is a different reward, and counting the missing term as 0 is the silent zero the user would not see.
// Not here: the advantages (grpo.ts), the sandboxes themselves (their hosts).
import type { ChatMessage } from '../data/types';
import { errorMessage, oneLine } from '../errors';

/** What a reward function receives for one sampled answer. */
export interface RewardInput {
  /** The last user turn's text. */
  prompt: string;
  /** The conversation the model answered: the prompt's turns, without the reference answer. */
  messages: ChatMessage[];
  /** The sampled answer's text (without the stop token). */
  completion: string;
  /** The row's assistant answer when it has one. */
  reference: string | null;
}

/** A sample as the scorer takes it: the function's input, and how the answer ended (for "ends cleanly"). */
export interface RewardSample extends RewardInput {
  /** 'stop-token': it ended its turn; 'length': it ran into the token limit. */
  finishReason: 'stop-token' | 'length';
}

export type RewardCheck =
  | { kind: 'exact' }
  | { kind: 'contains'; text: string }
  | { kind: 'regex'; pattern: string; flags?: string }
  | { kind: 'length'; min: number; max: number }
  | { kind: 'ends-cleanly' }
  | { kind: 'function'; name: string; source: string };

/** One reward of a run: a check and its weight in the sum the advantages are taken from. */
export type RewardSpec = RewardCheck & { weight: number };

/** A reward's name in metrics and errors. */
export function rewardName(r: RewardCheck): string {
  switch (r.kind) {
    case 'exact': return 'exact';
    case 'contains': return `contains:${r.text}`;
    case 'regex': return `regex:${r.pattern}`;
    case 'length': return `length:${r.min}-${r.max}`;
    case 'ends-cleanly': return 'ends-cleanly';
    case 'function': return r.name;
  }
}

/** One user module in its sandbox: `call` resolves with whatever the default export gave, or rejects with why. */
export interface ScriptSandbox {
  call(input: RewardInput): Promise<unknown>;
  close(): void;
}

/**
 * Opens a sandbox for one module (loads it, checks it has a default export function); rejects with a one-line
 * reason when it cannot. `timeoutMs` bounds each call (and the load).
 */
export type OpenSandbox = (source: string, opts: { name: string; timeoutMs: number }) => Promise<ScriptSandbox>;

/** A call's time limit unless the run sets one. */
export const DEFAULT_REWARD_TIMEOUT_MS = 5000;

/**
 * Refuses a module that imports (statically or with import()): a reward is one self-contained module. Code cannot
 * build the keyword at run time (the sandbox removes eval and the Function constructors), so the source tells.
 */
export function checkRewardSource(source: string, name: string): void {
  const m = /\bimport\b/.exec(source);
  if (m) {
    const line = source.slice(0, m.index).split('\n').length;
    throw new Error(`reward ${name}: line ${line} uses 'import'; a reward function is one self-contained module (no imports: in the page they would reach the network)`);
  }
  if (!/\bexport\s+default\b/.test(source)) throw new Error(`reward ${name}: no 'export default' (the module's default export is the reward function)`);
}

/**
 * A reward as a command line names it: exact, contains:TEXT, regex:RE (or regex:/RE/FLAGS), length:MIN-MAX,
 * ends-cleanly (or eot), or a module's path (.mjs or .js), which `readModule` turns into its name and source.
 */
export function parseRewardArg(arg: string, weight: number, readModule: (path: string) => { name: string; source: string }): RewardSpec {
  const [kind, rest] = arg.includes(':') ? [arg.slice(0, arg.indexOf(':')), arg.slice(arg.indexOf(':') + 1)] : [arg, ''];
  if (arg === 'exact' || arg === 'ends-cleanly') return { kind: arg, weight };
  if (arg === 'eot') return { kind: 'ends-cleanly', weight };
  if (kind === 'contains') return { kind, text: rest, weight };
  if (kind === 'regex') {
    const slashed = /^\/(.*)\/([a-z]*)$/s.exec(rest);
    return slashed ? { kind, pattern: slashed[1], flags: slashed[2], weight } : { kind, pattern: rest, weight };
  }
  if (kind === 'length') {
    const band = /^(\d+)-(\d+)$/.exec(rest);
    if (!band) throw new Error(`reward ${oneLine(arg, 80)}: a length band is length:MIN-MAX (characters)`);
    return { kind, min: Number(band[1]), max: Number(band[2]), weight };
  }
  if (/\.m?js$/.test(arg)) return { kind: 'function', ...readModule(arg), weight };
  throw new Error(`reward ${oneLine(arg, 80)}: not one of exact, contains:TEXT, regex:RE, length:MIN-MAX, ends-cleanly (eot) or a .mjs file`);
}

/** Checks a set of rewards before a run: weights, regexes, bands, names; an error naming the first bad one. */
export function validateRewards(specs: readonly RewardSpec[]): void {
  if (specs.length === 0) throw new Error('GRPO needs at least one reward');
  const names = new Set<string>();
  for (const s of specs) {
    const name = rewardName(s);
    if (!Number.isFinite(s.weight)) throw new Error(`reward ${name}: weight must be a finite number, not ${s.weight}`);
    if (names.has(name)) throw new Error(`reward ${name} is listed twice`);
    names.add(name);
    if (s.kind === 'contains' && s.text === '') throw new Error('reward contains: the text is empty');
    if (s.kind === 'regex') {
      try {
        new RegExp(s.pattern, s.flags);
      } catch (e) {
        throw new Error(`reward ${name}: ${errorMessage(e)}`);
      }
    }
    if (s.kind === 'length' && !(Number.isInteger(s.min) && Number.isInteger(s.max) && s.min >= 0 && s.max >= s.min)) {
      throw new Error(`reward ${name}: the band needs whole numbers 0 <= min <= max`);
    }
    if (s.kind === 'function') checkRewardSource(s.source, name);
  }
}

const normalize = (s: string): string => s.normalize('NFC').replace(/\s+/gu, ' ').trim();

/** A built-in check's reward (1 or 0); throws the sample's error (exact match without a reference). */
function builtin(r: Exclude<RewardCheck, { kind: 'function' }>, s: RewardSample, re: RegExp | null): number {
  switch (r.kind) {
    case 'exact':
      if (s.reference === null) throw new Error('the row has no reference answer to match');
      return normalize(s.completion) === normalize(s.reference) ? 1 : 0;
    case 'contains': return s.completion.includes(r.text) ? 1 : 0;
    case 'regex': re!.lastIndex = 0; return re!.test(s.completion) ? 1 : 0;
    case 'length': return s.completion.length >= r.min && s.completion.length <= r.max ? 1 : 0;
    case 'ends-cleanly': return s.finishReason === 'stop-token' ? 1 : 0;
  }
}

/** What a function's value says when it is not a reward. */
function notAReward(v: unknown): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : `returned ${v} (a reward must be a finite number)`;
  const what = v === null || v === undefined ? String(v) : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
  return `returned ${what}, not a number`;
}

/** The rewards of a batch of samples. */
export interface RewardScores {
  /** [sample][reward]: each reward's value; every value of an unscorable sample is NaN. */
  values: number[][];
  /** Per sample: null, or why it could not be scored ("reward NAME: threw ..."). */
  errors: (string | null)[];
}

/** A run's rewards, ready to score: built-ins in-process, each function in its own sandbox. Close it after the run. */
export class RewardScorer {
  readonly names: string[];
  readonly weights: number[];
  private constructor(private readonly specs: readonly RewardSpec[], private readonly sandboxes: (ScriptSandbox | null)[], private readonly regexes: (RegExp | null)[]) {
    this.names = specs.map(rewardName);
    this.weights = specs.map((s) => s.weight);
  }

  /** Validates the rewards and opens a sandbox per function (`open` is needed only when there is one). */
  static async open(specs: readonly RewardSpec[], open: OpenSandbox | null, timeoutMs = DEFAULT_REWARD_TIMEOUT_MS): Promise<RewardScorer> {
    validateRewards(specs);
    const sandboxes: (ScriptSandbox | null)[] = [];
    try {
      for (const s of specs) {
        if (s.kind !== 'function') { sandboxes.push(null); continue; }
        if (!open) throw new Error(`reward ${s.name}: JavaScript rewards need a sandbox, which this host does not offer`);
        sandboxes.push(await open(s.source, { name: s.name, timeoutMs }));
      }
    } catch (e) {
      for (const b of sandboxes) b?.close();
      throw e;
    }
    return new RewardScorer(specs, sandboxes, specs.map((s) => (s.kind === 'regex' ? new RegExp(s.pattern, s.flags) : null)));
  }

  async score(samples: readonly RewardSample[]): Promise<RewardScores> {
    const values: number[][] = [], errors: (string | null)[] = [];
    for (const s of samples) {
      const row: number[] = [];
      let error: string | null = null;
      for (const [k, spec] of this.specs.entries()) {
        try {
          if (spec.kind !== 'function') { row.push(builtin(spec, s, this.regexes[k])); continue; }
          const input: RewardInput = { prompt: s.prompt, messages: s.messages, completion: s.completion, reference: s.reference };
          const v = await this.sandboxes[k]!.call(input);
          const bad = notAReward(v);
          if (bad) throw new Error(bad);
          row.push(v as number);
        } catch (e) {
          error ??= oneLine(`reward ${this.names[k]}: ${errorMessage(e)}`, 300);
          row.push(NaN);
        }
      }
      values.push(error ? row.map(() => NaN) : row);
      errors.push(error);
    }
    return { values, errors };
  }

  close(): void {
    for (const b of this.sandboxes) b?.close();
  }
}
