// Property and fuzz tests (fast-check) for the inputs this round added, as tests/unit/fuzz.test.ts has them for the
// file parsers: reward functions (their source, and whatever their default export returns or throws, run in the
// Node sandbox), Hub dataset ids, listings and cards (through a stand-in for the Hub's API), GRPO's settings and
// reward arguments, conversation rows read as the command line reads a data file, and config.json values of every
// model family. Each input gives a correct result or a clear error: an Error of the code's own (not a TypeError or
// RangeError from deep inside) whose message, as the command line prints it (oneLine), is one capped line; never
// a crash, a hang, or an unhandled rejection.
//
// Runs: FUZZ_RUNS per property (default 100; the sandbox property a quarter of that, each case starting a thread),
// from FUZZ_SEED (default 1; `random` for a fresh seed):  FUZZ_RUNS=2000 FUZZ_SEED=random npm test -- tests/unit/fuzz-inputs.test.ts
// Found by these properties and fixed: a card whose configs were not a list, or whose data_dir was a number, threw
// a TypeError; a card's file pattern with a reversed class ([z-a]) threw a SyntaxError; a listing entry of type
// file without a path reached the layout; a revision with control characters was taken.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { assertTrainable, assertUsable, importBytes, NoUsableRecords, refusalNote } from '../../cli/data-file';
import { cardConfigsOf, datasetLayout, listHubDataset, parseHubDataset, pickSplit, type DatasetFile } from '../../src/data/hub';
import { fnv1a, fnv1aJsonArray } from '../../src/data/hash';
import { errorMessage, oneLine } from '../../src/errors';
import { validateModelConfig } from '../../src/io/validate';
import { configFromHf, parameterCount } from '../../src/model/arch';
import { DEFAULT_GRPO, groupAdvantages, grpoProblem, grpoPromptOf, type GrpoConfig } from '../../src/train/grpo';
import { checkRewardSource, parseRewardArg, RewardScorer, type RewardSample, type RewardSpec } from '../../src/train/rewards';
import { openNodeSandbox } from '../../src/train/rewards-node';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED === 'random' ? undefined : Number(process.env.FUZZ_SEED ?? 1);
const params = { numRuns: RUNS, seed: SEED };

/** The command line's error line: one line, capped (src/errors.ts oneLine at its default 400 characters). */
const LINE_MAX = 400 + '… (99999999 more characters)'.length;

/** An error the code means to throw, shown as the command line shows it: its own Error, one line, capped. */
function expectClearError(e: unknown, starts?: string): void {
  expect(e).toBeInstanceOf(Error);
  expect(e, String(e)).not.toBeInstanceOf(TypeError);
  expect(e, String(e)).not.toBeInstanceOf(RangeError);
  expect(e, String(e)).not.toBeInstanceOf(SyntaxError);
  const message = errorMessage(e);
  expect(message.length).toBeGreaterThan(0);
  // The engine's words for a bug, wrapped in an Error of the code's own, are no clearer.
  expect(message).not.toMatch(/is not a function|Cannot read propert|is not iterable|is not defined/);
  const line = oneLine(message);
  expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(line.length).toBeLessThanOrEqual(LINE_MAX);
  if (starts) expect(message.startsWith(starts), message).toBe(true);
}

