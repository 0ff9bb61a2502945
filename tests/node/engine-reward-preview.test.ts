// GRPO before and while it runs, through the engine's real message protocol (client ⇄ serveEngine over a
// MessageChannel) on the Node host (JavaScript rewards in its worker_threads sandbox):
//  - previewRewards answers a few prompts as a run would (the same tokens as the run's sampler on a Transformer built
//    outside the engine, same seed) and scores each answer by each reward on its own: built-ins and a function give
//    their values (checked against the shown answers), while a function that throws on some answers, one that hangs
//    past the time limit, one that returns NaN and one that imports each give an error in their own column on exactly
//    the answers they fail on, and the weighted reward is null there (the run's "unscorable");
//  - startRun refuses a GRPO config; a GRPO run started with startGrpoRun from an SFT run's last checkpoint records where it started and reports each
//    generation batch's groups once (μ = 2: steps 1 and 3 of 4): G answers per prompt, the prompts' own text, each
//    answer's reward the function's value, advantages summing to 0 within each group, the points' mean reward theirs.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { ChatMessage } from '../../src/data/types';
import type { EngineEvent } from '../../src/engine/api';
import { sampleGroupsWith } from '../../src/engine/sample-groups';
import { loadHfModel, stopTokenIds, templateOf } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { Transformer } from '../../src/model/transformer';
import { DEFAULT_GRPO, tokenizeGrpoPrompt, type GrpoConfig, type GrpoGroup } from '../../src/train/grpo';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import { droppedFiles, engineOver } from '../helpers/engine';
import { testGpu } from '../helpers/gpu';

const modelFiles = buildTinyModel('llama-small', 3);
const QA = [['Name a colour.', 'Blue.'], ['Say hello.', 'Hello!'], ['Where does Mira live?', 'Mira lives in Tollen.'], ['What is the river called?', 'The Tarn.']];
const records = QA.map(([q, a]) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] as ChatMessage[], split: 'train' as const }));
const LENGTH = 'export default ({ completion }) => completion.length;';
/** A reward that varies between random answers (their lengths in characters often agree): code points summed, mod 7. */
const CODES = 'export default ({ completion }) => [...completion].reduce((s, c) => s + c.codePointAt(0), 0) % 7;';
const codes = (t: string) => [...t].reduce((s, c) => s + c.codePointAt(0)!, 0) % 7;
const EVEN_THROWS = "export default ({ completion }) => { if (completion.length % 2 === 0) throw new Error('even length'); return 1; };";
const HANGS = 'export default () => new Promise(() => {});';
const NAN = 'export default () => NaN;';
const IMPORTS = "import x from 'https://example.com/x.js';\nexport default () => x;";

function config(grpo: Partial<GrpoConfig>, train: Partial<RunConfig['train']> = {}): RunConfig {
  return {
    ...PRESETS.quick, evalEvery: 0, checkpointEvery: 0,
    lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
    train: { ...PRESETS.quick.train, lr: 1e-2, schedule: 'constant', warmupSteps: 0, batchSize: 4, gradAccumSteps: 1, maxSeqLength: 48, seed: 7, ...train },
    grpo: { ...DEFAULT_GRPO, numGenerations: 2, maxNewTokens: 8, rewardTimeoutMs: 300, ...grpo },
  };
}

