// Attention for decoding: each of B sequences adds one row at its own position (pos[b], read from the GPU) to
// its rows of a KV cache and attends over its keys 0..pos[b] (the last `window` of them on a sliding-window
// layer). Positions live in a tensor, not in the dispatch's parameters, so one recorded step serves every step
// of a generation (src/generate/batch.ts replays it) and the sequences of a batch need not have equal lengths.
// Shapes: k, v [B, Hkv*D]; q, out [B, H*D]; cacheK, cacheV [B, cap, Hkv*D]; pos u32 [B], pos[b] < cap. Two variants
// without barriers (attention_decode.wgsl says why): passes through a [B, H, cap] scratch, or one fused pass.
// Contract: out is the same softmax attention as attentionForward for a query at position pos[b] (no lse: decoding
// has no backward); a cache row past pos[b] is never read, so rows a sequence has not written may hold anything.
// Not here: prefill (attentionForward with a KV cache), the training kernels, RoPE.
import type { Gpu, Tensor } from '../gpu/runtime';
import { attentionForwardCpu } from './attention';
import { elementwiseGrid } from './grid';
import decodeWgsl from './attention_decode.wgsl?raw';

export interface DecodeAttentionDims {
  B: number;
  H: number;
  Hkv: number;
  D: number;
  /** Rows per sequence in the cache. */
  cap: number;
  /** Sliding window (keys j with pos - j < window), or null. */
  window?: number | null;
}

const WG = 64;
const NO_WINDOW = 0xffffffff;

function params(d: DecodeAttentionDims, scale = 0): { u32: number[]; f32: number[] } {
  const { B, H, Hkv, D, cap, window = null } = d;
  if (![B, H, Hkv, D, cap].every((x) => Number.isInteger(x) && x > 0)) throw new Error(`decode attention: bad dims ${JSON.stringify(d)}`);
  if (H % Hkv !== 0) throw new Error(`decode attention: H=${H} is not a multiple of Hkv=${Hkv}`);
  if (window !== null && !(Number.isInteger(window) && window >= 1)) throw new Error(`decode attention: window ${window} must be a positive integer`);
  return { u32: [B, H, Hkv, D, cap, window ?? NO_WINDOW], f32: [scale] };
}

function need(t: Tensor, n: number, what: string): void {
  if (t.size !== n) throw new Error(`decode attention: ${what} (${t.label}) has ${t.size} elements, expected ${n}`);
}

/** cacheK[b, pos[b]] = k[b], cacheV[b, pos[b]] = v[b]. */
export function kvAppend(gpu: Gpu, cacheK: Tensor, cacheV: Tensor, k: Tensor, v: Tensor, pos: Tensor, dims: DecodeAttentionDims): void {
  const u = params(dims);
  const { B, Hkv, D, cap } = dims;
  need(k, B * Hkv * D, 'k');
  need(v, B * Hkv * D, 'v');
  need(pos, B, 'pos');
  need(cacheK, B * cap * Hkv * D, 'cacheK');
  need(cacheV, B * cap * Hkv * D, 'cacheV');
  gpu.dispatch({
    code: decodeWgsl, entryPoint: 'append', label: 'attention.decode.append',
    bindings: [k, v, pos, cacheK, cacheV], params: u, workgroups: elementwiseGrid(B * Hkv * D, WG), constants: { WG },
  });
}

/**
 * How decoding attention runs: 'passes' (append, then scores, softmax and weighted sum over a scratch: parallel over
 * keys, for GPUs) or 'fused' (one dispatch, each thread scoring every key itself: for software adapters, where a
 * dispatch costs more than the extra arithmetic at decoding sizes). See attention_decode.wgsl.
 */
export type DecodeAttentionVariant = 'passes' | 'fused';

export function defaultDecodeAttentionVariant(gpu: Gpu): DecodeAttentionVariant {
  return gpu.isSoftware ? 'fused' : 'passes';
}

/**
 * Appends k[b], v[b] at row pos[b] of sequence b's cache rows, then out[b] = attention of q[b] (position pos[b]) over
 * rows 0..pos[b] of them.
 */
export function attentionDecode(
  gpu: Gpu, out: Tensor, q: Tensor, k: Tensor, v: Tensor, cacheK: Tensor, cacheV: Tensor, pos: Tensor, dims: DecodeAttentionDims, scale: number,
  variant = defaultDecodeAttentionVariant(gpu),
): void {
  const u = params(dims, scale);
  const { B, H, Hkv, D, cap } = dims;
  need(q, B * H * D, 'q');
  need(out, B * H * D, 'out');
  need(k, B * Hkv * D, 'k');
  need(v, B * Hkv * D, 'v');
  need(pos, B, 'pos');
  need(cacheK, B * cap * Hkv * D, 'cacheK');
  need(cacheV, B * cap * Hkv * D, 'cacheV');
  if ([q, k, v, cacheK, cacheV].some((t) => t.buffer === out.buffer)) throw new Error(`decode attention: ${out.label} shares a buffer with an input`);
  const pass = (entryPoint: string, bindings: Tensor[], n: number) => gpu.dispatch({
    code: decodeWgsl, entryPoint, label: `attention.decode.${entryPoint}`, bindings, params: u, workgroups: elementwiseGrid(n, WG), constants: { WG },
  });
  if (variant === 'fused') {
    pass('fused', [q, k, v, pos, cacheK, cacheV, out], B * H * Math.ceil(D / 4));
    return;
  }
  kvAppend(gpu, cacheK, cacheV, k, v, pos, dims);
  const s = gpu.tensor([B, H, cap], 'attention.decode.scores');
  pass('scores', [q, cacheK, pos, s], B * H * cap);
  pass('softmax', [pos, s], B * H);
  pass('weighted', [s, cacheV, pos, out], B * H * D);
  gpu.release(s);   // later writes to its pooled buffer are queue-ordered after these passes
}

// ---- CPU reference: the training reference (attention.ts) at one query per sequence ---------------------

export function attentionDecodeCpu(
  q: ArrayLike<number>, cacheK: ArrayLike<number>, cacheV: ArrayLike<number>, pos: ArrayLike<number>, dims: DecodeAttentionDims, scale: number,
): Float64Array {
  const { B, H, Hkv, D, cap, window = null } = dims;
  const out = new Float64Array(B * H * D);
  const rows = cap * Hkv * D;
  for (let b = 0; b < B; b++) {
    const Tk = pos[b] + 1;
    const kb = Array.prototype.slice.call(cacheK, b * rows, b * rows + Tk * Hkv * D);
    const vb = Array.prototype.slice.call(cacheV, b * rows, b * rows + Tk * Hkv * D);
    const qb = Array.prototype.slice.call(q, b * H * D, (b + 1) * H * D);
    out.set(attentionForwardCpu(qb, kb, vb, { B: 1, Tq: 1, Tk, H, Hkv, D, window }, scale).out, b * H * D);
  }
  return out;
}