/** Text with the characters that break lines and terminals, beside ordinary ones. */
const hostileText = fc.string({ unit: fc.oneof(fc.constantFrom('\n', '\r', '\t', '\u001b', '\u0000', '\u202e', '\u0085', '"', '\\', '/', '@', ':'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 40 });

describe('rewards', () => {
  it('a module source: refused with its reward named when it imports or has no default export, else taken', () => {
    fc.assert(fc.property(fc.oneof(hostileText, fc.constantFrom('export default () => 1', 'import x from "y"; export default x', 'export  default\n1', 'const imported = 1; export default () => imported', '/* import */ export default 0')), (source) => {
      let error: unknown = null;
      try { checkRewardSource(source, 'r.mjs'); } catch (e) { error = e; }
      const takes = !/\bimport\b/.test(source) && /\bexport\s+default\b/.test(source);
      if (takes) expect(error).toBeNull();
      else expectClearError(error, 'reward r.mjs: ');
    }), params);
  });

  /**
   * What a default export may do: give a value (directly or through a promise) or throw one. One that never answers
   * is tests/unit/rewards.test.ts's (its time limit here would be each case's, on a machine others share).
   */
  const value = fc.oneof(
    fc.double().map((x) => ({ code: Object.is(x, -0) ? '-0' : String(x), reward: Number.isFinite(x) ? x : null })),
    fc.constantFrom('null', 'undefined', '"1"', '[1]', '({ valueOf: () => 1 })', 'Symbol("s")', '10n', '(() => 1)', 'new Proxy({}, {})', 'Object.create(null)')
      .map((code) => ({ code, reward: null })),
    hostileText.map((t) => ({ code: JSON.stringify(t), reward: null })),
  );
  const thrown = fc.oneof(hostileText.map((t) => `new Error(${JSON.stringify(t)})`), hostileText.map((t) => JSON.stringify(t)),
    fc.constantFrom('null', 'undefined', 'Object.create(null)', '({ toString() { throw new Error("x") } })', 'Symbol("s")', '12'));
  const behaviour = fc.oneof(
    value.map((v) => ({ body: `return ${v.code};`, reward: v.reward })),
    value.map((v) => ({ body: `return Promise.resolve(${v.code});`, reward: v.reward })),
    thrown.map((t) => ({ body: `throw ${t};`, reward: null })),
    thrown.map((t) => ({ body: `return Promise.reject(${t});`, reward: null })),
  );
  const sample = (completion: string): RewardSample => ({ prompt: 'p', messages: [{ role: 'user', content: 'p' }], completion, reference: null, finishReason: 'stop-token' });
  const scorers: RewardScorer[] = [];
  afterAll(() => scorers.forEach((s) => s.close()));

  it('whatever a function returns or throws: the finite number it gave, or that sample alone unscorable with a one-line error naming it', async () => {
    await fc.assert(fc.asyncProperty(fc.array(behaviour, { minLength: 1, maxLength: 4 }), async (bs) => {
      // One module per case, its behaviours chosen by the completion's index: one thread serves them all.
      const source = `export default ({ completion }) => { switch (Number(completion)) {\n${bs.map((b, i) => `case ${i}: { ${b.body} }`).join('\n')}\n} };`;
      const scorer = await RewardScorer.open([{ kind: 'function', name: 'fuzz.mjs', source, weight: 1 }], openNodeSandbox);
      scorers.push(scorer);
      const { values, errors } = await scorer.score(bs.map((_, i) => sample(String(i))));
      scorer.close();
      bs.forEach((b, i) => {
        if (b.reward !== null) {
          expect(errors[i]).toBeNull();
          expect(values[i][0]).toBe(b.reward);
        } else {
          expect(values[i][0]).toBeNaN();
          expectClearError(new Error(errors[i]!), 'reward fuzz.mjs: ');
          expect(errors[i]!.length).toBeLessThanOrEqual(300 + '… (99999999 more characters)'.length);
        }
      });
    }), { ...params, numRuns: Math.max(5, Math.round(RUNS / 4)) });
  });
});

describe('GRPO settings', () => {
  const num = fc.oneof(fc.double(), fc.integer({ min: -3, max: 40 }), fc.constantFrom(0, 1, 2, 8, 0.5, 1e-9, Number.MAX_SAFE_INTEGER + 2));
  const rewardArg = fc.oneof(
    fc.constantFrom('exact', 'ends-cleanly', 'length:3-8', 'length:8-3', 'length:x', 'contains:', 'regex:(', 'regex:/a/gg', 'regex:/a+/i', 'r.mjs', 'nope'),
    fc.tuple(fc.constantFrom('contains:', 'regex:', 'regex:/', 'length:', ''), hostileText).map(([k, t]) => k + t),
  );
  const moduleSource = fc.oneof(fc.constant('export default () => 1'), hostileText);
  /** Reward arguments as the command line gives them, each parsed or refused by parseRewardArg. */
  const rewardArgs = fc.array(fc.tuple(rewardArg, num, moduleSource), { maxLength: 3 });
  const enumOf = <T extends string>(valid: T[]) => fc.oneof(fc.constantFrom(...valid), hostileText) as fc.Arbitrary<T>;
  const knobs: fc.Arbitrary<Omit<GrpoConfig, 'rewards'>> = fc.record({
    numGenerations: num, maxNewTokens: num, temperature: num, topK: num, topP: num, beta: num,
    reference: enumOf(['start', 'base']), lossType: enumOf(['grpo', 'dr_grpo', 'dapo']), epsilon: num, epsilonHigh: num,
    scaleRewards: enumOf(['group', 'batch', 'none']), numIterations: num, rewardTimeoutMs: num,
  });

  it('a config and batch: refused with the setting named on one line, or one every step of the trainer can take', () => {
    fc.assert(fc.property(fc.oneof(knobs, fc.constant(DEFAULT_GRPO)), rewardArgs, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4 }), (k, args, batchSize, gradAccumSteps) => {
      const rewards: RewardSpec[] = [];
      for (const [arg, weight, source] of args) {
        try {
          rewards.push(parseRewardArg(arg, weight, (path) => ({ name: path, source })));
        } catch (e) {
          expectClearError(e, 'reward ');
        }
      }
      const g: GrpoConfig = { ...k, rewards };
      const problem = grpoProblem(g, { batchSize, gradAccumSteps });
      if (problem !== null) {
        expectClearError(new Error(problem));
        return;
      }
      const whole = (x: number, min: number) => Number.isInteger(x) && x >= min;
      expect(whole(g.numGenerations, 2) && (batchSize * gradAccumSteps) % g.numGenerations === 0).toBe(true);
      expect(whole(g.maxNewTokens, 1) && whole(g.topK, 0) && whole(g.numIterations, 1)).toBe(true);
      expect(g.temperature > 0 && g.topP > 0 && g.topP <= 1 && g.beta >= 0 && g.epsilon > 0 && g.epsilon < 1 && g.epsilonHigh > 0 && g.rewardTimeoutMs > 0).toBe(true);
      expect(g.rewards.length).toBeGreaterThan(0);
      for (const r of g.rewards) {
        expect(Number.isFinite(r.weight)).toBe(true);
        if (r.kind === 'regex') expect(() => new RegExp(r.pattern, r.flags)).not.toThrow();
      }
    }), params);
  });

  it('advantages of any rewards (NaN for unscorable answers) are finite, 0 where the answer could not be scored', () => {
    const G = fc.integer({ min: 1, max: 5 });
    fc.assert(fc.property(G, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom('group' as const, 'batch' as const, 'none' as const), (g, groups, k, scaling) =>
      fc.assert(fc.property(
        fc.array(fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6 }), fc.constant(NaN)), { minLength: k, maxLength: k }), { minLength: g * groups, maxLength: g * groups }),
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: k, maxLength: k }),
        (values, weights) => {
          const a = groupAdvantages(values, weights, g, scaling);
          expect(a.advantages).toHaveLength(values.length);
          a.advantages.forEach((x, i) => {
            expect(Number.isFinite(x)).toBe(true);
            if (values[i].every(Number.isNaN)) expect(x).toBe(0);
          });
        }), { numRuns: 5, seed: SEED })), params);
  });
});