describe('engine: GRPO rewards tried and groups reported', () => {
  it('previewRewards: the run\'s answers, each reward\'s value or its own per-answer error', async () => {
    const engine = engineOver();
    await engine.loadModel(droppedFiles('tiny', modelFiles));
    const rewards: GrpoConfig['rewards'] = [
      { kind: 'ends-cleanly', weight: 1 }, { kind: 'function', name: 'length', source: LENGTH, weight: 0.5 },
      { kind: 'function', name: 'even', source: EVEN_THROWS, weight: 1 }, { kind: 'function', name: 'hangs', source: HANGS, weight: 1 },
      { kind: 'function', name: 'nan', source: NAN, weight: 1 }, { kind: 'function', name: 'imports', source: IMPORTS, weight: 1 },
    ];
    const cfg = config({ rewards });
    const out = await engine.previewRewards({ adapter: { kind: 'base' }, records, config: cfg });
    expect(out.names).toEqual(['ends-cleanly', 'length', 'even', 'hangs', 'nan', 'imports']);
    expect(out.weights).toEqual([1, 0.5, 1, 1, 1, 1]);
    expect(out.samples.map((s) => [s.prompt, s.reference])).toEqual(QA);

    // The answers are the run's sampler's on the same weights and seed (one answer per prompt).
    const m = await loadHfModel(filesFromMap('tiny', modelFiles));
    const net = new Transformer(await testGpu(), m.config, m.weights, { kind: 'none' });
    const ids = records.map((r) => tokenizeGrpoPrompt(m.tokenizer, templateOf(m), r.messages, 8, 48).ids);
    const sampled = (await sampleGroupsWith(net, (x) => m.tokenizer.decode(x), stopTokenIds(m))(ids, 1, { maxNewTokens: 8, temperature: 1, topK: 0, topP: 1, seed: 7 })).flat();
    net.destroy();
    expect(out.samples.map((s) => [s.completion, s.finishReason])).toEqual(sampled.map((a) => [a.text, a.finishReason]));

    // Both kinds of answer are there: the throwing function fails on some and not on others.
    expect(new Set(out.samples.map((s) => s.completion.length % 2)).size).toBe(2);
    for (const s of out.samples) {
      const even = s.completion.length % 2 === 0;
      expect(s.values[0]).toBe(s.finishReason === 'stop-token' ? 1 : 0);
      expect(s.values[1]).toBe(s.completion.length);
      expect([s.values[2], s.errors[2]]).toEqual(even ? [null, 'reward even: Error: even length'] : [1, null]);
      expect(s.values[3]).toBeNull();
      expect(s.errors[3]).toBe('reward hangs: did not answer within 300 ms (stopped)');
      expect(s.errors[4]).toBe('reward nan: returned NaN (a reward must be a finite number)');
      expect(s.errors[5]).toMatch(/^reward imports: line 1 uses 'import'/);
      expect(s.errors.slice(0, 2)).toEqual([null, null]);
      expect(s.reward).toBeNull();
    }
    // Without the failing ones, the weighted sum the run would use.
    const ok = await engine.previewRewards({ adapter: { kind: 'base' }, records, config: config({ rewards: rewards.slice(0, 2) }) });
    for (const s of ok.samples) expect(s.reward).toBeCloseTo(s.values[0]! + 0.5 * s.completion.length, 12);
    await expect(engine.previewRewards({ adapter: { kind: 'base' }, records: [], config: cfg })).rejects.toThrow('no prompts to try the rewards on');
  }, 120_000);

  it('a GRPO run from an SFT run: groups once per generation batch, rewards and advantages as the points say', async () => {
    const engine = engineOver();
    await engine.loadModel(droppedFiles('tiny', modelFiles));
    const sft = await engine.startRun({ name: 'sft', config: { ...config({}), grpo: undefined, train: { ...config({}).train, maxSteps: 2 } }, records, dataset: null });
    expect(sft.status).toBe('completed');
    const events: EngineEvent[] = [];
    const cfg = config({ numIterations: 2, rewards: [{ kind: 'function', name: 'codes', source: CODES, weight: 1 }] }, { maxSteps: 4 });
    await expect(engine.startRun({ name: 'grpo', config: cfg, records, dataset: null })).rejects.toThrow('startRun is for SFT runs; a GRPO run (config.grpo) starts with startGrpoRun');
    const out = await engine.startGrpoRun({ name: 'grpo', config: cfg, grpo: cfg.grpo!, records, dataset: null, start: { kind: 'run', runId: sft.runId, checkpoint: 'last' } }, (e) => events.push(e));
    expect(out.status).toBe('completed');
    expect(out.run.init).toEqual({ runId: sft.runId, name: 'sft' });
    const shown = events.flatMap((e) => (e.type === 'groups' ? [e] : []));
    expect(shown.map((e) => e.step)).toEqual([1, 3]);
    const prompts = QA.map(([q]) => q);
    for (const e of shown) {
      const point = out.run.metrics.find((p) => p.step === e.step)!;
      expect(e.groups).toHaveLength(2);   // 4 answers a step, G = 2
      const answers = e.groups.flatMap((g: GrpoGroup) => g.answers);
      for (const g of e.groups) {
        expect(prompts).toContain(g.prompt);
        expect(g.reference).toBe(QA.find(([q]) => q === g.prompt)![1]);
        expect(g.answers).toHaveLength(2);
        for (const a of g.answers) expect([a.rewards, a.reward, a.error]).toEqual([[codes(a.text)], codes(a.text), null]);
        expect(Math.abs(g.answers[0].advantage + g.answers[1].advantage)).toBeLessThan(1e-9);
      }
      expect(answers.some((a) => a.advantage !== 0)).toBe(true);
      expect(point.reward).toBeCloseTo(answers.reduce((s, a) => s + a.reward, 0) / answers.length, 9);
    }
    expect(events.filter((e) => e.type === 'step')).toHaveLength(4);
  }, 180_000);
});
