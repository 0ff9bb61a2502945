// How a frozen weight is stored on the GPU, and its host-side encoding and decoding (the CPU reference of what
// src/ops/weight_load.wgsl reads). Storage applies only to weights no run trains (the base under LoRA, inference):
// trainable parameters, LoRA A/B, gradients and AdamW state are always f32.
//   f32   one value per u32 word
//   bf16  two per word, element 2j in the low half: a checkpoint's bf16 bits go to the GPU unchanged
//   f16   two per word, as bf16 (unpack2x16float in WGSL: core WGSL, no shader-f16 needed; on a device with
//         shader-f16 the matmul's f16 kernels read it as f16, and a bf16 weight becomes f16 for them where it fits:
//         halvesForF16Kernels)
//   q8    Q8_0-like: blocks of 32, int8 codes q = round(x / d) with d = absmax / 127 held as f16; x ≈ q·d.
//         8.5 bits a weight. Chosen for its simplicity and near-lossless error (½ step of absmax/127 per block).
//   q4    NF4 as in QLoRA/bitsandbytes: blocks of 64, 4-bit codes into the normal-quantile codebook NF4 scaled by
//         the block's absmax (held as f16); x ≈ NF4[q]·absmax. 4.25 bits a weight. Chosen over Q4_0's uniform
//         levels because pretrained weights are near-normal, where NF4's levels waste fewer codes (QLoRA §3).
// Layout of q8 and q4 (one row block of a weight at a time, its n values in row-major order): the codes first,
// 8 words per block (4 int8 or 8 nibbles per word, element i at byte/nibble i mod 4 or 8 of word i/4 or i/8),
// then the f16 scales two per word from word scalesWord(storage, n). A value is the f32 product of its code and
// its scale, one rounding, on the GPU and in decodeWeights alike.
// Not here: which weights are frozen (Transformer), the upload itself (ParamTable).
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half';

export type WeightStorage = 'f32' | 'bf16' | 'f16' | 'q8' | 'q4';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['f32', 'bf16', 'f16', 'q8', 'q4'];

/** The W_STORAGE override constant of src/ops/weight_load.wgsl. */
export const STORAGE_CODE: Record<WeightStorage, number> = { f32: 0, bf16: 1, f16: 2, q8: 3, q4: 4 };

/** Values per quantisation block (q8, q4). */
const BLOCK: Partial<Record<WeightStorage, number>> = { q8: 32, q4: 64 };

/** NF4's 16 levels (bitsandbytes' table: quantiles of N(0,1) scaled to [-1, 1], with an exact 0). */
export const NF4 = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/** GPU bytes per weight value, scales included (the memory estimate). */
export function bytesPerWeight(storage: WeightStorage): number {
  return { f32: 4, bf16: 2, f16: 2, q8: 34 / 32, q4: 34 / 64 }[storage];
}

/** Word offset of the scales in a q8/q4 tensor of n values (0 for the others, which have none). */
export function scalesWord(storage: WeightStorage, n: number): number {
  const b = BLOCK[storage];
  return b ? Math.ceil(n / b) * 8 : 0;
}

/** u32 words that n values take. */
export function storageWords(storage: WeightStorage, n: number): number {
  switch (storage) {
    case 'f32': return n;
    case 'bf16': case 'f16': return Math.ceil(n / 2);
    default: return scalesWord(storage, n) + Math.ceil(Math.ceil(n / BLOCK[storage]!) / 2);
  }
}

/** 16-bit values packed two per word (element 2j in the low half); an odd count is padded with 0. */
export function packHalves(bits: Uint16Array): Uint32Array {
  const out = new Uint32Array(Math.ceil(bits.length / 2));
  new Uint16Array(out.buffer).set(bits);
  return out;
}

/**
 * The largest |w| of a weight the f16 matmul kernels take: their products of w and a row of op(a) scaled below 64
 * (src/ops/matmul_f16.wgsl) must stay within f16's range, 65504.
 */
export const F16_MAX_WEIGHT = 1024;