describe('Hub datasets', () => {
  it('an id: refused on one line, or the repository and revision it names, which read back the same', () => {
    const idChar = fc.constantFrom('a', 'B', '0', '-', '_', '.', '/', '@', ' ', ':', '\n', '\u0001', '\u007f', 'é');
    const part = fc.string({ unit: idChar, maxLength: 12 });
    const spec = fc.oneof(hostileText, part.map((s) => `hub:${s}`), fc.tuple(part, part).map(([repo, rev]) => `hub:${repo}@${rev}`), part.map((rev) => `hub:owner/name@${rev}`));
    fc.assert(fc.property(spec, (spec) => {
      let ref;
      try { ref = parseHubDataset(spec); } catch (e) { expectClearError(e); expect(errorMessage(e)).toContain('is not a Hub dataset'); return; }
      expect(ref.repo).toMatch(/^[\w.-]+(\/[\w.-]+)?$/);
      expect(ref.revision).not.toMatch(/[\s\p{Cc}]/u);
      expect(parseHubDataset(`hub:${ref.repo}@${ref.revision}`)).toEqual(ref);
    }), params);
  });

  const segment = fc.constantFrom('data', 'train', 'test', 'validation', 'dev', 'en', '.hidden', '__x', 'my-test-1', 'train-00000-of-00002', 'a b');
  const path = fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.constantFrom('.jsonl', '.parquet', '.csv', '.json', '.txt', '.md', '')).map(([s, ext]) => s.join('/') + ext);
  const files = fc.uniqueArray(fc.record({ path, size: fc.nat(1e6) }), { selector: (f) => f.path, maxLength: 8 });
  const pattern = fc.oneof(path, fc.constantFrom('**', '*.jsonl', 'data/*', 'train/**', '[z-a]*', '[!t]*', '**/test*', '?rain*'), hostileText);
  /** Mostly what a card may hold, sometimes any JSON (a card's YAML is anyone's). */
  const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: fc.jsonValue(), weight: 1 });
  const cardConfig = fc.record({
    config_name: mostly(fc.constantFrom('default', 'en', 'x')),
    data_dir: mostly(fc.constantFrom('data', 'en', '/data/')),
    data_files: mostly(fc.oneof(pattern, fc.array(pattern, { maxLength: 3 }), fc.array(fc.record({ split: mostly(fc.constantFrom('train', 'test')), path: fc.oneof(pattern, fc.array(pattern)) }), { maxLength: 3 }))),
    default: mostly(fc.boolean()),
  }, { requiredKeys: [] });
  const card = fc.oneof({ arbitrary: fc.array(cardConfig, { maxLength: 3 }), weight: 4 }, fc.constant(undefined), fc.jsonValue());
  const name = fc.option(fc.oneof(fc.constantFrom('default', 'en', 'x', 'train', 'test', 'validation'), hostileText), { nil: undefined });

  /** The layout and the split picked from it, or a clear error; a picked split's files are data files of the listing. */
  function checkLayout(listing: DatasetFile[], cardValue: unknown, config: string | undefined, split: string | undefined): void {
    try {
      const layout = datasetLayout(listing, cardConfigsOf(cardValue));
      const picked = pickSplit(layout, 'o/n', config, split);
      expect(picked.split.files.length).toBeGreaterThan(0);
      for (const f of picked.split.files) {
        expect(listing).toContainEqual(f);
        expect(f.path.split('/').some((s) => s.startsWith('.') || s.startsWith('__'))).toBe(false);
      }
    } catch (e) {
      expectClearError(e);
    }
  }

  it('a listing and a card: the split asked for (or the default), or a clear error', () => {
    fc.assert(fc.property(files, card, name, name, checkLayout), params);
  });

  it('the Hub API answering anything: a layout, or one line that names the repository', async () => {
    const body = fc.oneof(fc.jsonValue(), fc.array(fc.record({ type: fc.oneof(fc.constantFrom('file', 'directory'), fc.jsonValue()), path: fc.oneof(path, fc.jsonValue()), size: fc.oneof(fc.nat(1e6), fc.jsonValue()) }, { requiredKeys: [] }), { maxLength: 5 }));
    const info = fc.oneof(fc.jsonValue(), card.map((configs) => ({ cardData: { configs } })));
    const status = fc.constantFrom(200, 200, 200, 404, 500);
    await fc.assert(fc.asyncProperty(info, body, status, fc.boolean(), async (infoBody, treeBody, code, notJson) => {
      // A stand-in for the Hub's API (datasetInfo, then the tree listing), answering what the case says.
      const standIn = (async (url: string | URL | Request) => {
        const tree = String(url).includes('/tree/');
        const text = notJson && tree ? '<html>' : JSON.stringify(tree ? treeBody : infoBody);
        return new Response(text, { status: tree ? 200 : code, headers: { 'content-type': 'application/json' } });
      }) as typeof fetch;
      try {
        const layout = await listHubDataset({ repo: 'owner/name', revision: 'main' }, { endpoint: 'http://hub.stand-in', fetch: standIn });
        expect(Array.isArray(layout.configs)).toBe(true);
      } catch (e) {
        expectClearError(e, 'owner/name');
      }
    }), params);
  });
});

