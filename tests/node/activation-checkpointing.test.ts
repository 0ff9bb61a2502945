// Activation checkpointing (Transformer.checkpointActivations: keep each layer's input, recompute the layer before
// its backward) computes exactly what keeping every activation does: per-token losses and every gradient are
// equal bit for bit (the recomputation runs the same deterministic kernels on the same input with the same LoRA
// dropout seed), in LoRA mode with dropout 0.1 on every linear and in full mode (embedding and first layer's
// input gradient included), on tiny Llama, GPT-2 and Gemma 3 with packed documents. And it holds less: the GPU
// bytes the runtime holds after a step (pooled temporaries included, so at least the step's peak) drop.
// Node + Dawn on SwiftShader.
import { describe, expect, it } from 'vitest';
import { mib } from '../../src/gpu/memory';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer, type TrainMode } from '../../src/model/transformer';
import { makeBatch } from '../../src/train/batch';
import { targetableModules } from '../../src/train/presets';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

describe('activation checkpointing', () => {
  for (const kind of ['llama', 'gpt2', 'gemma3'] as const) {
    for (const modeKind of ['lora', 'full'] as const) {
      it(`${kind} ${modeKind}: the same losses and every gradient, bit for bit`, async () => {
        const gpu = await testGpu();
        const config = tinyConfig(kind, { numLayers: 3 });
        const weights = initWeights(config, 3, 0.2);
        const mode: TrainMode = modeKind === 'full' ? { kind: 'full' }
          : { kind: 'lora', lora: { rank: 4, alpha: 8, useRslora: false, dropout: 0.1, targetModules: targetableModules(config) } };
        const r = rng(11);
        // Two sequences, the first packing two documents (positions and attention restart at token 5).
        const data = [12, 9].map((len, i) => {
          const inputIds = Array.from({ length: len }, () => Math.floor(r() * config.vocabSize));
          const docStart = i === 0 ? inputIds.map((_, t) => (t < 5 ? 0 : 5)) : undefined;
          return { inputIds, lossMask: inputIds.map((_, t) => (t > 0 ? 1 : 0)), docStart };
        });
        const batch = makeBatch(data, 64);
        const run = async (checkpoint: boolean) => {
          const model = new Transformer(gpu, config, weights, mode, 7);
          model.checkpointActivations = checkpoint;
          // B starts at zero, which would leave every A gradient zero: give B values so A's gradients are tested too.
          const rb = rng(2);
          for (const name of model.params.trainableNames().filter((n) => n.endsWith('.lora_B'))) {
            model.params.write(name, Float32Array.from({ length: model.params.get(name).size }, () => 0.1 * (rb() - 0.5)));
          }
          const t = model.trainStep(batch, 1 / batch.tokens, 123);
          const losses = await gpu.read(t);
          gpu.release(t);
          const grads = await model.params.readTrainable('grads');
          model.destroy();
          return { losses, grads };
        };
        const kept = await run(false);
        const recomputed = await run(true);
        expect(recomputed.losses).toEqual(kept.losses);
        expect([...recomputed.grads.keys()]).toEqual([...kept.grads.keys()]);
        for (const [name, g] of kept.grads) {
          expect(g.some((v) => v !== 0), `${name} has a gradient`).toBe(true);
          expect(recomputed.grads.get(name), name).toEqual(g);
        }
      });
    }
  }

  it('holds fewer GPU bytes during a step (Llama, 8 layers, LoRA on every linear, 2×64 tokens)', async () => {
    const gpu = await testGpu();
    const config = tinyConfig('llama', { numLayers: 8, hiddenSize: 64, intermediateSize: 192, numHeads: 4, numKvHeads: 2, headDim: 16, maxPositions: 128 });
    const weights = initWeights(config, 4, 0.2);
    const mode: TrainMode = { kind: 'lora', lora: { rank: 8, alpha: 16, useRslora: false, dropout: 0.1, targetModules: targetableModules(config) } };
    const r = rng(3);
    const data = [0, 1].map(() => {
      const inputIds = Array.from({ length: 65 }, () => Math.floor(r() * config.vocabSize));
      return { inputIds, lossMask: inputIds.map(() => 1) };
    });
    const batch = makeBatch(data, 64);
    const measure = async (checkpoint: boolean): Promise<{ step: number; model: number }> => {
      gpu.trimPool();
      const before = gpu.liveBytes;
      const model = new Transformer(gpu, config, weights, mode, 1);
      const modelBytes = gpu.liveBytes - before;
      model.checkpointActivations = checkpoint;
      const t = model.trainStep(batch, 1 / batch.tokens, 5);
      await gpu.read(t);
      gpu.release(t);
      const step = gpu.liveBytes - before - modelBytes;
      model.destroy();
      gpu.trimPool();
      return { step, model: modelBytes };
    };
    const kept = await measure(false);
    const recomputed = await measure(true);
    console.log(`step working set (live bytes beyond the model's ${mib(kept.model)}): every activation kept ${mib(kept.step)}, checkpointed ${mib(recomputed.step)} (${(recomputed.step / kept.step).toFixed(2)}×)`);
    expect(recomputed.model).toBe(kept.model);
    // Eight layers' activations become eight [N, C] inputs plus one layer's: well under half.
    expect(recomputed.step).toBeLessThan(0.5 * kept.step);
  });
});
