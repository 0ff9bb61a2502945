// GELU (tanh): GPU forward/backward vs the float64 CPU reference, and the CPU backward vs finite differences.
// Tolerances: f32 elementwise math, rtol 1e-5 / atol 1e-6 against float64.
import { describe, expect, it } from 'vitest';
import { geluBackward, geluBackwardCpu, geluForward, geluForwardCpu } from '../../src/ops/gelu';
import { dot, expectClose, finiteDiff, pick, probeCoords, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const TOL = { rtol: 1e-5, atol: 1e-6 };

describe('gelu', () => {
  for (const n of [1, 7, 256, 1000, 70_001]) {
    it(`forward and backward match the CPU reference (n=${n})`, async () => {
      const gpu = await testGpu();
      const x = randn(n, n, 4), dy = randn(n, n + 1);
      const inp = gpu.fromArray([n], x, 'x'), out = gpu.tensor([n], 'y');
      const dout = gpu.fromArray([n], dy, 'dy'), dinp = gpu.tensor([n], 'dx');
      geluForward(gpu, out, inp);
      geluBackward(gpu, dinp, dout, inp);
      expectClose(await gpu.read(out), geluForwardCpu(x), TOL, 'gelu.forward');
      expectClose(await gpu.read(dinp), geluBackwardCpu(dy, x), TOL, 'gelu.backward');
      gpu.release(inp, out, dout, dinp);
    });
  }

  it('backward equals central finite differences of forward', () => {
    const n = 64, x = randn(n, 3, 4), dy = randn(n, 4);
    const coords = probeCoords(n, 16);
    const fd = finiteDiff((xx) => dot(geluForwardCpu(xx), dy), x, coords);
    expectClose(pick(geluBackwardCpu(dy, x), coords), fd, { rtol: 1e-6, atol: 1e-8 }, 'gelu.fd');
  });

  it('stays finite for large inputs', async () => {
    const gpu = await testGpu();
    const x = new Float32Array([-100, -20, 20, 100]);
    const inp = gpu.fromArray([4], x, 'x'), out = gpu.tensor([4], 'y');
    geluForward(gpu, out, inp);
    const y = await gpu.read(out);
    expect(Array.from(y)).toEqual([-0, -0, 20, 100].map((v, i) => (i < 2 ? y[i] : v)));
    expect(Math.abs(y[0]) + Math.abs(y[1])).toBeLessThan(1e-6);
  });
});
