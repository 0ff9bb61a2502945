// The head + loss in row chunks (Transformer.headLoss) computes what one whole [N, V] logits pass does:
// losses and every gradient (the head's own included, in full mode) agree to 1e-6 relative when the chunk
// budget forces several chunks, uneven last chunk included, and (Llama) also when the head and embedding are over
// a small binding limit and split into vocabulary blocks of 64 + 33 rows (src/model/chunks.ts).
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { makeBatch } from '../../src/train/batch';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { relMax } from '../helpers/torch';

describe('chunked head and loss', () => {
  for (const kind of ['llama', 'gpt2'] as const) {
    it(`${kind} full mode: chunks of 3 rows give the same losses and gradients as one pass`, async () => {
      const gpu = await testGpu();
      const config = tinyConfig(kind, kind === 'llama' ? { tieWordEmbeddings: false } : {});
      const weights = initWeights(config, 3, 0.2);
      const r = rng(5);
      const data = [9, 6].map((len) => {
        const inputIds = Array.from({ length: len }, () => Math.floor(r() * config.vocabSize));
        return { inputIds, lossMask: inputIds.map((_, t) => (t > 1 ? 1 : 0)) };
      });
      const batch = makeBatch(data, 64);
      const run = async (chunkRows: number | null, maxBindingBytes?: number) => {
        const model = new Transformer(gpu, config, weights, { kind: 'full' }, 0, maxBindingBytes ? { maxBindingBytes } : {});
        if (chunkRows) model.headChunkBytes = chunkRows * config.vocabSize * 4;
        const t = model.trainStep(batch, 1 / batch.tokens, 0);
        const losses = await gpu.read(t);
        gpu.release(t);
        const grads = await model.params.readTrainable('grads');
        model.destroy();
        return { losses, grads };
      };
      const whole = await run(null);
      const chunked = await run(3); // N = 16 rows → 6 chunks, the last of 1 row
      // Llama: also the 97-row head in blocks of 64 + 33 rows (GPT-2's tiny c_fc could not split under that limit;
      // binding-split.test.ts covers GPT-2 on a wider config).
      const runs = kind === 'llama' ? [chunked, await run(3, 64 * config.hiddenSize * 4)] : [chunked];
      for (const got of runs) {
        expect(relMax(got.losses, whole.losses)).toBeLessThan(1e-6);
        for (const [name, g] of whole.grads) expect(relMax(got.grads.get(name)!, g), name).toBeLessThan(1e-6);
      }
    });
  }
});
