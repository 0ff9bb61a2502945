// Small reads of a Transformer that many tests need.
import type { Transformer } from '../../src/model/transformer';

/** Logits [ids.length, V] of one plain forward over `ids` (no cache, nothing saved). */
export async function logitsOf(model: Transformer, ids: ArrayLike<number>): Promise<Float32Array> {
  const st = model.forward({ B: 1, T: ids.length, ids: Uint32Array.from(ids) }, { save: false });
  const out = await model.gpu.read(st.logits);
  model.release(st);
  return out;
}
