// Elementwise ops: GPU vs the float64 CPU reference, on views of one flat buffer (as the model passes them),
// plus sumRows' determinism and dropout's mask (exact against the CPU hash) and keep statistics.
// Tolerances: single f32 ops rtol 1e-6 / atol 1e-7; column sums of up to 129 values in [-1, 1) atol 1e-5.
import { describe, expect, it } from 'vitest';
import {
  add, addCpu, addInPlace, addInPlaceCpu, dropoutBackward, dropoutForward, dropoutForwardCpu, dropoutMaskCpu,
  scale, scaleCpu, sumRows, sumRowsCpu,
} from '../../src/ops/elementwise';
import type { Gpu, Tensor } from '../../src/gpu/runtime';
import { dot, expectClose, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const TOL = { rtol: 1e-6, atol: 1e-7 };
const SUM_TOL = { rtol: 1e-5, atol: 1e-5 };

/** k views of n elements each, at 64-aligned offsets in one buffer (disjoint), filled with `data[i]`. */
function viewsOfOne(gpu: Gpu, n: number, data: Float32Array[], label: string): { flat: Tensor; views: Tensor[] } {
  const stride = Math.ceil(n / 64) * 64 + 64;
  const flat = gpu.zeros([stride * data.length + 64], label);
  const views = data.map((d, k) => {
    const v = gpu.view(flat, 64 + k * stride, [n], `${label}[${k}]`);
    gpu.write(v, d);
    return v;
  });
  return { flat, views };
}

describe('add / addInPlace / scale', () => {
  for (const n of [1, 67, 1000, 70_001]) {
    it(`match the CPU reference on views of one buffer (n=${n})`, async () => {
      const gpu = await testGpu();
      const a = randn(n, n, 2), b = randn(n, n + 1, 2), c = randn(n, n + 2, 2);
      const { flat, views: [va, vb, vc, vout] } = viewsOfOne(gpu, n, [a, b, c, new Float32Array(n)], 'ew');
      add(gpu, vout, va, vb, n);
      expectClose(await gpu.read(vout), addCpu(a, b), TOL, 'add');
      addInPlace(gpu, vc, va, n);
      expectClose(await gpu.read(vc), addInPlaceCpu(c, a), TOL, 'addInPlace(alpha=1)');
      addInPlace(gpu, vc, vb, n, -0.375);
      expectClose(await gpu.read(vc), addInPlaceCpu(addInPlaceCpu(c, a), b, -0.375), TOL, 'addInPlace(alpha=-0.375)');
      scale(gpu, va, 0.1, n);
      expectClose(await gpu.read(va), scaleCpu(a, 0.1), TOL, 'scale');
      // Nothing outside the views was written.
      const all = await gpu.read(flat);
      expect(all.subarray(0, 64).every((v) => v === 0)).toBe(true);
      gpu.release(flat);
    });
  }

  it('touch only the first n elements of a larger tensor', async () => {
    const gpu = await testGpu();
    const a = randn(100, 1), out = gpu.fromArray([100], new Float32Array(100).fill(7), 'out');
    const ta = gpu.fromArray([100], a, 'a'), tb = gpu.fromArray([100], a, 'b');
    add(gpu, out, ta, tb, 37);
    const y = await gpu.read(out);
    expectClose(y.subarray(0, 37), addCpu(a.subarray(0, 37), a.subarray(0, 37)), TOL, 'add head');
    expect(Array.from(y.subarray(37))).toEqual(new Array(63).fill(7));
    gpu.release(out, ta, tb);
  });
});

describe('sumRows', () => {
  const shapes: [number, number][] = [[1, 1], [1, 67], [3, 1], [129, 3], [129, 67], [33, 1000], [70, 5]];
  for (const [M, N] of shapes) {
    it(`matches the CPU column sums, overwrite and accumulate (M=${M}, N=${N})`, async () => {
      const gpu = await testGpu();
      const x = randn(M * N, M * 31 + N), init = randn(N, N + 5);
      const inp = gpu.fromArray([M, N], x, 'inp'), out = gpu.fromArray([N], init, 'out');
      sumRows(gpu, out, inp, M, N, false);
      const first = await gpu.read(out);
      expectClose(first, sumRowsCpu(x, M, N), SUM_TOL, 'sumRows');
      sumRows(gpu, out, inp, M, N, true);
      expectClose(await gpu.read(out), addCpu(first, sumRowsCpu(x, M, N)), SUM_TOL, 'sumRows accumulate');
      gpu.write(out, init);
      sumRows(gpu, out, inp, M, N, true);
      expectClose(await gpu.read(out), addCpu(init, sumRowsCpu(x, M, N)), SUM_TOL, 'sumRows accumulate onto init');
      // Deterministic: the same inputs give the same bits.
      sumRows(gpu, out, inp, M, N, false);
      expect(Array.from(await gpu.read(out))).toEqual(Array.from(first));
      gpu.release(inp, out);
    });
  }
});

describe('dropout', () => {
  it('p = 0 is the identity, p = 1 gives zeros', async () => {
    const gpu = await testGpu();
    const n = 1000, x = randn(n, 11);
    const inp = gpu.fromArray([n], x, 'x'), out = gpu.tensor([n], 'y');
    dropoutForward(gpu, out, inp, n, 0, 123);
    expect(Array.from(await gpu.read(out))).toEqual(Array.from(x));
    dropoutForward(gpu, out, inp, n, 1, 123);
    expect((await gpu.read(out)).every((v) => v === 0)).toBe(true);
    gpu.release(inp, out);
  });

  for (const [n, p, seed] of [[1, 0.5, 0], [67, 0.1, 1], [70_001, 0.05, 0xdeadbeef], [4096, 0.5, 42]] as const) {
    it(`mask equals the CPU hash, backward uses it too (n=${n}, p=${p}, seed=${seed})`, async () => {
      const gpu = await testGpu();
      const x = randn(n, n + 3), dy = randn(n, n + 4);
      const inp = gpu.fromArray([n], x, 'x'), out = gpu.tensor([n], 'y');
      const dout = gpu.fromArray([n], dy, 'dy'), dinp = gpu.tensor([n], 'dx');
      dropoutForward(gpu, out, inp, n, p, seed);
      dropoutBackward(gpu, dinp, dout, n, p, seed);
      const y = await gpu.read(out), dx = await gpu.read(dinp);
      const mask = dropoutMaskCpu(n, p, seed);
      for (let i = 0; i < n; i++) {
        if ((y[i] !== 0) !== (mask[i] === 1) || (dx[i] !== 0) !== (mask[i] === 1)) {
          expect.fail(`element ${i}: mask ${mask[i]}, forward ${y[i]}, backward ${dx[i]}`);
        }
      }
      expectClose(y, dropoutForwardCpu(x, p, seed), TOL, 'dropout.forward');
      expectClose(dx, dropoutForwardCpu(dy, p, seed), TOL, 'dropout.backward');
      // Backward is the adjoint of forward: <D x, dy> = <x, D^T dy>.
      expect(dot(y, dy)).toBeCloseTo(dot(x, dx), 3);
      // Same seed, same mask: a second run gives the same bits.
      dropoutForward(gpu, out, inp, n, p, seed);
      expect(Array.from(await gpu.read(out))).toEqual(Array.from(y));
      gpu.release(inp, out, dout, dinp);
    });
  }

  it('keeps 1 - p of the elements within 5 sigma, and seeds give different masks', () => {
    const n = 100_000;
    for (const p of [0.05, 0.1, 0.5]) {
      for (const seed of [0, 1, 2, 12345]) {
        const kept = dropoutMaskCpu(n, p, seed).reduce((s, m) => s + m, 0) / n;
        const sigma = Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(kept - (1 - p)), `p=${p} seed=${seed} kept ${kept}`).toBeLessThan(5 * sigma);
      }
    }
    // Two seeds at p = 0.5 agree on about half the elements (independent masks), not all of them.
    const a = dropoutMaskCpu(n, 0.5, 7), b = dropoutMaskCpu(n, 0.5, 8);
    let agree = 0;
    for (let i = 0; i < n; i++) agree += a[i] === b[i] ? 1 : 0;
    expect(Math.abs(agree / n - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / n));
    // Neighbouring elements are not correlated: P(m_i = m_{i+1}) is about 1/2 too.
    let same = 0;
    for (let i = 0; i + 1 < n; i++) same += a[i] === a[i + 1] ? 1 : 0;
    expect(Math.abs(same / (n - 1) - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / n));
  });
});
