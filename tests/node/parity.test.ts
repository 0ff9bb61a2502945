// Whole-model parity against an independent PyTorch implementation (tests/node/parity_torch.py, float64,
// Debian's python3-torch) on the same weights and batch, for tiny random Llama, Qwen2 (q/k/v bias) and
// GPT-2 configs: logits, loss, every LoRA gradient after one backward, and the loss over 20 AdamW steps
// (clipping, linear schedule with warm-up, weight decay). Full-parameter mode: every gradient.
// Tolerances (our f32 against torch f64): logits 2e-5 relative to the largest magnitude, loss 1e-5,
// gradients 2e-5 relative to the tensor's largest |grad| (per tensor), loss curve 2e-5 relative (measured: ~1e-6, ~4e-6, ~1e-7).
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config';
import { initWeights, tinyConfig } from '../../src/model/init';
import { loraScale, type LoraConfig } from '../../src/model/lora';
import { Transformer, type NamedWeight, type TrainMode } from '../../src/model/transformer';
import { makeBatch, type Example } from '../../src/train/batch';
import { Trainer, DEFAULT_TRAIN, type TrainConfig } from '../../src/train/trainer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { relMax, TorchOracle } from '../helpers/torch';

const oracles: TorchOracle[] = [];
afterAll(() => oracles.forEach((o) => o.dispose()));

function examples(V: number, seed: number): Example[] {
  const r = rng(seed);
  // Two sequences of different lengths (the shorter is right-padded); masks cover a prompt/answer split.
  return [11, 7].map((len, i) => {
    const inputIds = Array.from({ length: len }, () => Math.floor(r() * V));
    const lossMask = inputIds.map((_, t) => (t >= 3 + i ? 1 : 0));
    return { inputIds, lossMask };
  });
}

interface TorchOut { logits: number[]; loss: number; grads: Record<string, number[]>; curve: number[] }

function runTorch(config: ModelConfig, weights: Map<string, NamedWeight>, trainable: string[], decay: string[],
  batch: ReturnType<typeof makeBatch>, lora: LoraConfig | null, train: TrainConfig): TorchOut {
  const oracle = new TorchOracle();
  oracles.push(oracle);
  oracle.writeManifest(weights, {
    config, trainable, decay, loraScale: lora ? loraScale(lora) : 0,
    batch: { B: batch.B, T: batch.T, ids: [...batch.ids], targets: [...batch.targets], lossMask: [...batch.lossMask] },
    train: { steps: train.maxSteps, warmupSteps: train.warmupSteps, lr: train.lr, beta1: train.beta1, beta2: train.beta2, eps: train.eps, weightDecay: train.weightDecay, maxGradNorm: train.maxGradNorm },
  });
  return oracle.run<TorchOut>('parity_torch.py', [], 'torch.json');
}

const LORA: LoraConfig = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: [] };
const TRAIN: TrainConfig = {
  ...DEFAULT_TRAIN, lr: 1e-2, schedule: 'linear', warmupSteps: 3, maxSteps: 20, batchSize: 2, gradAccumSteps: 1,
  maxSeqLength: 64, weightDecay: 0.01, maxGradNorm: 1.0, shuffle: false, seed: 5,
};

const cases: { kind: 'llama' | 'qwen2' | 'gpt2'; mode: 'lora' | 'full'; targets: string[]; over?: Partial<ModelConfig> }[] = [
  { kind: 'llama', mode: 'lora', targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
  // Llama 3.1/3.2's RoPE scaling, with a small original context so all three frequency bands occur at D=8
  { kind: 'llama', mode: 'lora', targets: ['q_proj', 'k_proj'], over: { ropeTheta: 500000, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 400 } } },
  { kind: 'qwen2', mode: 'lora', targets: ['q_proj', 'v_proj', 'down_proj'] },
  { kind: 'gpt2', mode: 'lora', targets: ['c_attn', 'c_proj', 'c_fc'] },
  { kind: 'llama', mode: 'full', targets: [] },
  { kind: 'gpt2', mode: 'full', targets: [] },
];

describe('whole-model parity with PyTorch', () => {
  for (const cs of cases) {
    it(`${cs.kind}${cs.over?.ropeScaling ? ' (llama3 rope scaling)' : ''} ${cs.mode}: logits, loss, gradients and a 20-step AdamW loss curve`, async () => {
      const gpu = await testGpu();
      const config = tinyConfig(cs.kind, { ...(cs.kind === 'llama' ? { tieWordEmbeddings: false } : {}), ...cs.over });
      const weights = initWeights(config, 1234, 0.2, { normJitter: 0.1, biasStd: 0.1 });
      const lora = cs.mode === 'lora' ? { ...LORA, targetModules: cs.targets } : null;
      const mode: TrainMode = lora ? { kind: 'lora', lora } : { kind: 'full' };
      const data = examples(config.vocabSize, 99);
      const batch = makeBatch(data, TRAIN.maxSeqLength);

      const model = new Transformer(gpu, config, weights, mode, 7);
      const p = model.params;
      // LoRA B starts at zero in real training; give it values so every A gradient is non-trivial here.
      if (lora) {
        const r = rng(3);
        for (const name of p.trainableNames().filter((n) => n.endsWith('lora_B'))) {
          const t = p.get(name);
          gpu.write(t, Float32Array.from({ length: t.size }, () => (r() * 2 - 1) * 0.3));
        }
      }
      // The weights both sides start from, LoRA tensors included.
      const all = new Map(weights);
      const init = await p.readTrainable();
      for (const name of p.trainableNames()) all.set(name, { shape: p.specs.get(name)!.shape, data: init.get(name)! });
      const trainable = p.trainableNames();
      const decay = trainable.filter((n) => p.specs.get(n)!.decay);
      const torch = runTorch(config, all, trainable, decay, batch, lora, TRAIN);

      // 1. logits of a plain forward
      const st = model.forward(batch, { save: false });
      const logits = await gpu.read(st.logits);
      model.release(st);
      const errors: Record<string, number> = { logits: relMax(logits, torch.logits) };
      expect(errors.logits, 'logits').toBeLessThan(2e-5);

      // 2. loss and every trainable gradient after one backward
      gpu.fill(p.flat!.grads, 0);
      const lossT = model.trainStep(batch, 1 / batch.tokens, 0);
      const losses = await gpu.read(lossT);
      gpu.release(lossT);
      const loss = losses.reduce((a, b) => a + b, 0) / batch.tokens;
      expect(Math.abs(loss - torch.loss) / Math.abs(torch.loss), 'loss').toBeLessThan(1e-5);
      const grads = await p.readTrainable('grads');
      errors.loss = Math.abs(loss - torch.loss) / Math.abs(torch.loss);
      errors.worstGrad = 0;
      for (const name of trainable) {
        const e = relMax(grads.get(name)!, torch.grads[name]);
        errors.worstGrad = Math.max(errors.worstGrad, e);
        expect(e, `grad ${name}`).toBeLessThan(2e-5);
      }

      // 3. 20 AdamW steps on the same batch: the loss curves agree
      const trainer = new Trainer(model, data, TRAIN);
      const curve: number[] = [];
      while (!trainer.done) curve.push((await trainer.step()).loss);
      expect(curve.length).toBe(20);
      expect(curve[19]).toBeLessThan(curve[0] * 0.8); // it learns
      errors.curve = relMax(curve, torch.curve);
      expect(errors.curve, 'loss curve').toBeLessThan(2e-5);
      console.log(`parity ${cs.kind} ${cs.mode}: ${JSON.stringify(errors)}`);
      model.destroy();
    });
  }
});
