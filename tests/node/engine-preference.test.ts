// Preference runs in the engine (startPreferenceRun → the training session, src/engine/session.ts), through its real
// message protocol (client ⇄ serveEngine over a MessageChannel):
//  - a fresh DPO run is a stored run (RunRecord with config.preference, its points with rewards, margins and accuracy,
//    its 'last' checkpoint); its first step is the reference itself (loss ln 2, margin 0); the losses equal
//    PreferenceTrainer's on a Transformer built outside the engine (1e-6 relative: same kernels, same values); the
//    run's adapter (its last checkpoint) holds those trained values;
//  - a run continuing an SFT run's checkpoint takes that run's LoRA shape, records where it started and starts at the
//    SFT values (against the adapter switched off its first margin is not 0); cancel stops it between steps;
//  - paused after a few steps, "reloaded" (a fresh engine on the same store) and resumed, a DPO run with dropout and
//    shuffling ends with the uninterrupted run's points bit for bit and the same adapter bytes: the data order, RNG,
//    Adam moments and the cached reference (the model as the run started, long gone at the resume) come back.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { applyPeftAdapter, loraFromPeftConfig } from '../../src/export/peft';
import { loadHfModel, templateOf } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { Transformer } from '../../src/model/transformer';
import { createMemoryRunStore, type MetricPoint } from '../../src/storage/runs';
import { PreferenceTrainer, type PreferenceConfig } from '../../src/train/preference';
import { preferencePairOf, tokenizePreference } from '../../src/train/preference-pairs';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import type { EngineEvent } from '../../src/engine/api';
import { droppedFiles, engineOver } from '../helpers/engine';
import { testGpu } from '../helpers/gpu';

const modelFiles = buildTinyModel('llama-small', 4);
const source = droppedFiles('tiny-llama', modelFiles);
const pairs = [
  { prompt: 'Where does Mira live?', chosen: 'Mira lives in Tollen.', rejected: 'Tollen.' },
  { prompt: 'Who keeps the lighthouse?', chosen: 'Old Bram keeps it.', rejected: 'Bram.' },
  { prompt: 'Name a colour.', chosen: 'Blue, like the sea.', rejected: 'Blue.' },
].map(preferencePairOf);
const config: RunConfig = {
  ...PRESETS.quick,
  lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] },
  train: { ...PRESETS.quick.train, lr: 1e-2, maxSteps: 3, batchSize: 2, maxSeqLength: 48, seed: 5 },
};
const preference: PreferenceConfig = { method: 'dpo', beta: 0.1, labelSmoothing: 0, reference: 'start' };
const steps = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.point] : []));
/** Everything a point says about the training, not the wall clock. */
const curve = (points: MetricPoint[]) => points.map((p) => [p.step, p.epoch, p.loss, p.lr, p.gradNorm, p.rewardsChosen, p.rewardsRejected, p.margins, p.accuracy]);

