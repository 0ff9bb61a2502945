// Gated linear units, SwiGLU and GeGLU: GPU forward/backward vs the float64 CPU reference (operands as disjoint views
// of one buffer, as a fused gate|up activation would be), finiteness at large |gate|, and the CPU backward vs
// central finite differences.
// Tolerances: f32 elementwise math with exp, rtol 1e-5 / atol 1e-6 against float64; GeGLU's dgate atol 4e-6: at
// |gate| > 4 its f32 (1 - tanh²) cancels (measured worst 1.9e-6 with gates ~ N(0, 6²)), as in torch's own f32 GELU.
import { describe, expect, it } from 'vitest';
import { gluBackward, gluBackwardCpu, gluForward, gluForwardCpu, type GluActivation } from '../../src/ops/glu';
import { dot, expectClose, finiteDiff, pick, probeCoords, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const TOL = { rtol: 1e-5, atol: 1e-6 };
const DGATE_TOL: Record<GluActivation, typeof TOL> = { silu: TOL, gelu_tanh: { rtol: 1e-5, atol: 4e-6 } };

const ACTS: GluActivation[] = ['silu', 'gelu_tanh'];

for (const act of ACTS) describe(`glu ${act}`, () => {
  for (const n of [1, 7, 1000, 70_001]) {
    it(`forward and backward match the CPU reference (n=${n})`, async () => {
      const gpu = await testGpu();
      const g = randn(n, n, 6), u = randn(n, n + 1, 2), dy = randn(n, n + 2);
      const stride = Math.ceil(n / 64) * 64;
      const flat = gpu.zeros([5 * stride], 'mlp'); // gate | up | out | dgate | dup
      const [tg, tu, tout, tdg, tdu] = [0, 1, 2, 3, 4].map((k) => gpu.view(flat, k * stride, [n], `mlp[${k}]`));
      gpu.write(tg, g); gpu.write(tu, u);
      const dout = gpu.fromArray([n], dy, 'dout');
      gluForward(gpu, tout, tg, tu, n, act);
      gluBackward(gpu, tdg, tdu, dout, tg, tu, n, act);
      expectClose(await gpu.read(tout), gluForwardCpu(g, u, act), TOL, 'glu.forward');
      const ref = gluBackwardCpu(dy, g, u, act);
      expectClose(await gpu.read(tdg), ref.dgate, DGATE_TOL[act], 'glu.dgate');
      expectClose(await gpu.read(tdu), ref.dup, TOL, 'glu.dup');
      expect(Array.from(await gpu.read(tg))).toEqual(Array.from(g)); // inputs untouched
      gpu.release(flat, dout);
    });
  }

  it('stays finite for large |gate|', async () => {
    const gpu = await testGpu();
    const g = new Float32Array([-200, -90, -30, 30, 90, 200]), u = new Float32Array([1, 2, 3, 4, 5, 6]);
    const tg = gpu.fromArray([6], g, 'g'), tu = gpu.fromArray([6], u, 'u'), out = gpu.tensor([6], 'y');
    const dout = gpu.fromArray([6], new Float32Array(6).fill(1), 'dy'), dg = gpu.tensor([6], 'dg'), du = gpu.tensor([6], 'du');
    gluForward(gpu, out, tg, tu, 6, act);
    gluBackward(gpu, dg, du, dout, tg, tu, 6, act);
    expectClose(await gpu.read(out), gluForwardCpu(g, u, act), TOL, 'glu.forward large');
    const ref = gluBackwardCpu(new Float32Array(6).fill(1), g, u, act);
    expectClose(await gpu.read(dg), ref.dgate, TOL, 'glu.dgate large');
    expectClose(await gpu.read(du), ref.dup, TOL, 'glu.dup large');
    gpu.release(tg, tu, out, dout, dg, du);
  });

  it('CPU backward equals central finite differences of the CPU forward', () => {
    const n = 64, g = randn(n, 3, 6), u = randn(n, 4, 2), dy = randn(n, 5);
    const coords = probeCoords(n, 16);
    const ref = gluBackwardCpu(dy, g, u, act);
    const fdg = finiteDiff((gg) => dot(gluForwardCpu(gg, u, act), dy), g, coords);
    const fdu = finiteDiff((uu) => dot(gluForwardCpu(g, uu, act), dy), u, coords);
    expectClose(pick(ref.dgate, coords), fdg, { rtol: 1e-6, atol: 1e-8 }, 'glu.fd.dgate');
    expectClose(pick(ref.dup, coords), fdu, { rtol: 1e-6, atol: 1e-8 }, 'glu.fd.dup');
  });
});
