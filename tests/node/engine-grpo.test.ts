// GRPO runs on the one training session (src/engine/session.ts), on the committed tiny Llama and the engine's own
// sampling (src/engine/sample-groups.ts), its rewards built in or JavaScript in the Node sandbox:
//  - a short run raises the reward it trains on: whether the answer contains " of" (a property of the sampled text
//    that nothing in the trainer knows; the tiny model says it now and then), measured before and after on the same
//    prompts with the same sampling seeds (not the run's own samples), and on the run's curve;
//  - paused in the middle of a generation batch (μ = 2, β > 0 against the adapter as it started, LoRA dropout,
//    shuffled prompts), checkpointed, and resumed in a fresh session on a fresh model, the run ends with the
//    uninterrupted run's points bit for bit (loss, gradient norm, rewards, KL, clip ratio) and the same adapter:
//    the checkpoint carries the generation batch (unscorable answers included), π_old, π_ref and the reference copy;
//  - a reward function that fails on some answers is reported on the run's points and the run completes.
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/data/types';
import { sampleGroupsWith } from '../../src/engine/sample-groups';
import { newRunRecord, RunControl, runExamples, runSession } from '../../src/engine/session';
import { loadHfModel, stopTokenIds, templateOf, type LoadedModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { Transformer } from '../../src/model/transformer';
import { createMemoryRunStore, type MetricPoint, type RunRecord } from '../../src/storage/runs';
import { DEFAULT_GRPO, tokenizeGrpoPrompt, type GrpoConfig } from '../../src/train/grpo';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import { openNodeSandbox } from '../../src/train/rewards-node';
import { testGpu } from '../helpers/gpu';

const MODEL = 'tests/fixtures/models/llama-small';
const VOWELS = `export default ({ completion }) => {
  const letters = completion.match(/[a-z]/gi) ?? [];
  return letters.length ? letters.filter((c) => 'aeiouAEIOU'.includes(c)).length / letters.length : 0;
};`;
const QUESTIONS = ['Name a colour.', 'Say hello.', 'Where does Mira live?', 'What is the river called?'];
const records = QUESTIONS.map((q) => ({ messages: [{ role: 'user', content: q }] as ChatMessage[], split: 'train' as const }));

let loaded: LoadedModel;
async function model(): Promise<LoadedModel> {
  loaded ??= await loadHfModel(filesFromDirectory(MODEL));
  return loaded;
}

function config(grpo: Partial<GrpoConfig>, train: Partial<RunConfig['train']>, dropout = 0): RunConfig {
  return {
    ...PRESETS.quick, evalEvery: 0, checkpointEvery: 0,
    lora: { rank: 8, alpha: 16, dropout, useRslora: false, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    train: { ...PRESETS.quick.train, lr: 2e-2, schedule: 'constant', warmupSteps: 0, batchSize: 8, gradAccumSteps: 1, maxSeqLength: 64, seed: 11, maxGradNorm: 1, shuffle: true, ...train },
    grpo: { ...DEFAULT_GRPO, numGenerations: 4, maxNewTokens: 8, rewards: [{ kind: 'function', name: 'vowels', source: VOWELS, weight: 1 }], ...grpo },
  };
}

/** Runs a GRPO session on a fresh model; returns the record, the trained model and what the store kept. */
async function run(cfg: RunConfig, opts: { resumeFrom?: { run: RunRecord; bytes: Uint8Array }; pauseAfter?: number } = {}) {
  const m = await model();
  const store = createMemoryRunStore();
  const record = opts.resumeFrom ? structuredClone(opts.resumeFrom.run) : newRunRecord({ name: 'grpo', model: { name: 'tiny', parameters: 0, fingerprint: '' }, dataset: null, config: cfg, trainExamples: records.length, validationExamples: 0 }, 1);
  const control = new RunControl(record.id);
  let net: Transformer | null = null;
  const status = await runSession({
    run: record, sink: store, control, resumeFrom: opts.resumeFrom?.bytes ?? null, padId: m.tokenizer.padTokenId ?? 0, openSandbox: openNodeSandbox,
    setup: async () => {
      net = new Transformer(await testGpu(), m.config, m.weights, { kind: 'lora', lora: cfg.lora }, cfg.train.seed);
      return { net, examples: await runExamples(m, { records }, cfg) };
    },
    onEvent: (e) => {
      if (e.type === 'step' && e.point.step === opts.pauseAfter) control.set('pause');
      if (e.type === 'status' && e.status === 'paused') control.set('cancel');
    },
  });
  return { status, run: record, net: net!, store };
}

/** Share of 8 answers to each prompt that contain " of", sampled with fixed seeds from the model as it is. */
async function heldOutRate(net: Transformer): Promise<number> {
  const m = await model();
  const prompts = records.map((r) => tokenizeGrpoPrompt(m.tokenizer, templateOf(m), r.messages, 8, 64).ids);
  const sample = sampleGroupsWith(net, (ids) => m.tokenizer.decode(ids), stopTokenIds(m));
  const answers = (await sample(prompts, 8, { maxNewTokens: 8, temperature: 1, topK: 0, topP: 1, seed: 424242 })).flat();
  return answers.filter((a) => a.text.includes(' of')).length / answers.length;
}

const curve = (points: MetricPoint[]) => points.map((p) => [p.step, p.epoch, p.loss, p.gradNorm, p.lr, p.reward, p.rewardStd, p.kl, p.clipRatio, p.completionLength, p.unscorable]);

describe('GRPO on the training session', () => {
  it('a short run raises the reward it trains on (held-out samples, fixed seeds)', async () => {
    const cfg = config({ rewards: [{ kind: 'contains', text: ' of', weight: 1 }] }, { maxSteps: 10, lr: 5e-3 });
    const fresh = new Transformer(await testGpu(), (await model()).config, (await model()).weights, { kind: 'lora', lora: cfg.lora }, cfg.train.seed);
    const before = await heldOutRate(fresh);
    fresh.destroy();
    const out = await run(cfg);
    expect(out.status).toBe('completed');
    const after = await heldOutRate(out.net);
    const rewards = out.run.metrics.map((p) => p.reward!);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`answers with " of", held out: ${before.toFixed(3)} -> ${after.toFixed(3)}; the run's reward by step ${rewards.map((r) => r.toFixed(2)).join(' ')}`);
    expect(out.run.metrics).toHaveLength(10);
    expect(out.run.metrics.every((p) => p.unscorable === 0 && p.kl === null && p.completionLength! > 0)).toBe(true);
    expect(after).toBeGreaterThan(before + 0.3);
    expect(mean(rewards.slice(-3))).toBeGreaterThan(mean(rewards.slice(0, 3)) + 0.2);
    out.net.destroy();
  });

  it('pause in the middle of a generation batch and resume: the uninterrupted run\'s points and adapter, bit for bit', async () => {
    // A second reward fails on about a third of the answers: their NaN rewards go through the checkpoint too.
    const picky = `export default ({ completion }) => { if (completion.length % 3 === 0) throw new Error('not this one'); return 0.5; };`;
    const rewards = [config({}, {}).grpo!.rewards[0], { kind: 'function' as const, name: 'picky', source: picky, weight: 0.5 }];
    const cfg = config({ numIterations: 2, beta: 0.05, reference: 'start', rewards }, { maxSteps: 5, lr: 1e-2 }, 0.1);
    const straight = await run(cfg);
    expect(straight.status).toBe('completed');
    const stopped = await run(cfg, { pauseAfter: 3 });   // after step 3, the second generation batch has one step left
    expect(stopped.status).toBe('cancelled');
    const saved = await stopped.store.getCheckpoint(stopped.run.id, 'last');
    expect(saved?.step).toBe(3);
    stopped.net.destroy();
    const resumed = await run(cfg, { resumeFrom: { run: (await stopped.store.get(stopped.run.id))!, bytes: saved!.bytes } });
    expect(resumed.status).toBe('completed');
    expect(curve(resumed.run.metrics)).toEqual(curve(straight.run.metrics));
    expect(straight.run.metrics.every((p) => p.kl !== null && Number.isFinite(p.kl))).toBe(true);
    expect(straight.run.metrics.slice(1).some((p) => p.kl! > 0)).toBe(true);
    expect(straight.run.metrics.some((p) => p.unscorable! > 0)).toBe(true);
    expect(await resumed.net.params.readFlat('params')).toEqual(await straight.net.params.readFlat('params'));
    straight.net.destroy();
    resumed.net.destroy();
  });

  it('a reward that fails on some answers is reported on the run\'s points, and the run completes', async () => {
    const failing = `export default ({ completion }) => { if (/[aeiou]/.test(completion)) throw new Error('no vowels, please'); return 1; };`;
    const cfg = config({ rewards: [{ kind: 'function', name: 'picky', source: failing, weight: 1 }, { kind: 'length', min: 0, max: 10, weight: 1 }] }, { maxSteps: 2 });
    const out = await run(cfg);
    expect(out.status).toBe('completed');
    const p = out.run.metrics[0];
    expect(p.unscorable).toBeGreaterThan(0);
    expect(p.errors![0]).toMatch(/^answer \d+: reward picky: Error: no vowels, please$/);
    expect(p.errors!.length).toBe(Math.min(5, p.unscorable!));
    out.net.destroy();
  });
});