describe('engine: preference runs', () => {
  it('a fresh DPO run: a stored run with rewards and margins, the in-process trainer\'s losses, the trained adapter', async () => {
    const store = createMemoryRunStore();
    const engine = engineOver(store);
    await engine.loadModel(source);
    const events: EngineEvent[] = [];
    const out = await engine.startPreferenceRun({ name: 'dpo', config, preference, pairs }, (e) => events.push(e));
    expect(out.status).toBe('completed');
    const points = out.run.metrics;
    expect(steps(events)).toEqual(points);
    expect(points.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(Math.abs(points[0].loss - Math.LN2)).toBeLessThan(1e-6);
    expect(points[0].margins).toBe(0);
    expect(points[2].margins).toBeGreaterThan(0);
    expect(points[2].rewardsChosen).toBeGreaterThan(points[2].rewardsRejected!);
    // Stored as a run: its method, its points, its last checkpoint; no validation, so no evaluations.
    const [stored] = await engine.listRuns();
    expect(stored).toMatchObject({ id: out.runId, name: 'dpo', status: 'completed', trainExamples: 3, validationExamples: 0, init: null, evals: [], checkpoints: { last: 3, best: null } });
    expect(stored.config.preference).toEqual(preference);
    expect(curve(stored.metrics)).toEqual(curve(points));
    expect((await store.getData(out.runId))?.pairs).toEqual(pairs);

    // The same run outside the engine: a Transformer from the same files and seed, the same trainer.
    const m = await loadHfModel(filesFromMap('tiny-llama', modelFiles));
    const net = new Transformer(await testGpu(), m.config, m.weights, { kind: 'lora', lora: config.lora }, config.train.seed);
    const data = pairs.map((p) => tokenizePreference(m.tokenizer, templateOf(m), p, config.train.maxSeqLength));
    const t = new PreferenceTrainer(net, data, config.train, preference, m.tokenizer.padTokenId ?? 0);
    for (const p of points) {
      const s = await t.step();
      expect(Math.abs(s.loss - p.loss) / p.loss).toBeLessThan(1e-6);
      expect(Math.abs(s.margins - p.margins!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(p.margins!)));
    }
    // The run's adapter (last checkpoint) holds those trained values.
    const adapter = await engine.exportAdapter({ runId: out.runId, checkpoint: 'last' });
    expect(loraFromPeftConfig(adapter['adapter_config.json']).lora).toMatchObject({ rank: 4, alpha: 8 });
    const trained = await net.params.readFlat('params');
    const back = new Transformer(await testGpu(), m.config, m.weights, { kind: 'lora', lora: config.lora });
    applyPeftAdapter(back, adapter['adapter_model.safetensors']);
    const got = await back.params.readFlat('params');
    expect(Math.max(...got.map((v, i) => Math.abs(v - trained[i])))).toBeLessThan(1e-6);
    net.destroy();
    back.destroy();
  });

  it('continues an SFT run\'s checkpoint with its LoRA shape; cancel stops between steps', async () => {
    const engine = engineOver(createMemoryRunStore());
    await engine.loadModel(source);
    const sftLora = { rank: 2, alpha: 4, dropout: 0, useRslora: false, targetModules: ['q_proj', 'o_proj'] };
    const records = pairs.map((p) => ({ messages: [...p.prompt, ...p.chosen], split: 'train' as const }));
    const sft = await engine.startRun({ name: 'sft', config: { ...config, evalEvery: 0, lora: sftLora, train: { ...config.train, maxSteps: 2 } }, records, dataset: null });
    expect(sft.status).toBe('completed');

    const events: EngineEvent[] = [];
    let runId = '';
    // Reference: the adapter off, so the first step's margin shows the SFT values are in (a fresh adapter's is 0).
    const out = await engine.startPreferenceRun({ name: 'dpo after sft', config, preference: { ...preference, reference: 'base' }, pairs, start: { kind: 'run', runId: sft.runId, checkpoint: 'last' } }, (e) => {
      events.push(e);
      if (e.type === 'step' && e.point.step === 1) {
        runId = e.runId;
        void engine.control({ runId: runId, action: 'cancel' });
      }
    });
    expect(out.runId).toBe(runId);
    expect(out.status).toBe('cancelled');
    // The cancel lands between steps: after step 1 or, when step 2 had already begun, after it; never all 3.
    expect(out.run.metrics.length).toBeLessThan(3);
    expect(steps(events)).toEqual(out.run.metrics);
    expect(Math.abs(out.run.metrics[0].margins!)).toBeGreaterThan(1e-4);
    expect(out.run.init).toEqual({ runId: sft.runId, name: 'sft' });
    expect(out.run.config.lora).toMatchObject({ rank: 2, alpha: 4, targetModules: ['q_proj', 'o_proj'] });
  });

  it('paused, reloaded and resumed: the uninterrupted run\'s points bit for bit and the same adapter bytes', async () => {
    // Dropout, shuffling, a warm-up, a cosine schedule and several epochs: every source of randomness and step-dependent value.
    const args = {
      name: 'dpo resumed', preference, pairs,
      config: { ...config, checkpointEvery: 2, lora: { ...config.lora, dropout: 0.1 }, train: { ...config.train, maxSteps: 6, schedule: 'cosine' as const, warmupSteps: 1, lr: 5e-3 } },
    };
    const a = engineOver(createMemoryRunStore());
    await a.loadModel(source);
    const straight = await a.startPreferenceRun(args);
    expect(straight.status).toBe('completed');

    const store = createMemoryRunStore();
    const b = engineOver(store);
    await b.loadModel(source);
    const before: EngineEvent[] = [];
    let runId = '';
    await new Promise<void>((ok) => {
      void b.startPreferenceRun(args, (e) => {
        before.push(e);
        if (e.type === 'step' && e.point.step === 3) { runId = e.runId; void b.control({ runId: e.runId, action: 'pause' }); }
        if (e.type === 'status' && e.status === 'paused') ok();
      });
    });
    const pausedAt = steps(before).length;
    expect(pausedAt).toBeGreaterThanOrEqual(3);
    expect(pausedAt).toBeLessThan(6);

    // "Reload": a new engine on the same store sees the run interrupted, with its pause checkpoint, and resumes it.
    const c = engineOver(store);
    await c.loadModel(source);
    const listed = (await c.listRuns()).find((r) => r.id === runId)!;
    expect(listed.status).toBe('interrupted');
    expect(listed.checkpoints.last).toBe(pausedAt);
    const after: EngineEvent[] = [];
    const resumed = await c.resumeRun({ runId: runId }, (e) => after.push(e));
    expect(resumed.status).toBe('completed');
    expect(curve([...steps(before), ...steps(after)])).toEqual(curve(straight.run.metrics));
    expect(curve(resumed.run.metrics)).toEqual(curve(straight.run.metrics));
    expect(straight.run.metrics.at(-1)!.margins).toBeGreaterThan(0);
    const bytes = async (engine: typeof a, id: string) => (await engine.exportAdapter({ runId: id, checkpoint: 'last' }))['adapter_model.safetensors'];
    expect(Buffer.from(await bytes(c, runId)).equals(Buffer.from(await bytes(a, straight.runId)))).toBe(true);
  });
});