/**
 * A 16-bit weight's bits as the f16 kernels read them, or null when it must stay on the f32 kernels because some
 * |w| >= F16_MAX_WEIGHT (or is Inf or NaN). f16 bits are returned as they are. bf16 becomes f16 exactly for
 * |w| in [2^-14, F16_MAX_WEIGHT) (bf16's 8 significant bits fit in f16's 11); smaller values round to nearest on
 * f16's subnormal grid, an absolute error of at most 2^-25 (3.0e-8), and below 2^-25 become zero.
 */
export function halvesForF16Kernels(storage: 'bf16' | 'f16', bits: Uint16Array): Uint16Array | null {
  const f16 = storage === 'f16' ? bits : f32ToF16(bf16ToF32(bits));
  for (let i = 0; i < f16.length; i++) if ((f16[i] & 0x7fff) >= F16_MAX_WEIGHT_BITS) return null;
  return f16;
}
const F16_MAX_WEIGHT_BITS = 0x6400;   // f16 bits of 1024 (exponent 10), sign cleared: every larger magnitude and Inf/NaN compares above

/** f32 values in `storage` (bf16/f16: round to nearest even; q8/q4: quantised as the header says). */
export function encodeWeights(storage: WeightStorage, x: Float32Array): Uint32Array {
  switch (storage) {
    case 'f32': return new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
    case 'bf16': return packHalves(f32ToBf16(x));
    case 'f16': return packHalves(f32ToF16(x));
    case 'q8': return quantise(storage, x);
    case 'q4': return quantise(storage, x);
  }
}

function quantise(storage: 'q8' | 'q4', x: Float32Array): Uint32Array {
  const n = x.length, B = BLOCK[storage]!, nb = Math.ceil(n / B);
  const out = new Uint32Array(storageWords(storage, n));
  const scales = new Float32Array(nb);
  for (let blk = 0; blk < nb; blk++) {
    let absmax = 0;
    for (let i = blk * B; i < Math.min(n, (blk + 1) * B); i++) absmax = Math.max(absmax, Math.abs(x[i]));
    scales[blk] = storage === 'q8' ? absmax / 127 : absmax;
  }
  const half = f32ToF16(scales);
  const d = f16ToF32(half);  // codes are chosen against the scale as stored, so the GPU's product is the nearest
  out.set(packHalves(half), scalesWord(storage, n));
  for (let i = 0; i < n; i++) {
    const s = d[Math.floor(i / B)];
    const y = s === 0 ? 0 : x[i] / s;
    if (storage === 'q8') {
      const q = Math.max(-127, Math.min(127, Math.round(y)));
      out[i >> 2] |= (q & 0xff) << (8 * (i & 3));
    } else {
      out[i >> 3] |= nearestNf4(y) << (4 * (i & 7));
    }
  }
  return out;
}

/** The NF4 level nearest y (midpoints between neighbours; |y| > 1 clamps). */
function nearestNf4(y: number): number {
  let q = 0;
  while (q < 15 && y > (NF4[q] + NF4[q + 1]) / 2) q++;
  return q;
}

/** The n f32 values `words` hold in `storage`: exactly what the GPU's weightAt reads. */
export function decodeWeights(storage: WeightStorage, words: Uint32Array, n: number): Float32Array {
  const halves = () => new Uint16Array(words.buffer, words.byteOffset, n);
  switch (storage) {
    case 'f32': return new Float32Array(words.buffer.slice(words.byteOffset, words.byteOffset + 4 * n));
    case 'bf16': return bf16ToF32(halves());
    case 'f16': return f16ToF32(halves());
    default: {
      const B = BLOCK[storage]!, at = scalesWord(storage, n);
      const d = f16ToF32(new Uint16Array(words.buffer, words.byteOffset + 4 * at, Math.ceil(n / B)));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const code = storage === 'q8' ? ((words[i >> 2] << (24 - 8 * (i & 3))) >> 24) : NF4[(words[i >> 3] >>> (4 * (i & 7))) & 15];
        out[i] = code * d[Math.floor(i / B)];  // Float32Array rounds the product once, as f32 multiplication does
      }
      return out;
    }
  }
}
