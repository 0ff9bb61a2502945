// Frozen weights kept 16-bit or quantised on the GPU (src/ops/weight-storage.ts), through the whole model as the CLI and
// the engine load it (loadTransformer from a checkpoint):
//  - a BF16 checkpoint kept as bf16 computes what the same checkpoint widened to f32 storage computes: logits, a
//    LoRA step's per-token losses and every LoRA gradient, on Llama (untied head), Qwen2 (biases) and GPT-2 (Conv1D,
//    fused qkv, learned positions, tied head). Equal bit for bit (the f32 kernels widen each value exactly and sum
//    in the same order; run on a device created without shader-f16, whose f16 kernels tests/node/f16-path.test.ts
//    compares with these);
//  - an F32 checkpoint stored as bf16 is the f32 model within bf16 rounding (stated below), greedy tokens equal;
//  - 8-bit and 4-bit storage against bf16 on the same checkpoint: loss on a bf16-greedy continuation and top-1
//    agreement, measured and printed, with floors;
//  - the estimate counts what the weights take: live bytes of the model vs estimateMemory's weights;
//  - a quantised base is refused for merged exports, and dequantised for the ONNX decoder.
// Node + Dawn on SwiftShader.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { generateAll } from '../../src/generate/generate';
import { createGpu } from '../../src/gpu/runtime';
import { GREEDY } from '../../src/generate/sampler';
import { exportMergedModel } from '../../src/export/merged';
import { mergedWeights } from '../../src/model/merge';
import { loadHfModelMeta, type ModelMeta } from '../../src/io/hf';
import { estimateMemory } from '../../src/model/memory-estimate';
import { filesFromMap, type ModelFiles } from '../../src/io/model-files';
import { loadTransformer } from '../../src/io/load';
import type { WeightStorage } from '../../src/ops/weight-storage';
import type { TrainMode, Transformer } from '../../src/model/transformer';
import { makeBatch } from '../../src/train/batch';
import { targetableModules } from '../../src/train/presets';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { logitsOf } from '../helpers/model';

async function open(kind: 'llama-small' | 'qwen2' | 'gpt2', dtype: 'BF16' | 'F32'): Promise<{ files: ModelFiles; meta: ModelMeta }> {
  const files = filesFromMap(kind, buildTinyModel(kind, 5, { dtype }));
  return { files, meta: await loadHfModelMeta(files) };
}

function randomIds(n: number, V: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * V));
}

/** Mean next-token cross entropy of logits [T, V] against targets[t] (the token after position t). */
function meanLoss(logits: Float32Array, V: number, targets: number[]): number {
  let sum = 0;
  targets.forEach((y, t) => {
    const row = logits.subarray(t * V, (t + 1) * V);
    const m = Math.max(...row);
    sum += Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m - row[y];
  });
  return sum / targets.length;
}

const argmaxRows = (logits: Float32Array, V: number) =>
  Array.from({ length: logits.length / V }, (_, t) => { const row = logits.subarray(t * V, (t + 1) * V); return row.indexOf(Math.max(...row)); });

