// Whole-model parity against real transformers (tests/oracle/parity.py: AutoModelForCausalLM.from_config of the
// family's config.json, eager attention, float64, real PEFT LoRA; tests/helpers/transformers.ts) on the same
// weights and batch, for every family of tests/helpers/hf-families.ts in LoRA and full fine-tuning modes:
// logits, loss, every trainable gradient after one backward (named as ours; PEFT must choose exactly our LoRA
// tensors, full mode every parameter), greedy tokens (our KV cache against transformers' KV cache and against
// full recomputation) and the loss over 20 AdamW steps (torch.optim.AdamW + clip_grad_norm_ + the same linear
// warm-up schedule). The engine's ModelConfig is configFromHf(config.json), the reference's is transformers' own.
// Tolerances (our f32 against transformers' f64): logits 2e-5 relative to the largest |logit|, loss 1e-5
// relative, gradients 2e-5 relative to each tensor's largest |grad|, loss curve 2e-5 relative; greedy tokens
// identical. Measured on SwiftShader (the 'parity <family> <mode>' lines this test prints), worst over families
// and modes: logits 1.1e-6, loss 1.8e-7, gradients 3.6e-6, curve 1.8e-7.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAll } from '../../src/generate/generate';
import { GREEDY } from '../../src/generate/sampler';
import { configFromHf } from '../../src/io/hf';
import { initWeights } from '../../src/model/init';
import type { LoraConfig } from '../../src/model/lora';
import { Transformer, type TrainMode } from '../../src/model/transformer';
import { makeBatch, type Batch, type Example } from '../../src/train/batch';
import { DEFAULT_TRAIN, Trainer, type TrainConfig } from '../../src/train/trainer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { FAMILIES, type HfFamily } from '../helpers/hf-families';
import { relMax, type RawTensor } from '../helpers/torch';
import { transformersParity, type ParityCase, type ParityReference } from '../helpers/transformers';

const LORA = { rank: 4, alpha: 8, dropout: 0, useRslora: false };
const TRAIN: TrainConfig = {
  ...DEFAULT_TRAIN, lr: 1e-2, schedule: 'linear', warmupSteps: 3, maxSteps: 20, batchSize: 2, gradAccumSteps: 1,
  maxSeqLength: 64, weightDecay: 0.01, maxGradNorm: 1.0, shuffle: false, seed: 5,
};
const GREEDY_STEPS = 8;

function examples(V: number, seed: number): Example[] {
  const r = rng(seed);
  // Two sequences of different lengths (the shorter is right-padded); masks cover a prompt/answer split.
  return [11, 7].map((len, i) => {
    const inputIds = Array.from({ length: len }, () => Math.floor(r() * V));
    const lossMask = inputIds.map((_, t) => (t >= 3 + i ? 1 : 0));
    return { inputIds, lossMask };
  });
}

interface Case {
  family: HfFamily;
  mode: 'lora' | 'full';
  model?: Transformer;
  data?: Example[];
  batch?: Batch;
  prompt?: number[];
  trainable?: string[];
  input?: ParityCase;
  ref?: ParityReference;
}

const cases: Case[] = FAMILIES.flatMap((family) => (['lora', 'full'] as const).map((mode) => ({ family, mode })));

