// Causal grouped-query attention on the GPU (flash-style forward, recompute-from-lse backward) and its
// float64 CPU reference.
//
// Shapes (row-major; heads interleaved as the projections produce them):
//   q, out, dout, dq  [B, Tq, H*D]        k, v  [B, kvStride, Hkv*D]       dk, dv  [B, T, Hkv*D]
//   lse               [B, H, Tq]  natural-log log-sum-exp of each row's scaled scores (forward saves it)
//   docStart          u32 [B, Tq] optional: first absolute position of each query's document (packing)
// Query i sits at absolute position Tk - Tq + i and sees keys docStart[b,i] <= j <= Tk - Tq + i; query
// head h reads kv head floor(h / (H / Hkv)). Every row must see at least one key (docStart <= position),
// and docStart must be nondecreasing along t (as packing produces it): backward stops on that.
//
// Contract: no [B,H,Tq,Tk] score matrix is ever stored. Forward keeps one query row per thread in
// registers and streams keys with an online softmax; backward recomputes probabilities from lse in two
// passes: dq (one thread per query row) and dk/dv (one thread per key row, looping over every query head
// of its group), so no float atomics are used and results are deterministic. Backward overwrites
// dq/dk/dv. The head dim is baked into the WGSL as a constant (one pipeline per D); any D up to 256.
// Not here: the q/k/v/out projections, RoPE (rope.ts), KV-cache bookkeeping.
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import forwardWgsl from './attention_forward.wgsl?raw';
import backwardDqWgsl from './attention_backward_dq.wgsl?raw';
import backwardDkDvWgsl from './attention_backward_dkdv.wgsl?raw';

export interface AttentionDims {
  B: number;        // batch
  Tq: number;       // query rows (= T in training; 1..n when decoding with a KV cache)
  Tk: number;       // key rows visible (= pastLen + Tq); causal: query i (absolute position Tk - Tq + i) sees keys j <= Tk - Tq + i
  H: number;        // query heads
  Hkv: number;      // key/value heads (H % Hkv == 0; grouped-query attention: head h uses kv head floor(h / (H/Hkv)))
  D: number;        // head dim (any, e.g. 8, 16, 32, 64, 80, 128)
  kvStride?: number;// rows allocated per batch item in k/v (KV-cache capacity); default Tk
}

const WG = 64;
export const MAX_HEAD_DIM = 256;

/** The WGSL of one kernel with its head dim fixed (private arrays need a constant size). */
function withHeadDim(code: string, D: number): string {
  return `const HEAD_DIM: u32 = ${D}u;\n${code}`;
}

function checkDims(dims: AttentionDims): Required<AttentionDims> {
  const { B, Tq, Tk, H, Hkv, D } = dims;
  const kvStride = dims.kvStride ?? Tk;
  const ints = [B, Tq, Tk, H, Hkv, D, kvStride];
  if (!ints.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`attention: bad dims ${JSON.stringify(dims)}`);
  if (H % Hkv !== 0) throw new Error(`attention: H=${H} is not a multiple of Hkv=${Hkv}`);
  if (Tq > Tk || Tk > kvStride) throw new Error(`attention: need Tq <= Tk <= kvStride, got ${Tq}, ${Tk}, ${kvStride}`);
  if (D > MAX_HEAD_DIM) throw new Error(`attention: head dim ${D} > ${MAX_HEAD_DIM}`);
  return { B, Tq, Tk, H, Hkv, D, kvStride };
}

function checkSize(t: Tensor, n: number, what: string): void {
  if (t.size !== n) throw new Error(`attention: ${what} (${t.label}) has ${t.size} elements, expected ${n}`);
}

/** WebGPU rejects a buffer bound read-only and read-write in one dispatch, even as disjoint views. */
function checkNoAlias(outputs: Tensor[], inputs: (Tensor | undefined)[]): void {
  for (const o of outputs) for (const i of inputs) {
    if (i && o.buffer === i.buffer) throw new Error(`attention: output ${o.label} shares a buffer with input ${i.label}`);
  }
}

