// Matmul: every kernel variant × transA/transB × bias × accumulate × extra (fused LoRA) on odd and aligned
// shapes, GPU vs the float64 CPU reference; views sharing one buffer; the CPU reference's training
// transposes vs central finite differences; the f16 kernels (below). Autotune: tests/gpu/autotune.test.ts.
// Tolerance: f32 sums of K terms. |gpu - cpu| <= RTOL · Σ|terms| + ATOL per element, where Σ|terms| is the
// same computation on absolute values (recursive f32 summation is within K·2^-24 of that scale, and
// K·2^-24 < 1e-5 for the K ≤ 129 used here).
import { afterAll, describe, expect, it } from 'vitest';
import { createGpu, type Gpu } from '../../src/gpu/runtime';
import {
  MATMUL_KERNELS, blockedSpec, matmul, matmulCpu, matmulKernels,
  matmulVariants, setBlockedBlock, setMatmulVariant, usesF16, type MatmulCpuOptions, type MatmulOptions,
} from '../../src/ops/matmul';
import { decodeWeights, encodeWeights } from '../../src/ops/weight-storage';
import { dot, expectClose, finiteDiff, pick, probeCoords, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const RTOL = 1e-5, ATOL = 1e-6;
// A test's first use of a kernel layout compiles its pipeline: about 1 s per tiled pipeline on SwiftShader.
const COMPILE_TIMEOUT = 60_000;

/** |actual - expected| <= RTOL·scale + ATOL elementwise (scale = Σ|terms|), worst element named on failure. */
function expectMatmulClose(actual: ArrayLike<number>, expected: ArrayLike<number>, scale: ArrayLike<number>, name: string): void {
  expect(actual.length, `${name}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= RTOL * scale[i] + ATOL)) {
      expect.fail(`${name}: element ${i} is ${actual[i]}, expected ${expected[i]} (|err| ${err}, allowed ${RTOL * scale[i] + ATOL})`);
    }
  }
}

const abs = (x: ArrayLike<number>) => Float64Array.from(x, Math.abs);

/** The CPU reference and its Σ|terms| scale. */
function reference(a: Float32Array, b: Float32Array, M: number, N: number, K: number, o: MatmulCpuOptions) {
  const expected = matmulCpu(a, b, M, N, K, o);
  const scale = matmulCpu(abs(a), abs(b), M, N, K, {
    ...o, alpha: Math.abs(o.alpha ?? 1), bias: o.bias && abs(o.bias), out: o.out && abs(o.out),
    extra: o.extra && { ...o.extra, a: abs(o.extra.a), b: abs(o.extra.b), alpha: Math.abs(o.extra.alpha) },
  });
  return { expected, scale };
}

// [M, N, K]: the odd shapes of the brief, M = 1 decoding, and shapes where every operand can load as vec4
// (K, M or N multiples of 4) so each of the blocked kernel's load forms runs.
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 37, 5], [33, 17, 65], [67, 129, 31], [1, 64, 48], [3, 8, 12], [12, 20, 36], [20, 17, 8], [5, 24, 1],
];

/** One case: every option on or off by the bits of `mask` (1 bias, 2 accumulate, 4 extra). */
async function runCase(gpu: Gpu, M: number, N: number, K: number, transA: boolean, transB: boolean, mask: number, seed: number) {
  const r = 3, alpha = mask & 1 ? 1 : -0.75;
  const a = randn(M * K, seed), b = randn(K * N, seed + 1);
  const bias = mask & 1 ? randn(N, seed + 2) : undefined;
  const old = mask & 2 ? randn(M * N, seed + 3) : undefined;
  const extra = mask & 4 ? { a: randn(M * r, seed + 4), b: randn(r * N, seed + 5), k: r, transB: ((seed >> 1) & 1) === 1, alpha: 0.5 } : undefined;

  const ta = gpu.fromArray([M * K], a, 'a'), tb = gpu.fromArray([K * N], b, 'b');
  const out = old ? gpu.fromArray([M * N], old, 'out') : gpu.fromArray([M * N], new Float32Array(M * N).fill(Number.NaN), 'out');
  const tbias = bias && gpu.fromArray([N], bias, 'bias');
  const tea = extra && gpu.fromArray([M * r], extra.a, 'extra.a'), teb = extra && gpu.fromArray([r * N], extra.b, 'extra.b');
  const opts: MatmulOptions = {
    transA, transB, alpha, bias: tbias, accumulate: !!old,
    extra: extra && { a: tea!, b: teb!, k: r, transB: extra.transB, alpha: extra.alpha },
  };
  matmul(gpu, out, ta, tb, M, N, K, opts);
  const got = await gpu.read(out);
  gpu.release(ta, tb, out, tbias, tea, teb);
  return { got, ...reference(a, b, M, N, K, { transA, transB, alpha, bias, out: old, accumulate: !!old, extra }) };
}

// Every variant this device runs: 'subgroup' where it has `subgroups` (subgroups of 4 on SwiftShader, 8 on lavapipe).
const VARIANTS = matmulVariants(await testGpu());

describe(`matmul (variants here: ${VARIANTS.join(', ')})`, () => {
  afterAll(async () => setMatmulVariant(await testGpu(), null));

  for (const variant of VARIANTS) {
    for (const [M, N, K] of SHAPES) {
      it(`${variant}: ${M}×${N}×${K}, every transA/transB × bias × accumulate × extra`, async () => {
        const gpu = await testGpu();
        setMatmulVariant(gpu, variant);
        let seed = M * 1000 + N * 10 + K;
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (let mask = 0; mask < 8; mask++) {
              const { got, expected, scale } = await runCase(gpu, M, N, K, transA, transB, mask, seed += 7);
              const name = `${variant} ${M}×${N}×${K} transA=${transA} transB=${transB} bias=${!!(mask & 1)} acc=${!!(mask & 2)} extra=${!!(mask & 4)}`;
              expectMatmulClose(got, expected, scale, name);
            }
          }
        }
      }, COMPILE_TIMEOUT);
    }

    it(`${variant}: views at offsets, inputs sharing the output's buffer`, async () => {
      const gpu = await testGpu();
      setMatmulVariant(gpu, variant);
      const M = 9, N = 12, K = 16, r = 2;
      // One table: [out | a | b | bias | extra.a | extra.b], each part at a multiple of 64 elements.
      const parts = [M * N, M * K, K * N, N, M * r, r * N];
      const offsets: number[] = [];
      let total = 0;
      for (const n of parts) { offsets.push(total); total += Math.ceil(n / 64) * 64; }
      const data = [randn(M * N, 1), randn(M * K, 2), randn(K * N, 3), randn(N, 4), randn(M * r, 5), randn(r * N, 6)];
      const table = gpu.zeros([total], 'table');
      data.forEach((d, i) => gpu.write(table, d, offsets[i]));
      const [out, a, b, bias, ea, eb] = parts.map((n, i) => gpu.view(table, offsets[i], [n], `part${i}`));
      for (const transB of [false, true]) {
        gpu.write(table, data[0], offsets[0]);
        const extra = { k: r, transB: false, alpha: 2 };
        matmul(gpu, out, a, b, M, N, K, { transB, bias, accumulate: true, extra: { ...extra, a: ea, b: eb } });
        const got = await gpu.read(out);
        const ref = reference(data[1], data[2], M, N, K, {
          transB, bias: data[3], out: data[0], accumulate: true, extra: { ...extra, a: data[4], b: data[5] },
        });
        expectMatmulClose(got, ref.expected, ref.scale, `${variant} views transB=${transB}`);
      }
      gpu.release(table);
    }, COMPILE_TIMEOUT);
  }

  it('blocked with 8×8 blocks (two column groups, two row quads): 20×17×12 and 16×24×12', async () => {
    const gpu = await testGpu();
    setMatmulVariant(gpu, 'blocked');
    setBlockedBlock(gpu, { rows: 8, cols: 8 });
    try {
      // One scalar layout (all odd) and one where a [K,M] and b [N,K] both load as vec4 (the 'col' forms).
      for (const [M, N, K, transA, transB] of [[20, 17, 12, false, false], [16, 24, 12, true, true]] as const) {
        for (const mask of [0, 7]) {
          const { got, expected, scale } = await runCase(gpu, M, N, K, transA, transB, mask, 100 + mask);
          expectMatmulClose(got, expected, scale, `blocked 8×8 ${M}×${N}×${K} transA=${transA} transB=${transB} mask=${mask}`);
        }
      }
    } finally {
      setBlockedBlock(gpu, null);
    }
  }, COMPILE_TIMEOUT);

  it('every blocked load form is exercised by SHAPES', () => {
    const forms = new Set<string>();
    for (const [M, N, K] of SHAPES) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const s = blockedSpec(M, N, K, transA, transB);
          forms.add(`A${+transA}${+s.vecA}`);
          forms.add(`B${+transB}${+s.vecB}`);
          forms.add(`O${+s.vecOut}`);
          forms.add(`R${s.rows}`);
        }
      }
    }
    for (const f of ['A00', 'A01', 'A10', 'A11', 'B00', 'B01', 'B10', 'B11', 'O0', 'O1', 'R1', 'R4']) expect(forms, f).toContain(f);
  });

  it('the kernel list names each variant in f32 and f16 with the features it needs; without them, only blocked and tiled', async () => {
    expect(MATMUL_KERNELS.map((k) => k.name)).toEqual(['blocked', 'blocked.f16', 'tiled', 'tiled.f16', 'subgroup', 'subgroup.f16']);
    const gpu = await testGpu();
    expect(matmulKernels(gpu).map((k) => k.name)).toEqual(MATMUL_KERNELS.filter((k) => (gpu.f16 || !k.f16) && (gpu.subgroups || k.variant !== 'subgroup')).map((k) => k.name));
    const off = await createGpu({ f16: false, subgroups: false });
    try {
      expect(matmulKernels(off).map((k) => k.name)).toEqual(['blocked', 'tiled']);
      expect(() => setMatmulVariant(off, 'subgroup')).toThrow(/subgroups feature/);
    } finally {
      off.destroy();
    }
  });

  it('rejects shapes that do not fit the tensors', async () => {
    const gpu = await testGpu();
    const a = gpu.tensor([6], 'a'), b = gpu.tensor([6], 'b'), out = gpu.tensor([4], 'out');
    expect(() => matmul(gpu, out, a, b, 2, 2, 3)).not.toThrow();
    expect(() => matmul(gpu, out, a, b, 2, 3, 3)).toThrow(/out/);
    expect(() => matmul(gpu, out, a, b, 2, 2, 0)).toThrow(/K/);
    gpu.release(a, b, out);
  });
});

