// The shader-f16 path against the f32 path on the same adapter and the same weights, for every parity family
// (tests/helpers/hf-families.ts): the frozen weights stored bf16 (as most checkpoints ship) are held as f16 and
// multiplied by the f16 matmul kernels on a device with shader-f16 (src/ops/matmul_f16.wgsl), and stay bf16 on the
// f32 kernels on a device created without it (createGpu({ f16: false })). LoRA A/B, their gradients and AdamW
// state are f32 on both. Compared: logits, greedy tokens (KV cache), one LoRA step's per-token losses, every LoRA
// gradient, the AdamW update of the LoRA weights and the batch's loss after it.
// Tolerances (TOL below; each figure is relative to the largest |value| of its tensor, the update's as
// ||Δf16 - Δf32|| / ||Δf32||): measured on lavapipe, worst over the families (the 'f16 path <family>' lines), then
// set a few times above. A first AdamW step moves each weight by about lr·sign(g), so the few gradients that f16
// rounding turns round near zero move the update far more than the gradients themselves move; the loss after the
// step shows what that costs. On an adapter without shader-f16 (SwiftShader) both sides are the f32 path and
// must agree bit for bit.
import { afterAll, describe, expect, it } from 'vitest';
import { generateAll } from '../../src/generate/generate';
import { GREEDY } from '../../src/generate/sampler';
import { createGpu, type Gpu } from '../../src/gpu/runtime';
import { configFromHf } from '../../src/io/hf';
import { initWeights } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { makeBatch } from '../../src/train/batch';
import { DEFAULT_TRAIN, Trainer, type TrainConfig } from '../../src/train/trainer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { FAMILIES } from '../helpers/hf-families';
import { logitsOf } from '../helpers/model';
import { relMax } from '../helpers/torch';

const gpu = await testGpu();
const f32Gpu = await createGpu({ f16: false });
afterAll(() => f32Gpu.destroy());

const TRAIN: TrainConfig = {
  ...DEFAULT_TRAIN, lr: 1e-2, schedule: 'constant', warmupSteps: 0, maxSteps: 1, batchSize: 2, gradAccumSteps: 1,
  maxSeqLength: 64, weightDecay: 0.01, maxGradNorm: 1.0, shuffle: false, seed: 5,
};
// Measured worst over the families on lavapipe: logits 1.9e-3, losses 4.1e-4, gradients 9.5e-3, update 8.7e-2, loss
// after the step 5.9e-4; greedy tokens equal in every family.
const TOL = { logits: 5e-3, loss: 2e-3, grad: 3e-2, update: 0.25, lossAfter: 2e-3 };

function build(g: Gpu, family: (typeof FAMILIES)[number]): Transformer {
  const config = configFromHf(family.config);
  const weights = initWeights(config, 1234, 0.2, { normJitter: 0.1, biasStd: 0.1 });
  const model = new Transformer(g, config, weights, { kind: 'lora', lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: family.loraTargets } }, 7, {}, 'bf16');
  const r = rng(3);   // LoRA B starts at zero in training; values here make every A gradient non-trivial
  for (const name of model.params.trainableNames().filter((n) => n.endsWith('lora_B'))) {
    const t = model.params.get(name);
    g.write(t, Float32Array.from({ length: t.size }, () => (r() * 2 - 1) * 0.3));
  }
  return model;
}

async function run(g: Gpu, family: (typeof FAMILIES)[number]) {
  const model = build(g, family);
  const V = model.config.vocabSize;
  const r = rng(99);
  const data = [11, 7].map((len, i) => {
    const inputIds = Array.from({ length: len }, () => Math.floor(r() * V));
    return { inputIds, lossMask: inputIds.map((_, t) => (t >= 3 + i ? 1 : 0)) };
  });
  const batch = makeBatch(data, TRAIN.maxSeqLength);
  const logits = await logitsOf(model, data[0].inputIds);
  const { tokens } = await generateAll(model, data[0].inputIds.slice(0, 6), { ...GREEDY, maxNewTokens: 8, stopTokenIds: [], stopStrings: [] });
  g.fill(model.params.flat!.grads, 0);
  const lossT = model.trainStep(batch, 1 / batch.tokens, 0);
  const losses = await g.read(lossT);
  g.release(lossT);
  const grads = await model.params.readTrainable('grads');
  const before = await model.params.readTrainable('params');
  await new Trainer(model, data, TRAIN).step();
  const after = await model.params.readTrainable('params');
  const update = new Map([...after].map(([name, p]) => [name, p.map((v, i) => v - before.get(name)![i])]));
  const afterT = model.trainStep(batch, 1 / batch.tokens, 0);
  const lossAfter = (await g.read(afterT)).reduce((s, v) => s + v, 0) / batch.tokens;
  g.release(afterT);
  const f16Held = model.linearModules().filter((l) => model.params.chunked(`${l.name}.weight`).f16Math).length;
  model.destroy();
  return { logits, tokens, losses, grads, update, lossAfter, f16Held, linears: model.linearModules().length };
}

const norm = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

describe(`f16 path vs f32 path (this adapter: ${gpu.f16 ? 'shader-f16: the f16 path runs' : 'no shader-f16: both sides are the f32 path'})`, () => {
  for (const family of FAMILIES) {
    it(`${family.name}: logits, greedy tokens, one LoRA step's losses, gradients and update`, async () => {
      const f16 = await run(gpu, family);
      const f32 = await run(f32Gpu, family);
      expect(f32.f16Held).toBe(0);
      expect(f16.f16Held).toBe(gpu.f16 ? f16.linears : 0);   // every frozen linear took the f16 kernels
      const err = {
        logits: relMax(f16.logits, f32.logits),
        loss: relMax(f16.losses, f32.losses),
        grad: Math.max(...[...f32.grads].map(([name, g]) => relMax(f16.grads.get(name)!, g))),
        update: norm([...f32.update].flatMap(([name, d]) => Array.from(d, (v, i) => f16.update.get(name)![i] - v))) / norm([...f32.update.values()].flatMap((d) => Array.from(d))),
        lossAfter: Math.abs(f16.lossAfter - f32.lossAfter) / Math.abs(f32.lossAfter),
      };
      console.log(`f16 path ${family.name} on ${gpu.adapterInfo.description}: ${JSON.stringify(Object.fromEntries(Object.entries(err).map(([k, v]) => [k, Number(v.toExponential(2))])))} tokens ${f16.tokens.join(',')} vs ${f32.tokens.join(',')}`);
      if (!gpu.f16) {
        expect(err).toEqual({ logits: 0, loss: 0, grad: 0, update: 0, lossAfter: 0 });
      } else {
        for (const k of Object.keys(TOL) as (keyof typeof TOL)[]) expect(err[k], k).toBeLessThanOrEqual(TOL[k]);
        expect(err.logits).toBeGreaterThan(0);   // the f16 kernels did run
      }
      expect(f16.tokens).toEqual(f32.tokens);
    }, 300_000);
  }
});