/** Forward: writes out [B,Tq,H*D] and lse [B,H,Tq]. */
export function attentionForward(
  gpu: Gpu, out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor,
  dims: AttentionDims, scale: number, docStart?: Tensor,
): void {
  const { B, Tq, Tk, H, Hkv, D, kvStride } = checkDims(dims);
  checkSize(q, B * Tq * H * D, 'q');
  checkSize(out, B * Tq * H * D, 'out');
  checkSize(lse, B * H * Tq, 'lse');
  checkSize(k, B * kvStride * Hkv * D, 'k');
  checkSize(v, B * kvStride * Hkv * D, 'v');
  if (docStart) checkSize(docStart, B * Tq, 'docStart');
  checkNoAlias([out, lse], [q, k, v, docStart]);
  const rows = B * H * Tq;
  gpu.dispatch({
    code: withHeadDim(forwardWgsl, D), entryPoint: 'forward', label: 'attention.forward',
    // Without packing the docStart slot is never read; q stands in (two read-only bindings may alias).
    bindings: [q, k, v, docStart ?? q, out, lse],
    params: { u32: [B, Tq, Tk, H, Hkv, kvStride], f32: [scale] },
    workgroups: elementwiseGrid(rows, WG),
    constants: { WG, HAS_DOC: docStart ? 1 : 0 },
  });
}

/** Training backward (Tq = Tk = kvStride = T): overwrites dq [B,T,H*D], dk and dv [B,T,Hkv*D]. */
export function attentionBackward(
  gpu: Gpu, dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, out: Tensor, lse: Tensor,
  q: Tensor, k: Tensor, v: Tensor, dims: AttentionDims, scale: number, docStart?: Tensor,
): void {
  const { B, Tq: T, Tk, H, Hkv, D, kvStride } = checkDims(dims);
  if (Tk !== T || kvStride !== T) throw new Error(`attentionBackward: training shapes only (Tq = Tk = kvStride), got ${T}, ${Tk}, ${kvStride}`);
  for (const [t, n, what] of [
    [q, B * T * H * D, 'q'], [out, B * T * H * D, 'out'], [dout, B * T * H * D, 'dout'], [dq, B * T * H * D, 'dq'],
    [k, B * T * Hkv * D, 'k'], [v, B * T * Hkv * D, 'v'], [dk, B * T * Hkv * D, 'dk'], [dv, B * T * Hkv * D, 'dv'],
    [lse, B * H * T, 'lse'],
  ] as const) checkSize(t, n, what);
  if (docStart) checkSize(docStart, B * T, 'docStart');
  checkNoAlias([dq, dk, dv], [q, k, v, out, dout, lse, docStart]);
  const constants = { WG, HAS_DOC: docStart ? 1 : 0 };
  const params = { u32: [B, T, H, Hkv], f32: [scale] };
  const delta = gpu.tensor([B, H, T], 'attention.delta'); // rowsum(dout ∘ out), from pass 1 to pass 2
  gpu.dispatch({
    code: withHeadDim(backwardDqWgsl, D), entryPoint: 'backward_dq', label: 'attention.backward.dq',
    bindings: [q, k, v, out, dout, lse, docStart ?? q, dq, delta],
    params, workgroups: elementwiseGrid(B * H * T, WG), constants,
  });
  gpu.dispatch({
    code: withHeadDim(backwardDkDvWgsl, D), entryPoint: 'backward_dkdv', label: 'attention.backward.dkdv',
    bindings: [q, k, v, dout, lse, delta, docStart ?? q, dk, dv],
    params, workgroups: elementwiseGrid(B * Hkv * T, WG), constants,
  });
  gpu.release(delta); // safe: later writes to a pooled buffer are queue-ordered after these dispatches
}

// ---- CPU reference (float64): plain softmax(scale QK^T + mask) V -----------------------------------

/** Visible key range [first, last] of query i in batch item b. */
function keyRange(dims: Required<AttentionDims>, b: number, i: number, docStart?: ArrayLike<number>): [number, number] {
  return [docStart ? docStart[b * dims.Tq + i] : 0, dims.Tk - dims.Tq + i];
}

