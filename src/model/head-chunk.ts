// How many rows of logits the training and evaluation head computes at once (Transformer.headLoss), as a pure
// function so the memory estimate (src/model/memory-estimate.ts) counts the same chunk the engine allocates without importing
// the GPU code. A chunk is [rows, V] f32 within HEAD_CHUNK_BYTES and the binding limit, at least one row.

/** Largest logits chunk [rows, V] kept at once in training/evaluation (also bounded by the binding limit). */
export const HEAD_CHUNK_BYTES = 64 * 2 ** 20;

/** Rows per head chunk for N rows over a V-entry vocabulary. */
export function headChunkRows(N: number, V: number, maxBindingBytes: number, chunkBytes = HEAD_CHUNK_BYTES): number {
  return Math.max(1, Math.min(N, Math.floor(Math.min(chunkBytes, maxBindingBytes) / (4 * V))));
}
