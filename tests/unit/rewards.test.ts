// GRPO's rewards (src/train/rewards.ts) and the Node sandbox for reward functions (src/train/rewards-node.ts):
//  - the built-ins: exact match (normalised; an error without a reference), contains, regex, length band, ends cleanly;
//  - a function's value, sync or async; a function that throws, loops, returns NaN, a string or nothing fails only its
//    sample, naming the function, and makes every reward of that sample NaN (unscorable, never 0); a thread stopped for
//    running past the limit is replaced and the function answers again;
//  - bad rewards are refused before a run: weights, regexes, bands, duplicates, imports, no default export, a module
//    that does not load or exports no function;
//  - rewards as a command line names them.
import { afterAll, describe, expect, it } from 'vitest';
import { openNodeSandbox } from '../../src/train/rewards-node';
import { parseRewardArg, RewardScorer, validateRewards, type RewardSample, type RewardSpec } from '../../src/train/rewards';

const sample = (completion: string, over: Partial<RewardSample> = {}): RewardSample => ({
  prompt: 'Capital of France?', messages: [{ role: 'user', content: 'Capital of France?' }], completion, reference: 'Paris.', finishReason: 'stop-token', ...over,
});
const fn = (name: string, source: string, weight = 1): RewardSpec => ({ kind: 'function', name, source, weight });
const open: RewardScorer[] = [];
afterAll(() => open.forEach((s) => s.close()));
const scorer = async (specs: RewardSpec[], timeoutMs?: number) => { const s = await RewardScorer.open(specs, openNodeSandbox, timeoutMs); open.push(s); return s; };

describe('rewards', () => {
  it('the built-ins give 1 or 0 per answer', async () => {
    const s = await scorer([
      { kind: 'exact', weight: 1 }, { kind: 'contains', text: 'Paris', weight: 1 }, { kind: 'regex', pattern: 'paris', flags: 'i', weight: 1 },
      { kind: 'length', min: 3, max: 8, weight: 1 }, { kind: 'ends-cleanly', weight: 1 },
    ]);
    expect(s.names).toEqual(['exact', 'contains:Paris', 'regex:paris', 'length:3-8', 'ends-cleanly']);
    const { values, errors } = await s.score([
      sample(' Paris.\n'), sample('paris is the capital', { finishReason: 'length' }), sample('Lyon'), sample('Paris.', { reference: null }),
    ]);
    expect(values.slice(0, 3)).toEqual([[1, 1, 1, 1, 1], [0, 0, 1, 0, 0], [0, 0, 0, 1, 1]]);
    expect(errors.slice(0, 3)).toEqual([null, null, null]);
    expect(errors[3]).toBe('reward exact: the row has no reference answer to match');
    expect(values[3].every(Number.isNaN)).toBe(true);
  });

  it('a function\'s value; one that throws, loops, or gives no number fails only its sample', async () => {
    const s = await scorer([
      { kind: 'contains', text: 'a', weight: 0.5 },
      fn('f', `export default async ({ prompt, messages, completion, reference }) => {
        if (completion === 'throw') throw new RangeError('too far');
        if (completion === 'loop') for (;;) {}
        if (completion === 'nan') return NaN;
        if (completion === 'inf') return -Infinity;
        if (completion === 'text') return '1';
        if (completion === 'none') return;
        if (completion === 'obj') return { reward: 1 };
        return completion.length + (reference === 'Paris.' ? 100 : 0) + (prompt === messages[0].content ? 1000 : 0);
      }`),
    ], 1000);
    const { values, errors } = await s.score(['ab', 'throw', 'loop', 'nan', 'inf', 'text', 'none', 'obj', 'a'].map((c) => sample(c)));
    expect(values[0]).toEqual([1, 1102]);
    expect(values[8]).toEqual([1, 1101]);
    expect(errors).toEqual([
      null, 'reward f: RangeError: too far', 'reward f: did not answer within 1000 ms (stopped)',
      'reward f: returned NaN (a reward must be a finite number)', 'reward f: returned -Infinity (a reward must be a finite number)',
      'reward f: returned a string, not a number', 'reward f: returned undefined, not a number', 'reward f: returned an object, not a number', null,
    ]);
    for (const v of values.slice(1, 8)) expect(v.every(Number.isNaN)).toBe(true);   // the built-in's 1 too: unscorable
  });

  it('refuses bad rewards before a run, with the reward named', async () => {
    const bad: [RewardSpec[], RegExp][] = [
      [[], /at least one reward/],
      [[{ kind: 'exact', weight: NaN }], /reward exact: weight must be a finite number/],
      [[{ kind: 'regex', pattern: '(', weight: 1 }], /reward regex:\(: Invalid regular expression/],
      [[{ kind: 'length', min: 5, max: 2, weight: 1 }], /length:5-2: the band needs whole numbers/],
      [[{ kind: 'contains', text: 'x', weight: 1 }, { kind: 'contains', text: 'x', weight: 2 }], /contains:x is listed twice/],
      [[fn('g', 'import fs from "node:fs";\nexport default () => 1')], /reward g: line 1 uses 'import'/],
      [[fn('g', 'const f = () => 1;\nexport { f };')], /reward g: no 'export default'/],
    ];
    for (const [specs, msg] of bad) expect(() => validateRewards(specs)).toThrow(msg);
    await expect(RewardScorer.open([fn('g', 'export default () => 1')], null)).rejects.toThrow(/need a sandbox/);
    await expect(RewardScorer.open([fn('g', 'export default 3')], openNodeSandbox)).rejects.toThrow(/reward g could not be loaded: its default export is a number, not a function/);
    await expect(RewardScorer.open([fn('g', 'export default () => {\n  return 1 +;\n}')], openNodeSandbox)).rejects.toThrow(/reward g could not be loaded: SyntaxError/);
    await expect(RewardScorer.open([fn('g', 'for (;;) {}\nexport default () => 1')], openNodeSandbox, 500)).rejects.toThrow(/reward g could not be loaded|did not answer within 500 ms/);
  });

  it('reads rewards as a command line names them', () => {
    const read = (path: string) => ({ name: path.replace(/^.*\//, ''), source: 'export default () => 1' });
    expect(parseRewardArg('exact', 1, read)).toEqual({ kind: 'exact', weight: 1 });
    expect(parseRewardArg('ends-cleanly', 0.5, read)).toEqual({ kind: 'ends-cleanly', weight: 0.5 });
    expect(parseRewardArg('contains:a:b', 1, read)).toEqual({ kind: 'contains', text: 'a:b', weight: 1 });
    expect(parseRewardArg('regex:^\\d+$', 1, read)).toEqual({ kind: 'regex', pattern: '^\\d+$', weight: 1 });
    expect(parseRewardArg('regex:/yes/i', 1, read)).toEqual({ kind: 'regex', pattern: 'yes', flags: 'i', weight: 1 });
    expect(parseRewardArg('length:10-80', 2, read)).toEqual({ kind: 'length', min: 10, max: 80, weight: 2 });
    expect(parseRewardArg('rewards/format.mjs', 1, read)).toEqual({ kind: 'function', name: 'format.mjs', source: 'export default () => 1', weight: 1 });
    expect(() => parseRewardArg('length:ten', 1, read)).toThrow(/length:MIN-MAX/);
    expect(() => parseRewardArg('fuzzy', 1, read)).toThrow(/reward fuzzy: not one of/);
  });
});
