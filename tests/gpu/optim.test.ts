// Global grad-norm and AdamW: GPU vs the float64 CPU reference (odd sizes, views, several steps, with and
// without clipping, weight decay and a decay mask). PyTorch itself is checked in tests/node/adamw-torch.test.ts.
// Tolerances: the norm is a sum of up to 1e5 f32 squares: rtol 1e-5. AdamW state after several f32 steps vs
// float64: params rtol 1e-5 / atol 1e-7 (updates are ~lr = 1e-2 per step); m rtol 1e-5 / atol 1e-8;
// v rtol 1e-4 / atol 1e-10 (v ~ g² ~ 1e-3; its (1 - beta2) g² term is the least precise).
import { describe, expect, it } from 'vitest';
import type { Gpu, Tensor } from '../../src/gpu/runtime';
import { adamwCpu, adamwUpdate, gradNorm, gradNormCpu, type AdamWOptions, type GradNormLayout } from '../../src/ops/optim';
import { expectClose, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const NORM_TOL = { rtol: 1e-5, atol: 0 };
const PARAM_TOL = { rtol: 1e-5, atol: 1e-7 };
const M_TOL = { rtol: 1e-5, atol: 1e-8 };
const V_TOL = { rtol: 1e-4, atol: 1e-10 };

/** A [n] view at element 64 of a larger table, so offsets are exercised. */
function viewOf(gpu: Gpu, n: number, data: ArrayLike<number>, label: string): { table: Tensor; t: Tensor } {
  const table = gpu.zeros([64 + n + 64], `${label}.table`);
  const t = gpu.view(table, 64, [n], label);
  gpu.write(t, Float32Array.from(data));
  return { table, t };
}

// Both layouts run everywhere, whatever gradNormLayout would pick for this adapter.
describe.each(['tree', 'perInvocation'] as GradNormLayout[])('gradNorm (%s)', (layout) => {
  for (const n of [1, 63, 64, 100_003]) {
    it(`matches the CPU norm and repeats bit for bit (n=${n})`, async () => {
      const gpu = await testGpu();
      const g = randn(n, n + 5, 0.1);
      const { table, t } = viewOf(gpu, n, g, 'grads');
      const out = gpu.tensor([1], 'norm');
      gradNorm(gpu, out, t, n, layout);
      const first = (await gpu.read(out))[0];
      expectClose([first], [gradNormCpu(g)], NORM_TOL, 'gradNorm');
      gradNorm(gpu, out, t, n, layout);
      expect((await gpu.read(out))[0]).toBe(first);
      gpu.release(table, out);
    });
  }
});

interface Variant { name: string; opts: Omit<AdamWOptions, 'step'>; mask: boolean }

const VARIANTS: Variant[] = [
  { name: 'plain, no decay', opts: { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 }, mask: false },
  { name: 'weight decay', opts: { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 0 }, mask: false },
  { name: 'clipping active + decay mask', opts: { lr: 2e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.3, maxGradNorm: 0.5 }, mask: true },
  { name: 'clipping inactive', opts: { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1e3 }, mask: false },
];

describe('adamw', () => {
  for (const { name, opts, mask } of VARIANTS) {
    it(`matches the CPU reference over 4 steps (${name}, n=1001)`, async () => {
      const gpu = await testGpu();
      const n = 1001, steps = 4;
      const p0 = randn(n, 11), decay = Float32Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0 : 1));
      const P = viewOf(gpu, n, p0, 'params'), G = viewOf(gpu, n, new Float32Array(n), 'grads');
      const M = viewOf(gpu, n, new Float32Array(n), 'm'), Vv = viewOf(gpu, n, new Float32Array(n), 'v');
      const D = mask ? viewOf(gpu, n, decay, 'decayMask') : null;
      const norm = gpu.tensor([1], 'norm');
      let ref: ReturnType<typeof adamwCpu> = { params: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n), norm: 0 };
      for (let step = 1; step <= steps; step++) {
        const g = randn(n, 100 + step, 0.05 * step);
        gpu.write(G.t, g);
        gradNorm(gpu, norm, G.t, n);
        adamwUpdate(gpu, P.t, G.t, M.t, Vv.t, opts.maxGradNorm > 0 ? norm : null, n, { ...opts, step }, D?.t);
        ref = adamwCpu(ref.params, g, ref.m, ref.v, n, { ...opts, step }, mask ? decay : undefined);
        expectClose(await gpu.read(G.t), g, { rtol: 0, atol: 0 }, 'adamw leaves grads unscaled');
      }
      if (opts.maxGradNorm > 0 && opts.maxGradNorm < 1) expect(ref.norm).toBeGreaterThan(opts.maxGradNorm); // clipping did act
      expectClose(await gpu.read(P.t), ref.params, PARAM_TOL, 'adamw.params');
      expectClose(await gpu.read(M.t), ref.m, M_TOL, 'adamw.m');
      expectClose(await gpu.read(Vv.t), ref.v, V_TOL, 'adamw.v');
      gpu.release(P.table, G.table, M.table, Vv.table, D?.table, norm);
    });
  }

  it('CPU reference: masked entries skip decay, clipping scales the gradient to maxGradNorm', () => {
    const n = 4, p = [1, 1, 1, 1], g = [3, 0, 4, 0], zero = [0, 0, 0, 0];
    const base = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-30, weightDecay: 0.5, step: 1 };
    // With eps ~0 the first step moves each param by lr * sign(g) (bias-corrected m / sqrt(v) = g / |g|),
    // whatever the clip factor; decay multiplies by 1 - lr * wd = 0.95 where the mask is 1.
    const r = adamwCpu(p, g, zero, zero, n, { ...base, maxGradNorm: 1 }, [1, 0, 1, 0]);
    expect(r.norm).toBeCloseTo(5, 12);
    expectClose(r.params, [0.95 - 0.1, 1, 0.95 - 0.1, 1], { rtol: 1e-12, atol: 1e-12 }, 'adamwCpu.params');
    expectClose(r.m, [0.1 * 3 / (5 + 1e-6), 0, 0.1 * 4 / (5 + 1e-6), 0], { rtol: 1e-12, atol: 1e-15 }, 'adamwCpu.m');
  });
});
