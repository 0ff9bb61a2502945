// Exact resume: a LoRA run on a tiny model (dropout on, shuffled order, gradient accumulation, a linear
// schedule with warm-up, an epoch boundary crossed after the checkpoint) is stopped after k steps, its
// checkpoint serialised to bytes, the model and trainer rebuilt from nothing and the bytes applied; the
// remaining steps give the same losses and grad norms as the uninterrupted run, bit for bit, and the final
// trainable parameters are identical.
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import type { Example } from '../../src/train/batch';
import { applyCheckpoint, captureCheckpoint, deserializeCheckpoint, serializeCheckpoint } from '../../src/train/checkpoint';
import { DEFAULT_TRAIN, Trainer, type StepMetrics, type TrainConfig } from '../../src/train/trainer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const config = tinyConfig('llama');
const weights = initWeights(config, 1, 0.3);
const lora = { rank: 4, alpha: 8, dropout: 0.1, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] };
const cfg: TrainConfig = { ...DEFAULT_TRAIN, lr: 1e-2, schedule: 'linear', warmupSteps: 2, maxSteps: 6, batchSize: 2, gradAccumSteps: 2, seed: 11, shuffle: true };

function examples(): Example[] {
  const r = rng(3);
  return Array.from({ length: 6 }, (_, i) => {
    const inputIds = Array.from({ length: 6 + i }, () => Math.floor(r() * config.vocabSize));
    return { inputIds, lossMask: inputIds.map((_, t) => (t >= 2 ? 1 : 0)) };
  });
}

async function fresh() {
  const model = new Transformer(await testGpu(), config, weights, { kind: 'lora', lora }, 5);
  return { model, trainer: new Trainer(model, examples(), cfg) };
}

/** The uninterrupted run, once for the whole file. */
let reference: Promise<{ steps: StepMetrics[]; final: Float32Array }> | null = null;
function uninterrupted() {
  reference ??= (async () => {
    const a = await fresh();
    const steps: StepMetrics[] = [];
    while (!a.trainer.done) steps.push(await a.trainer.step());
    const final = await a.model.params.readFlat('params');
    a.model.destroy();
    return { steps, final };
  })();
  return reference;
}

const key = (s: StepMetrics) => [s.step, s.epoch, s.loss, s.gradNorm, s.lr, s.tokens];

describe('checkpoint resume', () => {
  it('continues to the same losses, bit for bit, as a run that never stopped', async () => {
    const { steps: straight, final: finalStraight } = await uninterrupted();

    const b = await fresh();
    const first: StepMetrics[] = [];
    for (let i = 0; i < 2; i++) first.push(await b.trainer.step());
    const bytes = serializeCheckpoint(await captureCheckpoint(b.model, b.trainer, { runId: 'x' }));
    b.model.destroy();

    const c = await fresh();
    applyCheckpoint(deserializeCheckpoint(bytes), c.model, c.trainer);
    const rest: StepMetrics[] = [];
    while (!c.trainer.done) rest.push(await c.trainer.step());
    const finalResumed = await c.model.params.readFlat('params');
    c.model.destroy();

    expect([...first, ...rest].map(key)).toEqual(straight.map(key));
    expect(straight.at(-1)!.epoch).toBeGreaterThan(straight[0].epoch); // an epoch boundary (reshuffle) was crossed
    expect(Array.from(finalResumed)).toEqual(Array.from(finalStraight));
  });

  it('is not vacuous: restoring params but not the trainer state gives different losses', async () => {
    const straight = (await uninterrupted()).steps.map((s) => s.loss);
    const d = await fresh();
    await d.trainer.step(); await d.trainer.step();
    const ck = await captureCheckpoint(d.model, d.trainer);
    d.model.destroy();
    const e = await fresh();
    e.model.params.writeFlat('params', ck.params); // moments and data order left at their start values
    e.trainer.state.step = ck.state.step;
    const rest: number[] = [];
    while (!e.trainer.done) rest.push((await e.trainer.step()).loss);
    e.model.destroy();
    expect(rest).not.toEqual(straight.slice(2));
  });

  it('refuses a checkpoint from other LoRA settings or another dataset', async () => {
    const b = await fresh();
    await b.trainer.step();
    const ck = await captureCheckpoint(b.model, b.trainer);
    b.model.destroy();
    const other = new Transformer(await testGpu(), config, weights, { kind: 'lora', lora: { ...lora, rank: 8 } }, 5);
    expect(() => applyCheckpoint(ck, other, new Trainer(other, examples(), cfg))).toThrow(/trainable values/);
    expect(() => applyCheckpoint(ck, other, new Trainer(other, examples().slice(1), cfg))).toThrow(/trainable values|dataset changed/);
    other.destroy();
    const same = new Transformer(await testGpu(), config, weights, { kind: 'lora', lora }, 5);
    expect(() => applyCheckpoint(ck, same, new Trainer(same, examples().slice(1), cfg))).toThrow(/dataset changed/);
    same.destroy();
  });
});