/** Probabilities of one query row over keys first..last (float64), and the row's log-sum-exp. */
function softmaxRow(
  q: ArrayLike<number>, k: ArrayLike<number>, d: Required<AttentionDims>,
  b: number, i: number, h: number, first: number, last: number, scale: number,
): { p: Float64Array; lse: number } {
  const { Tq, H, Hkv, D, kvStride } = d;
  const g = Math.floor(h / (H / Hkv));
  const qb = ((b * Tq + i) * H + h) * D;
  const s = new Float64Array(last - first + 1);
  let m = -Infinity;
  for (let j = first; j <= last; j++) {
    const kb = ((b * kvStride + j) * Hkv + g) * D;
    let dot = 0;
    for (let e = 0; e < D; e++) dot += q[qb + e] * k[kb + e];
    s[j - first] = dot * scale;
    m = Math.max(m, s[j - first]);
  }
  let sum = 0;
  for (let t = 0; t < s.length; t++) { s[t] = Math.exp(s[t] - m); sum += s[t]; }
  for (let t = 0; t < s.length; t++) s[t] /= sum;
  return { p: s, lse: m + Math.log(sum) };
}

export function attentionForwardCpu(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  dims: AttentionDims, scale: number, docStart?: ArrayLike<number>,
): { out: Float64Array; lse: Float64Array } {
  const d = checkDims(dims);
  const { B, Tq, H, Hkv, D, kvStride } = d;
  const out = new Float64Array(B * Tq * H * D);
  const lse = new Float64Array(B * H * Tq);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) {
    const g = Math.floor(h / (H / Hkv));
    const [first, last] = keyRange(d, b, i, docStart);
    const row = softmaxRow(q, k, d, b, i, h, first, last, scale);
    lse[(b * H + h) * Tq + i] = row.lse;
    const ob = ((b * Tq + i) * H + h) * D;
    for (let j = first; j <= last; j++) {
      const vb = ((b * kvStride + j) * Hkv + g) * D, pj = row.p[j - first];
      for (let e = 0; e < D; e++) out[ob + e] += pj * v[vb + e];
    }
  }
  return { out, lse };
}

/**
 * Gradients of L = sum(out ∘ dout) with softmax recomputed from scratch (no lse, no flash tricks).
 * Works for any Tq <= Tk: dk, dv have k's shape [B, kvStride, Hkv*D] (zero past Tk).
 */
export function attentionBackwardCpu(
  dout: ArrayLike<number>, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  dims: AttentionDims, scale: number, docStart?: ArrayLike<number>,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const d = checkDims(dims);
  const { B, Tq, H, Hkv, D, kvStride } = d;
  const dq = new Float64Array(B * Tq * H * D);
  const dk = new Float64Array(B * kvStride * Hkv * D);
  const dv = new Float64Array(B * kvStride * Hkv * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) {
    const g = Math.floor(h / (H / Hkv));
    const [first, last] = keyRange(d, b, i, docStart);
    const { p } = softmaxRow(q, k, d, b, i, h, first, last, scale);
    const qb = ((b * Tq + i) * H + h) * D;
    // dP_j = dout·v_j; dS_j = P_j (dP_j - sum_t P_t dP_t)
    const dp = new Float64Array(p.length);
    let pdp = 0;
    for (let j = first; j <= last; j++) {
      const vb = ((b * kvStride + j) * Hkv + g) * D;
      let s = 0;
      for (let e = 0; e < D; e++) s += dout[qb + e] * v[vb + e];
      dp[j - first] = s;
      pdp += p[j - first] * s;
    }
    for (let j = first; j <= last; j++) {
      const kb = ((b * kvStride + j) * Hkv + g) * D, pj = p[j - first];
      const ds = pj * (dp[j - first] - pdp) * scale;
      for (let e = 0; e < D; e++) {
        dq[qb + e] += ds * k[kb + e];
        dk[kb + e] += ds * q[qb + e];
        dv[kb + e] += pj * dout[qb + e];
      }
    }
  }
  return { dq, dk, dv };
}