describe('matmul CPU reference: the training transposes are the gradients of y = x W^T (+ LoRA)', () => {
  // L = Σ y ⊙ dy with y = x W^T + s (x A^T) B^T, x [T,I], W [O,I], A [r,I], B [O,r]:
  //   dx = dy W + s (dy B) A,  dW = dy^T x,  dB = s dy^T u (u = x A^T),  dA = s (dy B)^T x.
  const T = 5, I = 7, O = 6, r = 3, s = 1.5;
  const x = randn(T * I, 11), W = randn(O * I, 12), A = randn(r * I, 13), B = randn(O * r, 14), dy = randn(T * O, 15);
  const forward = (xx: ArrayLike<number>, WW: ArrayLike<number>, AA: ArrayLike<number>, BB: ArrayLike<number>) => {
    const u = matmulCpu(xx, AA, T, r, I, { transB: true });
    return matmulCpu(xx, WW, T, O, I, { transB: true, extra: { a: u, b: BB, k: r, transB: true, alpha: s } });
  };
  const u = matmulCpu(x, A, T, r, I, { transB: true });
  const g = matmulCpu(dy, B, T, r, O);
  const FD_TOL = { rtol: 1e-6, atol: 1e-8 };
  const check = (name: string, grad: Float64Array, f: (v: Float64Array) => number, at: ArrayLike<number>) => {
    const coords = probeCoords(at.length, 12);
    expectClose(pick(grad, coords), finiteDiff(f, at, coords), FD_TOL, name);
  };

  it('dx = dy W + s (dy B) A', () => {
    const dx = matmulCpu(dy, W, T, I, O, { extra: { a: g, b: A, k: r, transB: false, alpha: s } });
    check('dx', dx, (v) => dot(forward(v, W, A, B), dy), x);
  });
  it('dW = dy^T x', () => {
    const dW = matmulCpu(dy, x, O, I, T, { transA: true });
    check('dW', dW, (v) => dot(forward(x, v, A, B), dy), W);
  });
  it('dB = s dy^T u and dA = s (dy B)^T x', () => {
    check('dB', matmulCpu(dy, u, O, r, T, { transA: true, alpha: s }), (v) => dot(forward(x, W, A, v), dy), B);
    check('dA', matmulCpu(g, x, r, I, T, { transA: true, alpha: s }), (v) => dot(forward(x, W, v, B), dy), A);
  });
});