describe('conversation rows, as the command line reads a data file', () => {
  const content = fc.oneof(hostileText, fc.constant(''), fc.jsonValue(), fc.array(fc.record({ type: fc.constantFrom('text', 'image'), text: fc.oneof(hostileText, fc.jsonValue()) }, { requiredKeys: [] }), { maxLength: 2 }));
  const role = fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'tool', 'human', 'gpt', 'wizard', ''), fc.jsonValue());
  const message = fc.record({ role, content }, { requiredKeys: [] });
  const rowsOf = <T>(row: fc.Arbitrary<T>) => fc.array(row, { maxLength: 6 });
  const file = fc.oneof(
    rowsOf(fc.record({ messages: fc.oneof(fc.array(message, { maxLength: 4 }), fc.jsonValue()), split: fc.option(fc.constantFrom('train', 'test', 'validation')) }, { requiredKeys: ['messages'] })),
    rowsOf(fc.record({ instruction: fc.oneof(hostileText, fc.jsonValue()), input: fc.oneof(hostileText, fc.jsonValue()), output: fc.oneof(hostileText, fc.jsonValue()) }, { requiredKeys: [] })),
    rowsOf(fc.record({ prompt: fc.oneof(hostileText, fc.array(message, { maxLength: 2 })), chosen: fc.oneof(hostileText, fc.array(message, { maxLength: 2 })), rejected: fc.oneof(hostileText, fc.array(message, { maxLength: 2 }), fc.jsonValue()) }, { requiredKeys: [] })),
    rowsOf(fc.jsonValue()),
  ).map((rows) => rows.map((r) => JSON.stringify(r) ?? 'null').join('\n'));

  it('records with known roles and text, or a refusal that says how many rows and why; GRPO takes a record or says why not', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(file, hostileText), fc.constantFrom('rows.jsonl', 'rows.json'), async (text, fileName) => {
      let d;
      try { d = await importBytes(fileName, new TextEncoder().encode(text)); } catch (e) { expectClearError(e, `${fileName}: `); return; }
      expect(d.records.length).toBeLessThanOrEqual(Math.max(d.rows, 1));
      for (const r of d.records) {
        expect(r.messages.length).toBeGreaterThan(0);
        for (const m of r.messages) {
          expect(['system', 'user', 'assistant', 'tool']).toContain(m.role);
          expect(typeof m.content).toBe('string');
        }
        try { grpoPromptOf(r.messages); } catch (e) { expectClearError(e, 'a GRPO prompt must end with a user turn'); }
      }
      for (const check of [assertUsable, assertTrainable]) {
        try {
          check(fileName, d);
          expect(d.records.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(NoUsableRecords);
          expectClearError(e, `${fileName} `);
        }
      }
      const note = refusalNote(fileName, d);
      if (note !== null) expectClearError(new Error(note), `${fileName}: `);
    }), params);
  });

  it('a run\'s data identity hashes the records as JSON.stringify would, without building the string', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.jsonValue(), fc.constant(undefined))), (items) => {
      expect(fnv1aJsonArray(items)).toBe(fnv1a(JSON.stringify(items)));
    }), params);
  });
});

