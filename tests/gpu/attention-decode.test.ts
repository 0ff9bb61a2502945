// Decoding attention (src/ops/attention-decode.ts), both variants (passes, fused): sequences at different positions
// in one batch append their new k/v row at their own position and attend over their keys, against the float64 CPU
// reference (the training attention's reference at one query per sequence), with grouped-query heads, head dims
// that are and are not multiples of 4 and of the workgroup, more keys than one workgroup, and sliding windows; and
// the append kernel alone writing each sequence's row at its own position and nowhere else.
// Tolerance as the training forward's: f32 dot products of length D and softmax sums over up to cap keys against
// float64, rtol 1e-4, atol 2e-5.
import { describe, expect, it } from 'vitest';
import { attentionDecode, attentionDecodeCpu, kvAppend, type DecodeAttentionDims } from '../../src/ops/attention-decode';
import { expectClose, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const TOL = { rtol: 1e-4, atol: 2e-5 };

const CASES: (DecodeAttentionDims & { pos: number[] })[] = [
  { B: 1, H: 4, Hkv: 2, D: 16, cap: 8, pos: [0] },
  { B: 3, H: 4, Hkv: 2, D: 16, cap: 40, pos: [39, 0, 17] },
  { B: 2, H: 7, Hkv: 1, D: 8, cap: 150, pos: [149, 64] },                 // more keys than one block of 64
  { B: 2, H: 2, Hkv: 2, D: 80, cap: 70, pos: [65, 3] },                   // D past one workgroup's width
  { B: 2, H: 2, Hkv: 1, D: 256, cap: 20, pos: [19, 7] },                  // the largest head dim
  { B: 3, H: 4, Hkv: 2, D: 8, cap: 100, pos: [99, 2, 70], window: 16 },  // sliding window, one shorter than it
  { B: 1, H: 2, Hkv: 1, D: 6, cap: 5, pos: [4], window: 1 },
];

describe('decoding attention', () => {
  for (const c of CASES) for (const variant of ['passes', 'fused'] as const) {
    it(`${variant}: appends the new rows and matches the reference at positions ${c.pos.join(', ')} (B=${c.B} H=${c.H} Hkv=${c.Hkv} D=${c.D}${c.window ? ` window=${c.window}` : ''})`, async () => {
      const gpu = await testGpu();
      const { B, H, Hkv, D, cap } = c;
      const w = Hkv * D;
      const qv = randn(B * H * D, 11), kc = randn(B * cap * w, 12), vc = randn(B * cap * w, 13), kn = randn(B * w, 14), vn = randn(B * w, 15);
      const q = gpu.fromArray([B, H * D], qv, 'q'), k = gpu.fromArray([B, w], kn, 'k'), v = gpu.fromArray([B, w], vn, 'v');
      const cacheK = gpu.fromArray([B, cap, w], kc, 'cacheK'), cacheV = gpu.fromArray([B, cap, w], vc, 'cacheV');
      const pos = gpu.fromU32([B], c.pos, 'pos'), out = gpu.tensor([B, H * D], 'out');
      const scale = 1 / Math.sqrt(D);
      attentionDecode(gpu, out, q, k, v, cacheK, cacheV, pos, c, scale, variant);
      const wantK = Float32Array.from(kc), wantV = Float32Array.from(vc);
      for (let b = 0; b < B; b++) {
        wantK.set(kn.subarray(b * w, (b + 1) * w), (b * cap + c.pos[b]) * w);
        wantV.set(vn.subarray(b * w, (b + 1) * w), (b * cap + c.pos[b]) * w);
      }
      expect(Array.from(await gpu.read(cacheK))).toEqual(Array.from(wantK));
      expect(Array.from(await gpu.read(cacheV))).toEqual(Array.from(wantV));
      expectClose(await gpu.read(out), attentionDecodeCpu(qv, wantK, wantV, c.pos, c, scale), TOL, `attention.decode.${variant}`);
      gpu.release(q, k, v, cacheK, cacheV, pos, out);
    });
  }

  it('append writes each sequence\'s k and v row at its own position and nothing else', async () => {
    const gpu = await testGpu();
    const dims = { B: 3, H: 4, Hkv: 2, D: 8, cap: 6 };
    const w = dims.Hkv * dims.D, at = [5, 0, 2];
    const before = randn(dims.B * dims.cap * w, 3);
    const cacheK = gpu.fromArray([dims.B, dims.cap, w], before, 'cacheK'), cacheV = gpu.fromArray([dims.B, dims.cap, w], before, 'cacheV');
    const kv = randn(dims.B * w, 4), vv = randn(dims.B * w, 5);
    const k = gpu.fromArray([dims.B, w], kv, 'k'), v = gpu.fromArray([dims.B, w], vv, 'v'), pos = gpu.fromU32([dims.B], at, 'pos');
    kvAppend(gpu, cacheK, cacheV, k, v, pos, dims);
    const wantK = Float32Array.from(before), wantV = Float32Array.from(before);
    for (let b = 0; b < dims.B; b++) {
      wantK.set(kv.subarray(b * w, (b + 1) * w), (b * dims.cap + at[b]) * w);
      wantV.set(vv.subarray(b * w, (b + 1) * w), (b * dims.cap + at[b]) * w);
    }
    expect(Array.from(await gpu.read(cacheK))).toEqual(Array.from(wantK));
    expect(Array.from(await gpu.read(cacheV))).toEqual(Array.from(wantV));
    gpu.release(cacheK, cacheV, k, v, pos);
  });
});
