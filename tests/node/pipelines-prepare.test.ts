// Pipelines compiled before the first step: Trainer.prepare records the step's pipelines with a dry run and
// compiles them with createComputePipelineAsync. Checked: the first step after it compiles nothing more, the
// dry run changes nothing (the losses, grad norms and trained LoRA weights equal those of a run without
// prepare, bit for bit), and the recording is exact (every pipeline the step uses, no other).
import { describe, expect, it } from 'vitest';
import { createGpu, type Gpu } from '../../src/gpu/runtime';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { DEFAULT_TRAIN, Trainer, type TrainConfig } from '../../src/train/trainer';

const CFG: TrainConfig = { ...DEFAULT_TRAIN, lr: 1e-2, maxSteps: 3, batchSize: 2, gradAccumSteps: 2, seed: 5, shuffle: true, maxSeqLength: 16 };

async function run(gpu: Gpu, prepare: boolean): Promise<{ metrics: { loss: number; gradNorm: number }[]; lora: Map<string, Float32Array>; prepared: number; firstStepCompiled: number }> {
  const config = tinyConfig('llama');
  const model = new Transformer(gpu, config, initWeights(config, 1, 0.3), {
    kind: 'lora', lora: { rank: 4, alpha: 8, dropout: 0.1, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] },
  }, 3);
  const examples = Array.from({ length: 6 }, (_, i) => {
    const inputIds = Array.from({ length: 10 + i }, (_, t) => (i * 31 + t * 7) % config.vocabSize);
    return { inputIds, lossMask: inputIds.map((_, t) => (t >= 3 ? 1 : 0)) };
  });
  const trainer = new Trainer(model, examples, CFG);
  const prepared = prepare ? await trainer.prepare() : 0;
  const before = gpu.stats.pipelinesCreated;
  const metrics: { loss: number; gradNorm: number }[] = [];
  let firstStepCompiled = 0;
  while (!trainer.done) {
    const m = await trainer.step();
    if (metrics.length === 0) firstStepCompiled = gpu.stats.pipelinesCreated - before;
    metrics.push({ loss: m.loss, gradNorm: m.gradNorm });
  }
  const lora = await model.params.readTrainable();
  model.destroy();
  return { metrics, lora, prepared, firstStepCompiled };
}

describe('Trainer.prepare', () => {
  it('compiles every pipeline of the first step up front and changes nothing the run computes', async () => {
    // Fresh devices: an empty pipeline cache for each run.
    const gpuA = await createGpu();
    const without = await run(gpuA, false);
    const gpuB = await createGpu();
    const withPrepare = await run(gpuB, true);
    console.log(`prepare compiled ${withPrepare.prepared} pipelines; without it the first step compiled ${without.firstStepCompiled}`);
    expect(without.firstStepCompiled).toBeGreaterThan(10);
    expect(withPrepare.prepared).toBe(without.firstStepCompiled);
    expect(withPrepare.firstStepCompiled).toBe(0);
    expect(withPrepare.metrics).toEqual(without.metrics);
    expect([...withPrepare.lora.keys()]).toEqual([...without.lora.keys()]);
    for (const [name, w] of without.lora) expect(withPrepare.lora.get(name), name).toEqual(w);
    gpuA.destroy();
    gpuB.destroy();
  });
});
