// Frozen weights in 16-bit and quantised storage (src/ops/weight-storage.ts, src/ops/weight_load.wgsl):
//  - the host codecs: bf16/f16 round to nearest, q8 within half a step of its block's scale, q4 the nearest NF4
//    level, sizes as stated;
//  - matmul with a packed b, both kernel variants, both layouts of b, odd and aligned shapes, against the CPU
//    reference on the decoded weights (decodeWeights: the dequantise-then-multiply reference). Tolerance as the
//    f32 matmul test's: |gpu - cpu| <= 1e-5 · Σ|terms| + 1e-6 (f32 sums of K products of the same values); an f16 W
//    on the f32 kernels here (f16Math: false): the f16 kernels are tests/gpu/matmul.test.ts's;
//  - the embedding gather of a packed table: exactly the decoded rows;
//  - which 16-bit weights the f16 kernels take: bf16 held as f16 where it fits (a per-matrix decision in ParamTable).
import { afterAll, describe, expect, it } from 'vitest';
import { matmul, matmulCpu, matmulVariants, setMatmulVariant } from '../../src/ops/matmul';
import { embeddingForward, embeddingForwardCpu } from '../../src/ops/embedding';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/ops/half';
import {
  bytesPerWeight, decodeWeights, encodeWeights, halvesForF16Kernels, NF4, scalesWord, storageWords, type WeightStorage,
} from '../../src/ops/weight-storage';
import { createGpu } from '../../src/gpu/runtime';
import { ParamTable } from '../../src/model/params';
import { randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const PACKED: WeightStorage[] = ['bf16', 'f16', 'q8', 'q4'];
const gpu0 = await testGpu();
const COMPILE_TIMEOUT = 120_000;

describe('weight storage codecs', () => {
  const x = randn(1000, 11, 0.2);
  x[5] = 0; x[300] = -0.2;   // a zero and a block's absmax exactly
  const roundTrip = (s: WeightStorage) => decodeWeights(s, encodeWeights(s, x), x.length);

  it('bf16 and f16 round to nearest, as the checkpoint writer does', () => {
    expect(roundTrip('bf16')).toEqual(bf16ToF32(f32ToBf16(x)));
    expect(roundTrip('f16')).toEqual(f16ToF32(f32ToF16(x)));
    expect(roundTrip('f32')).toEqual(x);
  });

  it('q8 is within half a step of each 32-block scale (absmax / 127, held as f16)', () => {
    const y = roundTrip('q8');
    for (let blk = 0; blk < Math.ceil(x.length / 32); blk++) {
      const part = x.subarray(blk * 32, blk * 32 + 32);
      const d = f16ToF32(f32ToF16(Float32Array.of(Math.max(...part.map(Math.abs)) / 127)))[0];
      for (let i = 0; i < part.length; i++) expect(Math.abs(y[blk * 32 + i] - part[i])).toBeLessThanOrEqual(d / 2 * (1 + 1e-6) + 1e-9);
    }
  });

  it('q4 takes the nearest NF4 level of each value over its 64-block absmax', () => {
    const y = roundTrip('q4');
    for (let i = 0; i < x.length; i++) {
      const blk = x.subarray(Math.floor(i / 64) * 64, Math.floor(i / 64) * 64 + 64);
      const s = f16ToF32(f32ToF16(Float32Array.of(Math.max(...blk.map(Math.abs)))))[0];
      const best = Math.min(...[...NF4].map((l) => Math.abs(Math.fround(l * s) - x[i])));
      expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(best + 1e-7);
    }
  });

  it('sizes: words, scale offsets and bytes per weight', () => {
    expect(storageWords('bf16', 5)).toBe(3);
    expect([scalesWord('q8', 70), storageWords('q8', 70)]).toEqual([24, 26]);   // 3 blocks: 24 code words, 2 scale words
    expect([scalesWord('q4', 70), storageWords('q4', 70)]).toEqual([16, 17]);   // 2 blocks
    expect(PACKED.map(bytesPerWeight)).toEqual([2, 2, 1.0625, 0.53125]);
  });
});

describe('matmul and gather over packed weights', () => {
  afterAll(async () => setMatmulVariant(await testGpu(), null));
  // [M, N, K]: decoding (M = 1), odd sizes (blocks straddle rows), aligned sizes.
  const SHAPES: [number, number, number][] = [[1, 37, 70], [33, 17, 65], [12, 64, 96]];

  for (const variant of matmulVariants(gpu0)) {
    for (const storage of PACKED) {
      it(`${variant}: x op(W) with W in ${storage} equals the CPU product of the decoded W`, async () => {
        const gpu = await testGpu();
        setMatmulVariant(gpu, variant);
        for (const [M, N, K] of SHAPES) {
          for (const transB of [true, false]) {
            const a = randn(M * K, M + N), w = randn(K * N, K, 0.1);
            const words = encodeWeights(storage, w);
            const wDec = decodeWeights(storage, words, K * N);
            const ta = gpu.fromArray([M * K], a, 'a'), tw = gpu.fromU32([words.length], words, 'w');
            const out = gpu.tensor([M * N], 'out');
            matmul(gpu, out, ta, tw, M, N, K, { transB, bStorage: storage, f16Math: false });
            const got = await gpu.read(out);
            const expected = matmulCpu(a, wDec, M, N, K, { transB });
            const scale = Math.max(...matmulCpu(a.map(Math.abs), wDec.map(Math.abs), M, N, K, { transB }));
            for (let i = 0; i < expected.length; i++) {
              const err = Math.abs(got[i] - expected[i]);
              if (!(err <= 1e-5 * scale + 1e-6)) expect.fail(`[${M},${N},${K}] transB ${transB}: element ${i} is ${got[i]}, expected ${expected[i]}`);
            }
            gpu.release(ta, tw, out);
          }
        }
      }, COMPILE_TIMEOUT);
    }
  }

  it('the embedding gather reads exactly the decoded rows, for every storage', async () => {
    const gpu = await testGpu();
    const V = 37, C = 10, N = 6;
    const ids = Uint32Array.of(0, 36, 5, 5, 17, 40);   // 40: past the table, zeros
    const table = randn(V * C, 3, 0.1);
    for (const storage of PACKED) {
      const words = encodeWeights(storage, table);
      const tw = gpu.fromU32([words.length], words, 'table'), tids = gpu.fromU32([N], ids, 'ids'), out = gpu.tensor([N, C], 'out');
      embeddingForward(gpu, out, tids, tw, N, C, 0, storage, V);
      expect(Array.from(await gpu.read(out)), storage).toEqual(Array.from(embeddingForwardCpu(ids, decodeWeights(storage, words, V * C), N, C)));
      gpu.release(tw, tids, out);
    }
  }, COMPILE_TIMEOUT);
});

describe('16-bit weights for the f16 kernels (halvesForF16Kernels, ParamTable)', () => {
  it('bf16 becomes f16 exactly for |w| in [2^-14, 1024), within 2^-25 below; |w| >= 1024, Inf or NaN keep it off', () => {
    const normal = bf16ToF32(f32ToBf16(Float32Array.of(1, -0.5, 2 ** -14, 0.013671875, -1016, 3.1415, 1e-3, 0)));
    expect(f16ToF32(halvesForF16Kernels('bf16', f32ToBf16(normal))!)).toEqual(normal);
    const tiny = bf16ToF32(f32ToBf16(Float32Array.of(2 ** -15 * 1.5078125, 3e-6, -7e-7, 2 ** -26, 1e-30)));
    const held = f16ToF32(halvesForF16Kernels('bf16', f32ToBf16(tiny))!);
    for (let i = 0; i < tiny.length; i++) expect(Math.abs(held[i] - tiny[i]), `${tiny[i]}`).toBeLessThanOrEqual(2 ** -25);
    for (const big of [1024, -2000, 70000, Infinity, NaN]) {
      expect(halvesForF16Kernels('bf16', f32ToBf16(Float32Array.of(0.5, big))), `${big}`).toBeNull();
      if (Math.abs(big) < 65504 || Number.isNaN(big)) expect(halvesForF16Kernels('f16', f32ToF16(Float32Array.of(0.5, big))), `f16 ${big}`).toBeNull();
    }
    const f16bits = f32ToF16(Float32Array.of(0.25, -1000));
    expect(halvesForF16Kernels('f16', f16bits)).toBe(f16bits);
  });

  it(`a bf16 matrix is held as f16 on a shader-f16 device (this one: ${gpu0.f16}) unless some |w| >= 1024; bf16 without the feature`, async () => {
    const off = await createGpu({ f16: false });
    try {
      for (const gpu of [gpu0, off]) {
        const fits = randn(6 * 10, 1, 0.1), big = randn(6 * 10, 2, 0.1);
        big[17] = 1500;
        const spec = (name: string, init: Float32Array) => ({ name, shape: [6, 10], trainable: false, decay: true, init: Float32Array.from(init), storage: 'bf16' as const });
        const table = new ParamTable(gpu, [spec('fits', fits), spec('big', big)]);
        const [a, b] = [table.chunked('fits'), table.chunked('big')];
        expect([a.storage, a.f16Math, b.storage, b.f16Math], gpu.f16 ? 'shader-f16' : 'no shader-f16').toEqual(gpu.f16 ? ['f16', true, 'bf16', false] : ['bf16', false, 'bf16', false]);
        // The values are bf16's either way (bf16 -> f16 is exact in range).
        expect(await table.read('fits')).toEqual(bf16ToF32(f32ToBf16(fits)));
        expect(await table.read('big')).toEqual(bf16ToF32(f32ToBf16(big)));
        // A later write decides again, for the whole matrix.
        table.write('big', fits);
        expect([table.chunked('big').storage, table.chunked('big').f16Math]).toEqual(gpu.f16 ? ['f16', true] : ['bf16', false]);
        gpu.free(...[a, table.chunked('big')].flatMap((c) => c.blocks.map((blk) => blk.w)));
      }
    } finally {
      off.destroy();
    }
  });
});