describe('config.json values of every family', () => {
  const bases: Record<string, Record<string, unknown>> = {
    llama: JSON.parse(readFileSync('tests/fixtures/models/llama-small/config.json', 'utf8')),
    gpt2: JSON.parse(readFileSync('tests/fixtures/models/gpt2/config.json', 'utf8')),
    qwen3: { model_type: 'qwen3', vocab_size: 384, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 256, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: true, use_sliding_window: false, sliding_window: 64, max_window_layers: 2 },
    mistral: { model_type: 'mistral', vocab_size: 384, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 1e4, sliding_window: 16 },
    gemma3: { model_type: 'gemma3_text', vocab_size: 384, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 3, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 256, rms_norm_eps: 1e-6, rope_theta: 1e6, rope_local_base_freq: 1e4, query_pre_attn_scalar: 16, sliding_window: 8, sliding_window_pattern: 2, rope_scaling: null, final_logit_softcapping: null, attn_logit_softcapping: null },
  };
  for (const [family, base] of Object.entries(bases)) expect(() => validateModelConfig(configFromHf(base)), family).not.toThrow();
  const keys = [...new Set(Object.values(bases).flatMap(Object.keys)), 'rope_scaling', 'layer_types', 'head_dim', 'hidden_act', 'hidden_activation', 'eos_token_id', 'text_config', 'use_sliding_window', 'max_window_layers'];
  const hfValue = fc.oneof(
    fc.jsonValue(), hostileText, fc.constantFrom(0, -1, 1, 3, 1e12, 2 ** 31 + 1, 0.5, -1e-6, 1, 1e300, null, true, [], {}),
    fc.constantFrom({ rope_type: 'linear', factor: 2 }, { rope_type: 'yarn', factor: -1 }, { type: 'dynamic' }, ['sliding_attention', 'full_attention']),
  );

  it('a key set to anything: refused on one line that names config.json, or a config the loader validates and can size', () => {
    fc.assert(fc.property(fc.constantFrom(...Object.keys(bases)), fc.array(fc.tuple(fc.constantFrom(...keys), hfValue), { minLength: 1, maxLength: 3 }), (family, edits) => {
      const json: Record<string, unknown> = { ...bases[family] };
      for (const [k, v] of edits) json[k] = v;
      let config;
      try {
        config = configFromHf(json);
        validateModelConfig(config);
      } catch (e) {
        expectClearError(e, 'config.json');
        return;
      }
      const n = parameterCount(config);
      expect(Number.isSafeInteger(n) && n > 0 && n <= 2 ** 34).toBe(true);
    }), params);
  });
});