// The f16 kernels (shader-f16: an 'f16' b, op(a) rounded to f16 after its row is scaled by a power of two, f16
// products, f32 sums) against the float64 product of the same decoded weights. Error model per output element:
// op(a)'s rounding and each product's rounding, at most 2^-10 relative each (WGSL lets f32 -> f16 round either
// way), so |gpu - cpu| <= 2^-9 · Σ_k |a_k b_k| + 1e-5 · Σ|terms| (f32 sums, the fused LoRA term) + a floor for f16's
// flushed subnormal products: K · 2^-18 · max_k |a_mk| (products below 2^-14 of a row scaled into [32, 64)).
describe(`matmul f16 kernels (this adapter: ${(await testGpu()).f16 ? 'shader-f16, the f16 path runs' : 'no shader-f16, skipped here; lavapipe runs them'})`, async () => {
  const gpu = await testGpu();
  afterAll(() => setMatmulVariant(gpu, null));
  const F16_RTOL = 2 ** -9;

  /** One f16-weight case; rowScales multiplies op(a)'s rows (activations past f16's range, gradients below it). */
  async function f16Case(M: number, N: number, K: number, transA: boolean, transB: boolean, mask: number, seed: number, rowScales?: number[]) {
    const r = 3;
    const a = randn(M * K, seed);
    if (rowScales) for (let i = 0; i < a.length; i++) a[i] *= rowScales[transA ? i % M : Math.floor(i / K)];
    const words = encodeWeights('f16', randn(K * N, seed + 1, 0.5));
    const b = decodeWeights('f16', words, K * N);
    const bias = mask & 1 ? randn(N, seed + 2) : undefined;
    const old = mask & 2 ? randn(M * N, seed + 3) : undefined;
    const extra = mask & 4 ? { a: randn(M * r, seed + 4), b: randn(r * N, seed + 5), k: r, transB: true, alpha: 0.5 } : undefined;
    const ta = gpu.fromArray([M * K], a, 'a'), tb = gpu.fromU32([words.length], words, 'b');
    const out = gpu.fromArray([M * N], old ?? new Float32Array(M * N).fill(Number.NaN), 'out');
    const tbias = bias && gpu.fromArray([N], bias, 'bias');
    const tea = extra && gpu.fromArray([M * r], extra.a, 'extra.a'), teb = extra && gpu.fromArray([r * N], extra.b, 'extra.b');
    const alpha = mask & 1 ? 1 : -0.75;
    matmul(gpu, out, ta, tb, M, N, K, {
      transA, transB, alpha, bias: tbias, accumulate: !!old, bStorage: 'f16',
      extra: extra && { a: tea!, b: teb!, k: r, transB: true, alpha: extra.alpha },
    });
    const got = await gpu.read(out);
    gpu.release(ta, tb, out, tbias, tea, teb);
    const o: MatmulCpuOptions = { transA, transB, alpha, bias, out: old, accumulate: !!old, extra };
    const { expected, scale } = reference(a, b, M, N, K, o);
    const products = matmulCpu(abs(a), abs(b), M, N, K, { transA, transB, alpha: Math.abs(alpha) });   // Σ|a_k b_k|
    const rowMax = Array.from({ length: M }, (_, m) => Math.max(...Array.from({ length: K }, (_, k) => Math.abs(a[transA ? k * M + m : m * K + k]))));
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      const m = Math.floor(i / N);
      const allowed = F16_RTOL * products[i] + RTOL * scale[i] + K * 2 ** -18 * rowMax[m] * Math.abs(alpha) + ATOL;
      const err = Math.abs(got[i] - expected[i]);
      if (!(err <= allowed)) expect.fail(`f16 ${M}×${N}×${K} transA=${transA} transB=${transB} mask=${mask}: element ${i} is ${got[i]}, expected ${expected[i]} (|err| ${err}, allowed ${allowed})`);
      if (products[i] > 0) worst = Math.max(worst, err / products[i]);
    }
    return worst;
  }

  for (const variant of VARIANTS) {
    it.runIf(gpu.f16)(`${variant}.f16: odd and aligned shapes × transA/transB × bias, accumulate, extra`, async () => {
      setMatmulVariant(gpu, variant);
      let worst = 0, seed = 1;
      // Decoding (M = 1), scalar loads (odd sizes), every operand as vec4, and the 'col' forms (a [K,M], b [N,K]).
      for (const [M, N, K] of [[1, 37, 70], [33, 17, 65], [12, 64, 96], [16, 24, 12]] as const) {
        for (const transA of [false, true]) {
          for (const transB of [true, false]) {
            for (const mask of [0, 7]) worst = Math.max(worst, await f16Case(M, N, K, transA, transB, mask, seed += 7));
          }
        }
      }
      // The f16 path ran: f16 rounding shows (an f32 kernel stays within ~1e-6 of these sums).
      expect(worst).toBeGreaterThan(2 ** -16);
      console.log(`matmul ${variant}.f16 on ${gpu.adapterInfo.description}: worst |err| / Σ|a_k b_k| = ${worst.toExponential(2)} (allowed ${F16_RTOL.toExponential(2)})`);
    }, 4 * COMPILE_TIMEOUT);   // a blocked layout is its own pipeline: 16 of them, seconds each on lavapipe cold

    it.runIf(gpu.f16)(`${variant}.f16: rows far outside f16's range (1e6, 1e-7), zero rows, and Inf propagate as in f32`, async () => {
      setMatmulVariant(gpu, variant);
      const M = 8, N = 12, K = 20;
      await f16Case(M, N, K, false, true, 0, 99, [1e6, 1e-7, 0, 3e-30, 1, 7e4, 2 ** -20, 1]);
      await f16Case(M, N, K, false, false, 2, 98, [1e-7, 1e6, 1, 0, 5e4, 1, 1e-12, 1]);
      const a = randn(M * K, 5);
      a[3 * K + 2] = Infinity;
      const words = encodeWeights('f16', randn(K * N, 6, 0.5));
      const ta = gpu.fromArray([M * K], a, 'a'), tb = gpu.fromU32([words.length], words, 'b'), out = gpu.tensor([M * N], 'out');
      matmul(gpu, out, ta, tb, M, N, K, { transB: true, bStorage: 'f16' });
      const got = await gpu.read(out);
      gpu.release(ta, tb, out);
      for (let n = 0; n < N; n++) expect(Number.isFinite(got[3 * N + n]), `row with Inf, column ${n}`).toBe(false);
      for (const m of [0, 7]) for (let n = 0; n < N; n++) expect(Number.isFinite(got[m * N + n]), `row ${m}`).toBe(true);
    }, COMPILE_TIMEOUT);
  }

  it(`an f16 b takes the f16 kernels exactly when the device has shader-f16 (here: ${gpu.f16}) and f16Math is not refused`, async () => {
    expect(usesF16(gpu, { bStorage: 'f16' })).toBe(gpu.f16);
    expect(usesF16(gpu, { bStorage: 'f16', f16Math: false })).toBe(false);
    expect(usesF16(gpu, { bStorage: 'bf16' })).toBe(false);
    const off = await createGpu({ f16: false });
    expect([off.f16, usesF16(off, { bStorage: 'f16' })]).toEqual([false, false]);
    off.destroy();
  });
});
