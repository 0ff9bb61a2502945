// SwiGLU: GPU forward/backward vs the float64 CPU reference (operands as disjoint views of one buffer, as a fused
// gate|up activation would be), finiteness at large |gate|, and the CPU backward vs central finite differences.
// Tolerances: f32 elementwise math with exp, rtol 1e-5 / atol 1e-6 against float64.
import { describe, expect, it } from 'vitest';
import { swigluBackward, swigluBackwardCpu, swigluForward, swigluForwardCpu } from '../../src/ops/swiglu';
import { dot, expectClose, finiteDiff, pick, probeCoords, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const TOL = { rtol: 1e-5, atol: 1e-6 };

describe('swiglu', () => {
  for (const n of [1, 7, 1000, 70_001]) {
    it(`forward and backward match the CPU reference (n=${n})`, async () => {
      const gpu = await testGpu();
      const g = randn(n, n, 6), u = randn(n, n + 1, 2), dy = randn(n, n + 2);
      const stride = Math.ceil(n / 64) * 64;
      const flat = gpu.zeros([5 * stride], 'mlp'); // gate | up | out | dgate | dup
      const [tg, tu, tout, tdg, tdu] = [0, 1, 2, 3, 4].map((k) => gpu.view(flat, k * stride, [n], `mlp[${k}]`));
      gpu.write(tg, g); gpu.write(tu, u);
      const dout = gpu.fromArray([n], dy, 'dout');
      swigluForward(gpu, tout, tg, tu, n);
      swigluBackward(gpu, tdg, tdu, dout, tg, tu, n);
      expectClose(await gpu.read(tout), swigluForwardCpu(g, u), TOL, 'swiglu.forward');
      const ref = swigluBackwardCpu(dy, g, u);
      expectClose(await gpu.read(tdg), ref.dgate, TOL, 'swiglu.dgate');
      expectClose(await gpu.read(tdu), ref.dup, TOL, 'swiglu.dup');
      expect(Array.from(await gpu.read(tg))).toEqual(Array.from(g)); // inputs untouched
      gpu.release(flat, dout);
    });
  }

  it('stays finite for large |gate|', async () => {
    const gpu = await testGpu();
    const g = new Float32Array([-200, -90, -30, 30, 90, 200]), u = new Float32Array([1, 2, 3, 4, 5, 6]);
    const tg = gpu.fromArray([6], g, 'g'), tu = gpu.fromArray([6], u, 'u'), out = gpu.tensor([6], 'y');
    const dout = gpu.fromArray([6], new Float32Array(6).fill(1), 'dy'), dg = gpu.tensor([6], 'dg'), du = gpu.tensor([6], 'du');
    swigluForward(gpu, out, tg, tu, 6);
    swigluBackward(gpu, dg, du, dout, tg, tu, 6);
    expectClose(await gpu.read(out), swigluForwardCpu(g, u), TOL, 'swiglu.forward large');
    const ref = swigluBackwardCpu(new Float32Array(6).fill(1), g, u);
    expectClose(await gpu.read(dg), ref.dgate, TOL, 'swiglu.dgate large');
    expectClose(await gpu.read(du), ref.dup, TOL, 'swiglu.dup large');
    gpu.release(tg, tu, out, dout, dg, du);
  });

  it('CPU backward equals central finite differences of the CPU forward', () => {
    const n = 64, g = randn(n, 3, 6), u = randn(n, 4, 2), dy = randn(n, 5);
    const coords = probeCoords(n, 16);
    const ref = swigluBackwardCpu(dy, g, u);
    const fdg = finiteDiff((gg) => dot(swigluForwardCpu(gg, u), dy), g, coords);
    const fdu = finiteDiff((uu) => dot(swigluForwardCpu(g, uu), dy), u, coords);
    expectClose(pick(ref.dgate, coords), fdg, { rtol: 1e-6, atol: 1e-8 }, 'swiglu.fd.dgate');
    expectClose(pick(ref.dup, coords), fdu, { rtol: 1e-6, atol: 1e-8 }, 'swiglu.fd.dup');
  });
});