describe('frozen weights in 16-bit and quantised storage', () => {
  for (const kind of ['llama-small', 'qwen2', 'gpt2'] as const) {
    it(`${kind}: a BF16 checkpoint kept as bf16 gives the f32-storage logits, LoRA losses and gradients, bit for bit`, async () => {
      const gpu = await createGpu({ f16: false });
      const { files, meta } = await open(kind, 'BF16');
      const V = meta.config.vocabSize;
      const mode: TrainMode = { kind: 'lora', lora: { rank: 4, alpha: 8, useRslora: false, dropout: 0.1, targetModules: targetableModules(meta.config) } };
      const batch = makeBatch([0, 1].map((i) => { const inputIds = randomIds(13, V, i); return { inputIds, lossMask: inputIds.map(() => 1) }; }), 64);
      const run = async (weights: WeightStorage) => {
        const model = await loadTransformer(gpu, files, meta.config, mode, { seed: 3, weights });
        const rb = rng(2);   // B starts at zero, which would leave A's gradients zero
        for (const name of model.params.trainableNames().filter((n) => n.endsWith('.lora_B'))) {
          model.params.write(name, Float32Array.from({ length: model.params.get(name).size }, () => 0.1 * (rb() - 0.5)));
        }
        const logits = await logitsOf(model, randomIds(9, V, 7));
        const t = model.trainStep(batch, 1 / batch.tokens, 123);
        const losses = await gpu.read(t);
        gpu.release(t);
        const grads = await model.params.readTrainable('grads');
        model.destroy();
        return { logits, losses, grads };
      };
      const packed = await run('bf16');
      const wide = await run('f32');
      gpu.destroy();
      expect(packed.logits).toEqual(wide.logits);
      expect(packed.losses).toEqual(wide.losses);
      for (const [name, g] of wide.grads) {
        expect(g.some((v) => v !== 0), `${name} has a gradient`).toBe(true);
        expect(packed.grads.get(name), name).toEqual(g);
      }
    }, 300_000);
  }

  it('llama: an F32 checkpoint stored as bf16 is the f32 model within bf16 rounding; greedy tokens equal', async () => {
    const gpu = await testGpu();
    const { files, meta } = await open('llama-small', 'F32');
    const V = meta.config.vocabSize;
    const ids = randomIds(16, V, 4);
    const f32 = await loadTransformer(gpu, files, meta.config, { kind: 'none' });
    const bf16 = await loadTransformer(gpu, files, meta.config, { kind: 'none' }, { weights: 'bf16' });
    const [a, b] = [await logitsOf(f32, ids), await logitsOf(bf16, ids)];
    // Each weight moves by at most 2^-9 of itself; through two layers the logits move by a few of those relative to
    // their spread. Tolerance: 1% of the largest |logit| (measured 0.40%, printed below).
    const spread = Math.max(...a.map(Math.abs));
    const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    console.log(`f32 checkpoint as bf16: max |Δlogit| ${worst.toExponential(3)} of max |logit| ${spread.toFixed(3)} (${(worst / spread).toExponential(2)})`);
    expect(worst).toBeGreaterThan(0);            // the storage did change the weights
    expect(worst).toBeLessThanOrEqual(0.01 * spread);
    const opts = { ...GREEDY, maxNewTokens: 12, stopTokenIds: [], stopStrings: [] };
    expect((await generateAll(bf16, ids.slice(0, 6), opts)).tokens).toEqual((await generateAll(f32, ids.slice(0, 6), opts)).tokens);
    f32.destroy();
    bf16.destroy();
  }, 300_000);

  it('llama and gpt2: 8-bit and 4-bit storage against bf16, loss and top-1 agreement measured', async () => {
    const gpu = await testGpu();
    for (const kind of ['llama-small', 'gpt2'] as const) {
      const { files, meta } = await open(kind, 'BF16');
      const V = meta.config.vocabSize;
      const models = new Map<WeightStorage, Transformer>();
      for (const w of ['bf16', 'q8', 'q4'] as const) models.set(w, await loadTransformer(gpu, files, meta.config, { kind: 'none' }, { weights: w }));
      // The text: a prompt and the bf16 model's own greedy continuation, so bf16's loss is low and a worse copy shows.
      const prompt = randomIds(8, V, 11);
      const { tokens } = await generateAll(models.get('bf16')!, prompt, { ...GREEDY, maxNewTokens: 40, stopTokenIds: [], stopStrings: [] });
      const seq = [...prompt, ...tokens];
      const targets = seq.slice(1);
      const reference = await logitsOf(models.get('bf16')!, seq.slice(0, -1));
      const top = argmaxRows(reference, V);
      const figures: Record<string, { loss: number; agreement: number }> = {};
      for (const [w, model] of models) {
        const logits = w === 'bf16' ? reference : await logitsOf(model, seq.slice(0, -1));
        const agree = argmaxRows(logits, V).filter((t, i) => t === top[i]).length / top.length;
        figures[w] = { loss: Number(meanLoss(logits, V, targets).toFixed(4)), agreement: Number(agree.toFixed(3)) };
        model.destroy();
      }
      console.log(`quantised vs bf16, ${kind} (${seq.length - 1} positions): ${JSON.stringify(figures)}`);
      // Floors (measured: llama q8 1.0 / -0.007 nats, q4 0.72 / +0.22; gpt2 q8 1.0, q4 0.96 / -0.003): 8-bit is
      // near-lossless, 4-bit keeps most top-1 choices of a random two-layer model and costs under half a nat.
      expect(figures.q8.agreement).toBeGreaterThanOrEqual(0.95);
      expect(figures.q4.agreement).toBeGreaterThanOrEqual(0.6);
      expect(figures.q8.loss).toBeLessThanOrEqual(figures.bf16.loss + 0.05);
      expect(figures.q4.loss).toBeLessThanOrEqual(figures.bf16.loss + 0.5);
    }
  }, 300_000);

  it('live bytes of the stored weights are what the estimate counts', async () => {
    const gpu = await testGpu();
    const { files, meta } = await open('llama-small', 'BF16');
    for (const weights of ['f32', 'bf16', 'q8', 'q4'] as const) {
      gpu.trimPool();
      const before = gpu.liveBytes;
      const model = await loadTransformer(gpu, files, meta.config, { kind: 'none' }, { weights });
      const measured = gpu.liveBytes - before;
      const estimate = estimateMemory(meta.config, { training: false, loraRank: 0, batchTokens: 1, weights }).weightsBytes;
      console.log(`weights as ${weights}: measured ${measured} B, estimate ${estimate} B (${(estimate / measured).toFixed(4)}×)`);
      // Buffers round up to 16 bytes: the estimate may fall short of the live bytes by that much per tensor.
      expect(Math.abs(estimate - measured)).toBeLessThanOrEqual(16 * model.params.specs.size);
      model.destroy();
    }
  }, 300_000);

  it('a 4-bit base is refused for merged exports (the file would carry its error) and dequantised for ONNX decoding', async () => {
    const gpu = await testGpu();
    const { files, meta } = await open('llama-small', 'BF16');
    const model = await loadTransformer(gpu, files, meta.config, { kind: 'none' }, { weights: 'q4' });
    await expect(exportMergedModel(model, files)).rejects.toThrow('The base model is kept 4-bit on the GPU; load it with its weights as shipped to export it merged');
    const W = await mergedWeights(model, { dequantised: true });
    expect(W.get('model.embed_tokens.weight')!.data).toEqual(await model.params.read('model.embed_tokens.weight'));
    model.destroy();
  });
});
