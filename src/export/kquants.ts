// ggml's reference quantisers for the tensor types of llama.cpp's Q4_K_M mix, ported from ggml-quants.c
// (quantize_row_q4_K_ref, quantize_row_q6_K_ref with make_qkx2_quants / make_qx_quants, quantize_row_q5_0_ref):
// what llama-quantize runs when no importance matrix is given. Every float operation is rounded to float32 as C
// does (f(): Math.fround; one double operation on float32 operands rounded once to float32 is the float32
// result), nearest_int is round-half-to-even like its 1.5·2^23 trick, so the bytes are ggml's
// (tests/node/gguf-kquants.test.ts compares them with the functions in node-llama-cpp's libggml-base).
// Block layouts (little-endian):
//   Q4_K (144 bytes / 256 weights): f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32,
//        128 bytes of 4-bit q; x ≈ d·sc·q − dmin·m.
//   Q6_K (210 bytes / 256): 128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8 scales (sub-blocks of 16), f16 d;
//        x ≈ d·sc·(q − 32).
//   Q5_0 (22 bytes / 32): f16 d, 4 bytes of fifth bits, 16 bytes of low nibbles; x ≈ d·(q − 16).
import { f32ToF16, f16ToF32 } from '../ops/half';

export const QK_K = 256;
const Q4_K_BYTES = 144;
const Q6_K_BYTES = 210;
const Q5_0_BLOCK = 32;
const Q5_0_BYTES = 22;

const f = Math.fround;
const GROUP_MAX_EPS = f(1e-15);
const TENTH = f(0.1);

/** nearest_int: round half to even, as adding 1.5·2^23 in float32 does. */
function nearestInt(x: number): number {
  const fl = Math.floor(x);
  const d = x - fl;
  return d > 0.5 ? fl + 1 : d < 0.5 ? fl : fl % 2 === 0 ? fl : fl + 1;
}

/** f16 round trip of one float32 (GGML_FP32_TO_FP16 then back), and its bits. */
const half = new Float32Array(1);
function toF16(x: number): { bits: number; value: number } {
  half[0] = x;
  const bits = f32ToF16(half)[0];
  return { bits, value: f16ToF32(Uint16Array.of(bits))[0] };
}

/** make_qkx2_quants(32, 15, x, weights, L, &the_min, Laux, -1, 0.1, 20, false): scale and the (positive) min. */
function makeQkx2(x: Float32Array, weights: Float32Array, L: Uint8Array, Laux: Uint8Array): { scale: number; min: number } {
  const n = x.length, nmax = 15, rmin = -1, nstep = 20;
  let min = x[0], max = x[0], sumW = weights[0], sumX = f(sumW * x[0]);
  for (let i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sumW = f(sumW + weights[i]);
    sumX = f(sumX + f(weights[i] * x[i]));
  }
  if (min > 0) min = 0;
  if (max === min) { L.fill(0); return { scale: 0, min: -min }; }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    L[i] = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[i] - min)))));
    const diff = f(f(f(scale * L[i]) + min) - x[i]);
    bestError = f(bestError + f(weights[i] * f(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(TENTH * is)) + nmax) / f(max - min));
    let sumL = 0, sumL2 = 0, sumXl = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[i] - min)))));
      Laux[i] = l;
      const w = weights[i];
      sumL = f(sumL + f(w * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
      sumXl = f(sumXl + f(f(w * l) * x[i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXl) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXl)) / D);
      if (thisMin > 0) { thisMin = 0; thisScale = f(sumXl / sumL2); }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        const diff = f(f(f(thisScale * Laux[i]) + thisMin) - x[i]);
        curError = f(curError + f(weights[i] * f(diff * diff)));
      }
      if (curError < bestError) { L.set(Laux); bestError = curError; scale = thisScale; min = thisMin; }
    }
  }
  return { scale, min: -min };
}

