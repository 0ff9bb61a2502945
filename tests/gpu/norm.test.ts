// RMSNorm and LayerNorm: GPU forward/backward vs the float64 CPU reference on odd shapes, with every tensor a
// view into shared flat tables (as the model lays them out); dinp overwrite vs accumulate; dweight/dbias
// accumulate, null (frozen) weights, bit-for-bit determinism; RMSNorm's weight offset (Gemma's x·(1 + w)); and the
// CPU backward vs central finite differences.
// Every row-reduction variant runs here ('thread' on every shape, 'workgroup' on a few: its pipelines compile
// slowly on SwiftShader; 'subgroup' on those and C = 2048 where the device has `subgroups`: subgroups of 4 on
// SwiftShader, 8 on lavapipe), whatever the adapter would pick; without the feature, 'subgroup' is refused.
// Tolerances (f32 kernels vs float64, inputs in [-1, 1) plus an offset, weights around 1):
//   forward out / rstd / mean: rtol 1e-5, atol 2e-6   (measured worst |err| 3.2e-6 at C = 2048, |out| ~ 3)
//   dinp: rtol 1e-5, atol 5e-6                        (measured 1.0e-6)
//   dweight / dbias: rtol 1e-5, atol 2e-5             (sums over up to 129 rows; measured 6.5e-6)
import { describe, expect, it } from 'vitest';
import { createGpu, type Gpu, type Tensor } from '../../src/gpu/runtime';
import { addCpu } from '../../src/ops/elementwise';
import {
  layernormBackward, layernormBackwardCpu, layernormForward, layernormForwardCpu, normConfig, type RowReduction,
  rmsnormBackward, rmsnormBackwardCpu, rmsnormForward, rmsnormForwardCpu, rowReduction,
} from '../../src/ops/norm';
import { dot, expectClose, finiteDiff, pick, probeCoords, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const FWD_TOL = { rtol: 1e-5, atol: 2e-6 };
const DX_TOL = { rtol: 1e-5, atol: 5e-6 };
const DW_TOL = { rtol: 1e-5, atol: 2e-5 };
const EPS = 1e-5;
const SHAPES: [number, number][] = [[1, 1], [1, 3], [7, 67], [129, 67], [33, 1000], [2, 2048]];
const subgroups = (await testGpu()).subgroups;
const CASES: [RowReduction, number, number][] = [
  ...SHAPES.map(([N, C]): [RowReduction, number, number] => ['thread', N, C]),
  ['workgroup', 1, 3], ['workgroup', 129, 67], ['workgroup', 3, 1000],
  ...(subgroups ? [[1, 3], [129, 67], [3, 1000], [2, 2048]].map(([N, C]): [RowReduction, number, number] => ['subgroup', N, C]) : []),
];
const VARIANTS: RowReduction[] = subgroups ? ['thread', 'workgroup', 'subgroup'] : ['thread', 'workgroup'];

/** Runs f with the given row-reduction variant forced. */
async function withVariant(variant: RowReduction, f: () => Promise<void>): Promise<void> {
  normConfig.rowReduction = variant;
  try {
    await f();
  } finally {
    normConfig.rowReduction = 'auto';
  }
}

/** Views of the given shapes packed at 64-aligned offsets (after a 64-element gap) in one flat buffer. */
function table(gpu: Gpu, label: string, sizes: Record<string, number>): { flat: Tensor; v: Record<string, Tensor> } {
  const align = (n: number) => Math.ceil(n / 64) * 64;
  let total = 64;
  for (const n of Object.values(sizes)) total += align(n);
  const flat = gpu.zeros([total], label);
  const v: Record<string, Tensor> = {};
  let at = 64;
  for (const [name, n] of Object.entries(sizes)) {
    v[name] = gpu.view(flat, at, [n], `${label}.${name}`);
    at += align(n);
  }
  return { flat, v };
}

const offset = (x: Float32Array, d: number) => Float32Array.from(x, (u) => u + d);
const weights = (C: number, seed: number) => offset(randn(C, seed, 0.5), 1);

describe('rmsnorm', () => {
  for (const [variant, N, C] of CASES) {
    it(`forward and backward match the CPU reference (${variant}, N=${N}, C=${C})`, () => withVariant(variant, async () => {
      const gpu = await testGpu();
      const x = offset(randn(N * C, N * 7 + C, 2), 0.3), w = weights(C, C), dy = randn(N * C, N + 3 * C);
      const dx0 = randn(N * C, 5), dw0 = randn(C, 6);
      const acts = table(gpu, 'acts', { x: N * C, y: N * C, rstd: N, dy: N * C, dx: N * C });
      const params = table(gpu, 'params', { w: C }), grads = table(gpu, 'grads', { dw: C });
      const { v } = acts;
      gpu.write(v.x, x); gpu.write(v.dy, dy); gpu.write(params.v.w, w); gpu.write(grads.v.dw, dw0);

      rmsnormForward(gpu, v.y, v.rstd, v.x, params.v.w, N, C, EPS);
      const ref = rmsnormForwardCpu(x, w, N, C, EPS);
      expectClose(await gpu.read(v.y), ref.out, FWD_TOL, 'rmsnorm.out');
      expectClose(await gpu.read(v.rstd), ref.rstd, FWD_TOL, 'rmsnorm.rstd');

      const g = rmsnormBackwardCpu(dy, x, w, ref.rstd, N, C);
      rmsnormBackward(gpu, v.dx, grads.v.dw, v.dy, v.x, params.v.w, v.rstd, N, C);
      const dx = await gpu.read(v.dx), dw = await gpu.read(grads.v.dw);
      expectClose(dx, g.dinp, DX_TOL, 'rmsnorm.dinp');
      expectClose(dw, addCpu(dw0, g.dweight), DW_TOL, 'rmsnorm.dweight (accumulated)');

      // accumulate: dinp += dx; dweight null is skipped (frozen).
      gpu.write(v.dx, dx0);
      rmsnormBackward(gpu, v.dx, null, v.dy, v.x, params.v.w, v.rstd, N, C, { accumulate: true });
      expectClose(await gpu.read(v.dx), addCpu(dx0, g.dinp), DX_TOL, 'rmsnorm.dinp (accumulate)');
      expect(Array.from(await gpu.read(grads.v.dw))).toEqual(Array.from(dw));

      // Deterministic: the same call from the same state gives the same bits.
      gpu.write(grads.v.dw, dw0);
      rmsnormBackward(gpu, v.dx, grads.v.dw, v.dy, v.x, params.v.w, v.rstd, N, C);
      expect(Array.from(await gpu.read(v.dx))).toEqual(Array.from(dx));
      expect(Array.from(await gpu.read(grads.v.dw))).toEqual(Array.from(dw));
      // Nothing was written before the first view.
      expect((await gpu.read(acts.flat, 64)).every((u) => u === 0)).toBe(true);
      gpu.release(acts.flat, params.flat, grads.flat);
    }));
  }

  // Gemma's x·(1 + w): weights stored as offsets from one (around 0), on both row variants; the rows are heads
  // (C = head_dim) as the q/k norms run it.
  for (const variant of VARIANTS) {
    it(`weight offset 1 (Gemma) matches the CPU reference (${variant})`, () => withVariant(variant, async () => {
      const gpu = await testGpu();
      const N = 37, C = 16;
      const x = offset(randn(N * C, 41, 2), 0.3), w = randn(C, 42, 0.3), dy = randn(N * C, 43);
      const [tx, tw, tdy] = [gpu.fromArray([N, C], x, 'x'), gpu.fromArray([C], w, 'w'), gpu.fromArray([N, C], dy, 'dy')];
      const [y, rstd, dx, dw] = [gpu.tensor([N, C], 'y'), gpu.tensor([N], 'rstd'), gpu.tensor([N, C], 'dx'), gpu.zeros([C], 'dw')];
      rmsnormForward(gpu, y, rstd, tx, tw, N, C, EPS, 1);
      rmsnormBackward(gpu, dx, dw, tdy, tx, tw, rstd, N, C, { offset: 1 });
      const ref = rmsnormForwardCpu(x, w, N, C, EPS, 1), g = rmsnormBackwardCpu(dy, x, w, ref.rstd, N, C, 1);
      expectClose(await gpu.read(y), ref.out, FWD_TOL, 'rmsnorm+1.out');
      expectClose(await gpu.read(dx), g.dinp, DX_TOL, 'rmsnorm+1.dinp');
      expectClose(await gpu.read(dw), g.dweight, DW_TOL, 'rmsnorm+1.dweight');
      // and it is not the plain norm's answer
      expect(Math.abs(ref.out[0] - rmsnormForwardCpu(x, w, N, C, EPS).out[0])).toBeGreaterThan(1e-3);
      gpu.release(tx, tw, tdy, y, rstd, dx, dw);
    }));
  }

  it(`the subgroup variant needs the feature: refused on a device without it (this adapter has it: ${subgroups})`, async () => {
    const off = await createGpu({ subgroups: false });
    try {
      expect(off.subgroups).toBe(false);
      expect(rowReduction(off)).not.toBe('subgroup');
      await withVariant('subgroup', async () => expect(() => rowReduction(off)).toThrow(/subgroups feature/));
    } finally {
      off.destroy();
    }
  });

  it('CPU backward equals central finite differences of the CPU forward (offset 0 and 1)', () => {
    const N = 3, C = 5, x = offset(randn(N * C, 1, 2), 0.3), w = weights(C, 2), dy = randn(N * C, 3);
    for (const off of [0, 1]) {
      const { rstd } = rmsnormForwardCpu(x, w, N, C, EPS, off);
      const g = rmsnormBackwardCpu(dy, x, w, rstd, N, C, off);
      const cx = probeCoords(N * C, 10), cw = probeCoords(C, 5);
      const fdx = finiteDiff((xx) => dot(rmsnormForwardCpu(xx, w, N, C, EPS, off).out, dy), x, cx);
      const fdw = finiteDiff((ww) => dot(rmsnormForwardCpu(x, ww, N, C, EPS, off).out, dy), w, cw);
      expectClose(pick(g.dinp, cx), fdx, { rtol: 1e-6, atol: 1e-8 }, `rmsnorm.fd.dinp offset ${off}`);
      expectClose(pick(g.dweight, cw), fdw, { rtol: 1e-6, atol: 1e-8 }, `rmsnorm.fd.dweight offset ${off}`);
    }
  });

});

describe('layernorm', () => {
  for (const [variant, N, C] of CASES) {
    it(`forward and backward match the CPU reference (${variant}, N=${N}, C=${C})`, () => withVariant(variant, async () => {
      const gpu = await testGpu();
      const x = offset(randn(N * C, N * 5 + C, 2), 0.7), w = weights(C, C + 1), b = randn(C, C + 2, 0.5);
      const dy = randn(N * C, N + 5 * C), dx0 = randn(N * C, 8), dw0 = randn(C, 9), db0 = randn(C, 10);
      const acts = table(gpu, 'acts', { x: N * C, y: N * C, mean: N, rstd: N, dy: N * C, dx: N * C });
      const params = table(gpu, 'params', { w: C, b: C }), grads = table(gpu, 'grads', { dw: C, db: C });
      const { v } = acts, P = params.v, G = grads.v;
      gpu.write(v.x, x); gpu.write(v.dy, dy); gpu.write(P.w, w); gpu.write(P.b, b); gpu.write(G.dw, dw0); gpu.write(G.db, db0);

      layernormForward(gpu, v.y, v.mean, v.rstd, v.x, P.w, P.b, N, C, EPS);
      const ref = layernormForwardCpu(x, w, b, N, C, EPS);
      expectClose(await gpu.read(v.y), ref.out, FWD_TOL, 'layernorm.out');
      expectClose(await gpu.read(v.mean), ref.mean, FWD_TOL, 'layernorm.mean');
      expectClose(await gpu.read(v.rstd), ref.rstd, FWD_TOL, 'layernorm.rstd');

      const g = layernormBackwardCpu(dy, x, w, ref.mean, ref.rstd, N, C);
      layernormBackward(gpu, v.dx, G.dw, G.db, v.dy, v.x, P.w, v.mean, v.rstd, N, C);
      const dx = await gpu.read(v.dx), dw = await gpu.read(G.dw), db = await gpu.read(G.db);
      expectClose(dx, g.dinp, DX_TOL, 'layernorm.dinp');
      expectClose(dw, addCpu(dw0, g.dweight), DW_TOL, 'layernorm.dweight (accumulated)');
      expectClose(db, addCpu(db0, g.dbias), DW_TOL, 'layernorm.dbias (accumulated)');

      // accumulate into dinp; frozen weight and bias (null) are left alone.
      gpu.write(v.dx, dx0);
      layernormBackward(gpu, v.dx, null, null, v.dy, v.x, P.w, v.mean, v.rstd, N, C, { accumulate: true });
      expectClose(await gpu.read(v.dx), addCpu(dx0, g.dinp), DX_TOL, 'layernorm.dinp (accumulate)');
      expect(Array.from(await gpu.read(G.dw))).toEqual(Array.from(dw));
      expect(Array.from(await gpu.read(G.db))).toEqual(Array.from(db));

      // Only the bias trainable: dweight null, dbias accumulates again.
      layernormBackward(gpu, v.dx, null, G.db, v.dy, v.x, P.w, v.mean, v.rstd, N, C);
      expectClose(await gpu.read(G.db), addCpu(db, g.dbias), DW_TOL, 'layernorm.dbias (second accumulation)');
      expect(Array.from(await gpu.read(v.dx))).toEqual(Array.from(dx));
      gpu.release(acts.flat, params.flat, grads.flat);
    }));
  }

  it('CPU backward equals central finite differences of the CPU forward', () => {
    const N = 3, C = 5, x = offset(randn(N * C, 11, 2), 0.7), w = weights(C, 12), b = randn(C, 13), dy = randn(N * C, 14);
    const { mean, rstd } = layernormForwardCpu(x, w, b, N, C, EPS);
    const g = layernormBackwardCpu(dy, x, w, mean, rstd, N, C);
    const cx = probeCoords(N * C, 10), cw = probeCoords(C, 5);
    const fdx = finiteDiff((xx) => dot(layernormForwardCpu(xx, w, b, N, C, EPS).out, dy), x, cx);
    const fdw = finiteDiff((ww) => dot(layernormForwardCpu(x, ww, b, N, C, EPS).out, dy), w, cw);
    const fdb = finiteDiff((bb) => dot(layernormForwardCpu(x, w, bb, N, C, EPS).out, dy), b, cw);
    expectClose(pick(g.dinp, cx), fdx, { rtol: 1e-6, atol: 1e-8 }, 'layernorm.fd.dinp');
    expectClose(pick(g.dweight, cw), fdw, { rtol: 1e-6, atol: 1e-8 }, 'layernorm.fd.dweight');
    expectClose(pick(g.dbias, cw), fdb, { rtol: 1e-6, atol: 1e-8 }, 'layernorm.fd.dbias');
  });
});
