// Sequence packing: examples concatenated into one sequence (packExamples) train exactly like the same
// examples as separate padded rows, because attention and positions restart at each document (docStart):
// same summed loss and the same LoRA gradients (1e-5 relative). Without the document starts they differ,
// so the equality is not vacuous.
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { makeBatch, type Example } from '../../src/train/batch';
import { packExamples } from '../../src/train/presets';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { relMax } from '../helpers/torch';

describe('sequence packing', () => {
  for (const kind of ['llama', 'gpt2'] as const) {
    it(`${kind}: packed equals separate rows`, async () => {
      const gpu = await testGpu();
      const config = tinyConfig(kind);
      const weights = initWeights(config, 4, 0.2);
      const r = rng(11);
      const examples: Example[] = [7, 5, 6].map((len) => {
        const inputIds = Array.from({ length: len }, () => Math.floor(r() * config.vocabSize));
        return { inputIds, lossMask: inputIds.map((_, t) => (t >= 2 ? 1 : 0)) };
      });
      const lora = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: kind === 'gpt2' ? ['c_attn', 'c_fc'] : ['q_proj', 'k_proj', 'up_proj'] };
      const run = async (batch: ReturnType<typeof makeBatch>) => {
        const model = new Transformer(gpu, config, weights, { kind: 'lora', lora }, 1);
        const B = model.params.trainableNames().filter((n) => n.endsWith('lora_B'));
        const rb = rng(2);
        for (const n of B) { const t = model.params.get(n); gpu.write(t, Float32Array.from({ length: t.size }, () => rb() - 0.5)); }
        const t = model.trainStep(batch, 1, 0);
        const loss = (await gpu.read(t)).reduce((a, b) => a + b, 0);
        gpu.release(t);
        const grads = [...(await model.params.readTrainable('grads')).values()].flatMap((g) => [...g]);
        model.destroy();
        return { loss, grads };
      };
      const separate = await run(makeBatch(examples, 64));
      const packedExamples = packExamples(examples, 64);
      expect(packedExamples).toHaveLength(1);
      const packed = await run(makeBatch(packedExamples, 64));
      expect(Math.abs(packed.loss - separate.loss) / separate.loss).toBeLessThan(1e-5);
      expect(relMax(packed.grads, separate.grads)).toBeLessThan(1e-5);
      const leaky = await run(makeBatch(packedExamples.map(({ inputIds, lossMask }) => ({ inputIds, lossMask })), 64));
      expect(Math.abs(leaky.loss - separate.loss) / separate.loss).toBeGreaterThan(1e-3);
    });
  }
});
