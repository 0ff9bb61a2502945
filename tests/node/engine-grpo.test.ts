// GRPO runs on the one training session (src/engine/session.ts), on the committed tiny Llama and the engine's own
// sampling (src/engine/sample-groups.ts), its rewards built in or JavaScript in the Node sandbox:
//  - a short run raises the reward it trains on: whether the answer contains " of" (a property of the sampled text
//    that nothing in the trainer knows; the tiny model says it now and then), measured before and after on the same
//    prompts with the same sampling seeds (not the run's own samples), and on the run's curve;
//  - paused in the middle of a generation batch (μ = 2, β > 0 against the adapter as it started, LoRA dropout,
//    shuffled prompts), checkpointed, and resumed in a fresh session on a fresh model, the run ends with the
//    uninterrupted run's points bit for bit (loss, gradient norm, rewards, KL, clip ratio) and the same adapter:
//    the checkpoint carries the generation batch (unscorable answers included), π_old, π_ref and the reference copy;
//  - a reward function that fails on some answers is reported on the run's points and the run completes;
//  - through the engine's calls (startGrpoRun over the page's message channel, the Node host's sandbox): a run that
//    continues an SFT run is a stored run (config.grpo, its start, the SFT run's LoRA shape, its points and 'last'
//    checkpoint, one 'groups' event per generation batch with each prompt's G answers, rewards and advantages); paused,
//    "reloaded" (a fresh engine on the same store) and resumed with resumeRun, it ends with the uninterrupted run's
//    points bit for bit and the same adapter bytes.
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
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { EngineEvent, StartGrpoRunArgs } from '../../src/engine/api';
import { droppedFiles, engineOver } from '../helpers/engine';

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
    // Every prompt in every generation batch (4 × G = 16 answers): a reward the model earns 3% of the time shows up in
    // most batches (with 8 answers, whole runs of batches can pass without one, and with them the signal).
    const cfg = config({ rewards: [{ kind: 'contains', text: ' of', weight: 1 }] }, { maxSteps: 10, lr: 5e-3, batchSize: 16 });
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

describe('GRPO through the engine', () => {
  const source = droppedFiles('tiny-llama', buildTinyModel('llama-small', 4));
  const qa = [['Where does Mira live?', 'Mira lives in Tollen.'], ['Say hello.', 'Hello.'], ['Name a colour.', 'Blue.'], ['What is the river called?', 'The Lune.']];
  const sftRecords = qa.map(([q, a]) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] as ChatMessage[], split: 'train' as const }));
  const sftLora = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] };
  const base = config({}, { maxSteps: 2, batchSize: 4, lr: 1e-2 });
  const grpoArgs = (start: string): StartGrpoRunArgs => ({
    name: 'grpo', records: sftRecords, start: { kind: 'run', runId: start, checkpoint: 'last' },
    config: { ...base, checkpointEvery: 2, lora: { ...base.lora, dropout: 0.1 }, train: { ...base.train, maxSteps: 4, batchSize: 4, gradAccumSteps: 2, lr: 1e-2 } },
    grpo: { ...base.grpo!, numGenerations: 4, beta: 0.04, rewards: [...base.grpo!.rewards, { kind: 'ends-cleanly', weight: 0.5 }] },
  });
  /** An engine over `store` with an SFT run to start from (the same values each time: same data, seed and kernels). */
  async function withSft(store = createMemoryRunStore()) {
    const engine = engineOver(store);
    await engine.loadModel(source);
    const sft = await engine.startRun({ name: 'sft', config: { ...base, grpo: undefined, lora: sftLora }, records: sftRecords, dataset: null });
    expect(sft.status).toBe('completed');
    return { engine, sft: sft.runId };
  }
  const steps = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.point] : []));

  it('a run continuing an SFT run; paused, reloaded and resumed: the uninterrupted run\'s points and adapter bytes', async () => {
    const a = await withSft();
    const events: EngineEvent[] = [];
    const straight = await a.engine.startGrpoRun(grpoArgs(a.sft), (e) => events.push(e));
    expect(straight.status).toBe('completed');
    const run = straight.run;
    expect(run).toMatchObject({ trainExamples: 4, validationExamples: 0, init: { runId: a.sft, name: 'sft' }, checkpoints: { last: 4, best: null } });
    expect(run.config.grpo).toEqual(grpoArgs(a.sft).grpo);
    expect(run.config.lora).toMatchObject({ rank: 4, alpha: 8, dropout: 0.1, targetModules: sftLora.targetModules });
    expect((await a.engine.listRuns()).map((r) => r.id)).toContain(straight.runId);
    expect(steps(events)).toEqual(run.metrics);
    expect(run.metrics.every((p) => p.rewardMeans!.length === 2 && Number.isFinite(p.kl) && p.unscorable === 0)).toBe(true);
    // One generation batch a step (μ = 1): 8 answers = 2 prompts × G 4, each answer with its rewards and advantage.
    const groups = events.flatMap((e) => (e.type === 'groups' ? [e] : []));
    expect(groups.map((g) => g.step)).toEqual([1, 2, 3, 4]);
    for (const g of groups) {
      expect(g.groups).toHaveLength(2);
      for (const group of g.groups) {
        expect(qa.map(([q]) => q)).toContain(group.prompt);
        expect(group.answers).toHaveLength(4);
        const advantages = group.answers.map((x) => x.advantage);
        expect(Math.abs(advantages.reduce((x, y) => x + y, 0))).toBeLessThan(1e-9);   // group-relative
        for (const x of group.answers) expect(x.reward).toBeCloseTo(x.rewards[0] + 0.5 * x.rewards[1], 12);
      }
    }
    // The step's reward is the mean over its groups' answers.
    groups.forEach((g, i) => {
      const r = g.groups.flatMap((x) => x.answers.map((y) => y.reward));
      expect(r.reduce((x, y) => x + y, 0) / r.length).toBeCloseTo(run.metrics[i].reward!, 12);
    });

    const store = createMemoryRunStore();
    const b = await withSft(store);
    const before: EngineEvent[] = [];
    let runId = '';
    await new Promise<void>((ok) => {
      void b.engine.startGrpoRun(grpoArgs(b.sft), (e) => {
        before.push(e);
        if (e.type === 'step' && e.point.step === 2) { runId = e.runId; void b.engine.control({ runId, action: 'pause' }); }
        if (e.type === 'status' && e.status === 'paused') ok();
      });
    });
    const c = engineOver(store);
    await c.loadModel(source);
    expect((await c.listRuns()).find((r) => r.id === runId)?.status).toBe('interrupted');
    const after: EngineEvent[] = [];
    const resumed = await c.resumeRun({ runId }, (e) => after.push(e));
    expect(resumed.status).toBe('completed');
    expect(curve([...steps(before), ...steps(after)])).toEqual(curve(run.metrics));
    expect(curve(resumed.run.metrics)).toEqual(curve(run.metrics));
    const bytes = async (engine: typeof a.engine, id: string) => (await engine.exportAdapter({ runId: id, checkpoint: 'last' }))['adapter_model.safetensors'];
    expect(Buffer.from(await bytes(c, runId)).equals(Buffer.from(await bytes(a.engine, straight.runId)))).toBe(true);
  });
});