describe('whole-model parity with transformers', () => {
  let disposeOracle = (): void => {};
  afterAll(() => {
    disposeOracle();
    for (const c of cases) c.model?.destroy();
  });

  // Every case's model is built first so that transformers runs once for all of them (one Python start).
  beforeAll(async () => {
    const gpu = await testGpu();
    const ready: Case[] = [];
    for (const c of cases) {
      const config = configFromHf(c.family.config);
      const weights = initWeights(config, 1234, 0.2, { normJitter: 0.1, biasStd: 0.1 });
      const lora: LoraConfig | null = c.mode === 'lora' ? { ...LORA, targetModules: c.family.loraTargets } : null;
      const mode: TrainMode = lora ? { kind: 'lora', lora } : { kind: 'full' };
      c.model = new Transformer(gpu, config, weights, mode, 7);
      const p = c.model.params;
      // LoRA B starts at zero in real training; give it values so every A gradient is non-trivial here.
      if (lora) {
        const r = rng(3);
        for (const name of p.trainableNames().filter((n) => n.endsWith('lora_B'))) {
          const t = p.get(name);
          gpu.write(t, Float32Array.from({ length: t.size }, () => (r() * 2 - 1) * 0.3));
        }
      }
      // The weights both sides start from, LoRA tensors included.
      const tensors = new Map<string, RawTensor>(weights);
      const init = await p.readTrainable();
      c.trainable = p.trainableNames();
      for (const name of c.trainable) tensors.set(name, { shape: p.specs.get(name)!.shape, data: init.get(name)! });
      c.data = examples(config.vocabSize, 99);
      c.batch = makeBatch(c.data, TRAIN.maxSeqLength);
      c.prompt = c.data[0].inputIds.slice(0, 6);
      ready.push(c);
      const b = c.batch;
      c.input = {
        config: c.family.config, tensors,
        lora: lora ? { targets: lora.targetModules, r: lora.rank, alpha: lora.alpha, rslora: lora.useRslora } : null,
        trainable: c.trainable, decay: c.trainable.filter((n) => p.specs.get(n)!.decay),
        batch: { B: b.B, T: b.T, ids: [...b.ids], targets: [...b.targets], lossMask: [...b.lossMask] },
        greedy: { prompt: c.prompt, steps: GREEDY_STEPS },
        train: { steps: TRAIN.maxSteps, warmupSteps: TRAIN.warmupSteps, lr: TRAIN.lr, beta1: TRAIN.beta1, beta2: TRAIN.beta2, eps: TRAIN.eps, weightDecay: TRAIN.weightDecay, maxGradNorm: TRAIN.maxGradNorm },
      };
    }
    const oracle = transformersParity(ready.map((c) => c.input!));
    disposeOracle = oracle.dispose;
    ready.forEach((c, i) => { c.ref = oracle.results[i]; });
  }, 600_000);

  for (const c of cases) {
    it(`${c.family.name} ${c.mode}: logits, loss, gradients, greedy tokens and a 20-step AdamW loss curve`, async () => {
      const model = c.model!, ref = c.ref!, batch = c.batch!, gpu = model.gpu, p = model.params;

      // 1. logits of a plain forward
      const st = model.forward(batch, { save: false });
      const logits = await gpu.read(st.logits);
      model.release(st);
      const errors: Record<string, number> = { logits: relMax(logits, ref.logits) };
      expect(errors.logits, 'logits').toBeLessThan(2e-5);

      // 2. loss and every trainable gradient after one backward
      gpu.fill(p.flat!.grads, 0);
      const lossT = model.trainStep(batch, 1 / batch.tokens, 0);
      const losses = await gpu.read(lossT);
      gpu.release(lossT);
      const loss = losses.reduce((a, b) => a + b, 0) / batch.tokens;
      errors.loss = Math.abs(loss - ref.loss) / Math.abs(ref.loss);
      expect(errors.loss, 'loss').toBeLessThan(1e-5);
      const grads = await p.readTrainable('grads');
      expect(Object.keys(ref.grads).sort()).toEqual([...c.trainable!].sort());
      errors.worstGrad = 0;
      for (const name of c.trainable!) {
        const e = relMax(grads.get(name)!, ref.grads[name]);
        errors.worstGrad = Math.max(errors.worstGrad, e);
        expect(e, `grad ${name}`).toBeLessThan(2e-5);
      }

      // 3. greedy tokens through our KV cache: transformers' cached and uncached decoding agree with each other and with us
      const ours = await generateAll(model, c.prompt!, { ...GREEDY, maxNewTokens: GREEDY_STEPS, stopTokenIds: [], stopStrings: [] });
      expect(ref.tokensNoCache, 'transformers cached vs uncached').toEqual(ref.tokens);
      expect(ours.tokens, 'greedy tokens').toEqual(ref.tokens);

      // 4. 20 AdamW steps on the same batch: the loss curves agree
      const trainer = new Trainer(model, c.data!, TRAIN);
      const curve: number[] = [];
      while (!trainer.done) curve.push((await trainer.step()).loss);
      expect(curve.length).toBe(20);
      expect(curve[19]).toBeLessThan(curve[0] * 0.8); // it learns
      errors.curve = relMax(curve, ref.curve);
      expect(errors.curve, 'loss curve').toBeLessThan(2e-5);
      console.log(`parity ${c.family.name} ${c.mode}: ${JSON.stringify(errors)}`);
    });
  }
});