/** ggml's quantize_row_q4_K_ref over whole 256-blocks. */
export function quantizeQ4_K(x: Float32Array): Uint8Array {
  if (x.length % QK_K) throw new Error(`quantizeQ4_K: ${x.length} values are not whole blocks of ${QK_K}`);
  const out = new Uint8Array((x.length / QK_K) * Q4_K_BYTES);
  const view = new DataView(out.buffer);
  const L = new Uint8Array(QK_K), Laux = new Uint8Array(32), weights = new Float32Array(32);
  const scales = new Float32Array(8), mins = new Float32Array(8);
  for (let b = 0; b < x.length / QK_K; b++) {
    const xb = x.subarray(b * QK_K, (b + 1) * QK_K);
    const at = b * Q4_K_BYTES, sc = out.subarray(at + 4, at + 16);
    let maxScale = 0, maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const xs = xb.subarray(32 * j, 32 * j + 32);
      let sumX2 = 0;
      for (const v of xs) sumX2 = f(sumX2 + f(v * v));
      const avX = f(Math.sqrt(f(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(xs[l]));
      const r = makeQkx2(xs, weights, L.subarray(32 * j, 32 * j + 32), Laux);
      scales[j] = r.scale; mins[j] = r.min;
      if (r.scale > maxScale) maxScale = r.scale;
      if (r.min > maxMin) maxMin = r.min;
    }
    const invScale = maxScale > 0 ? f(63 / maxScale) : 0, invMin = maxMin > 0 ? f(63 / maxMin) : 0;
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
      const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
      if (j < 4) { sc[j] = ls; sc[j + 4] = lm; } else {
        sc[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        sc[j - 4] |= (ls >> 4) << 6;
        sc[j] |= (lm >> 4) << 6;
      }
    }
    const d = toF16(f(maxScale / 63)), dmin = toF16(f(maxMin / 63));
    view.setUint16(at, d.bits, true);
    view.setUint16(at + 2, dmin.bits, true);
    for (let j = 0; j < 8; j++) {
      const [s, m] = j < 4 ? [sc[j] & 63, sc[j + 4] & 63] : [(sc[j + 4] & 0xf) | ((sc[j - 4] >> 6) << 4), (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4)];
      const dd = f(d.value * s);
      if (!dd) continue;
      const dm = f(dmin.value * m);
      for (let i = 0; i < 32; i++) L[32 * j + i] = Math.max(0, Math.min(15, nearestInt(f(f(xb[32 * j + i] + dm) / dd))));
    }
    for (let j = 0; j < QK_K; j += 64) for (let l = 0; l < 32; l++) out[at + 16 + j / 2 + l] = L[j + l] | (L[j + l + 32] << 4);
  }
  return out;
}

/** make_qx_quants(16, 32, x, L, rmse_type 1, NULL): the scale, and the levels (+32) in L. */
function makeQx(x: Float32Array, L: Uint8Array): number {
  const nmax = 32;
  let max = 0, amax = 0;
  for (const v of x) { const ax = Math.abs(v); if (ax > amax) { amax = ax; max = v; } }
  if (amax < GROUP_MAX_EPS) { L.fill(0); return 0; }
  const level = (iscale: number, v: number): number => Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * v))));
  const fit = (iscale: number): { sumlx: number; suml2: number } => {
    let sumlx = 0, suml2 = 0;
    for (const v of x) {
      const l = level(iscale, v), w = f(v * v);
      sumlx = f(sumlx + f(f(w * v) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    return { sumlx, suml2 };
  };
  let iscale = f(-nmax / max);
  let { sumlx, suml2 } = fit(iscale);
  x.forEach((v, i) => { L[i] = level(iscale, v) + nmax; });
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(f(-f(nmax + f(TENTH * is))) / max);
    ({ sumlx, suml2 } = fit(iscale));
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      x.forEach((v, i) => { L[i] = level(iscale, v) + nmax; });
      scale = f(sumlx / suml2); best = f(scale * sumlx);
    }
  }
  return scale;
}

/** ggml's quantize_row_q6_K_ref over whole 256-blocks. */
export function quantizeQ6_K(x: Float32Array): Uint8Array {
  if (x.length % QK_K) throw new Error(`quantizeQ6_K: ${x.length} values are not whole blocks of ${QK_K}`);
  const out = new Uint8Array((x.length / QK_K) * Q6_K_BYTES);
  const view = new DataView(out.buffer);
  const L = new Uint8Array(QK_K), scales = new Float32Array(16);
  for (let b = 0; b < x.length / QK_K; b++) {
    const xb = x.subarray(b * QK_K, (b + 1) * QK_K);
    const at = b * Q6_K_BYTES;
    let maxScale = 0, maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      scales[ib] = makeQx(xb.subarray(16 * ib, 16 * ib + 16), L.subarray(16 * ib, 16 * ib + 16));
      if (Math.abs(scales[ib]) > maxAbsScale) { maxAbsScale = Math.abs(scales[ib]); maxScale = scales[ib]; }
    }
    if (maxAbsScale < GROUP_MAX_EPS) continue; // an all-zero block: zero bytes, d = +0
    const iscale = f(-128 / maxScale);
    const d = toF16(f(1 / iscale));
    view.setUint16(at + 208, d.bits, true);
    for (let j = 0; j < 16; j++) {
      const s = Math.min(127, nearestInt(f(iscale * scales[j])));
      view.setInt8(at + 192 + j, s);
      const dd = f(d.value * ((s << 24) >> 24));
      if (!dd) continue;
      for (let i = 0; i < 16; i++) L[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(f(xb[16 * j + i] / dd)))) + 32;
    }
    for (let j = 0; j < QK_K; j += 128) {
      for (let l = 0; l < 32; l++) {
        const [q1, q2, q3, q4] = [L[j + l], L[j + l + 32], L[j + l + 64], L[j + l + 96]];
        out[at + j / 2 + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        out[at + j / 2 + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        out[at + 128 + j / 4 + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
  return out;
}

/** ggml's quantize_row_q5_0_ref over whole 32-blocks (llama.cpp's fallback for Q4_K rows that are not 256-blocks). */
export function quantizeQ5_0(x: Float32Array): Uint8Array {
  if (x.length % Q5_0_BLOCK) throw new Error(`quantizeQ5_0: ${x.length} values are not whole blocks of ${Q5_0_BLOCK}`);
  const out = new Uint8Array((x.length / Q5_0_BLOCK) * Q5_0_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < x.length / Q5_0_BLOCK; b++) {
    const xb = x.subarray(b * Q5_0_BLOCK, (b + 1) * Q5_0_BLOCK);
    const at = b * Q5_0_BYTES;
    let amax = 0, max = 0;
    for (const v of xb) if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
    const d = f(max / -16);
    const id = d ? f(1 / d) : 0;
    view.setUint16(at, toF16(d).bits, true);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const xi0 = Math.min(31, Math.trunc(f(f(xb[j] * id) + 16.5)));
      const xi1 = Math.min(31, Math.trunc(f(f(xb[j + 16] * id) + 16.5)));
      out[at + 6 + j] = (xi0 & 0xf) | ((xi1 & 0xf) << 4);
      qh |= ((xi0 & 0x10) >> 4) << j;
      qh |= ((xi1 & 0x10) >> 4) << (j + 16);
    }
    view.setUint32(at + 2, qh >>> 0, true);
  }
  return out;
}
