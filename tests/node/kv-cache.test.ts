// KV-cache decoding gives the same logits as a full forward pass, token by token, for each family.
// Tolerance: 1e-5 relative to the largest |logit| (same f32 arithmetic, different association).
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { logitsOf } from '../helpers/model';

describe('KV cache', () => {
  for (const kind of ['llama', 'qwen2', 'gpt2'] as const) {
    it(`${kind}: prefill + one token at a time equals the full forward`, async () => {
      const gpu = await testGpu();
      const config = tinyConfig(kind);
      const model = new Transformer(gpu, config, initWeights(config, 5, 0.2), { kind: 'none' });
      const r = rng(8);
      const ids = Array.from({ length: 9 }, () => Math.floor(r() * config.vocabSize));
      const V = config.vocabSize;

      const want = await logitsOf(model, ids);

      const cache = model.createCache(1, 16);
      const prefill = 4;
      const rows: Float32Array[] = [];
      let st = model.forward({ B: 1, T: prefill, ids: Uint32Array.from(ids.slice(0, prefill)) }, { save: false, cache });
      const pre = await gpu.read(st.logits);
      model.release(st);
      for (let t = 0; t < prefill; t++) rows.push(pre.slice(t * V, (t + 1) * V));
      for (let t = prefill; t < ids.length; t++) {
        st = model.forward({ B: 1, T: 1, ids: Uint32Array.of(ids[t]) }, { save: false, cache, lastOnly: true });
        rows.push(await gpu.read(st.logits));
        model.release(st);
      }
      expect(cache.length).toBe(ids.length);
      model.releaseCache(cache);
      const got = new Float32Array(ids.length * V);
      rows.forEach((row, t) => got.set(row, t * V));
      let err = 0, scale = 0;
      for (let i = 0; i < want.length; i++) { err = Math.max(err, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
      expect(err / scale).toBeLessThan(1e-5);
      model.destroy();
    });
  }
});
