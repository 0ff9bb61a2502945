// Global grad-norm and AdamW: GPU vs the float64 CPU reference (odd sizes, views, several steps, with and
// without clipping, weight decay and a decay mask), unwindowed and over binding windows (a small
// maxBindingBytes forcing several windows, the last one partial, n not a multiple of 64).
// PyTorch itself is checked in tests/node/adamw-torch.test.ts.
// Tolerances: the norm is a sum of up to 1e5 f32 squares: rtol 1e-5 (windowed vs unwindowed too: the windows
// change the order of the additions). AdamW state after several f32 steps vs float64: params rtol 1e-5 /
// atol 1e-7 (updates are ~lr = 1e-2 per step); m rtol 1e-5 / atol 1e-8; v rtol 1e-4 / atol 1e-10
// (v ~ g² ~ 1e-3; its (1 - beta2) g² term is the least precise). AdamW given the same norm is elementwise, so
// windowed and unwindowed states must be identical bit for bit.
import { describe, expect, it, vi } from 'vitest';
import { createGpu, type DispatchOptions, type Gpu, type Tensor } from '../../src/gpu/runtime';
import { adamwCpu, adamwUpdate, gradNorm, gradNormCpu, gradNormLayout, type AdamWOptions, type GradNormLayout } from '../../src/ops/optim';
import { expectClose, randn } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const NORM_TOL = { rtol: 1e-5, atol: 0 };
const PARAM_TOL = { rtol: 1e-5, atol: 1e-7 };
const M_TOL = { rtol: 1e-5, atol: 1e-8 };
const V_TOL = { rtol: 1e-4, atol: 1e-10 };
const EXACT = { rtol: 0, atol: 0 };

/** A [n] view at element 64 of a larger table, so offsets are exercised. */
function viewOf(gpu: Gpu, n: number, data: ArrayLike<number>, label: string): { table: Tensor; t: Tensor } {
  const table = gpu.zeros([64 + n + 64], `${label}.table`);
  const t = gpu.view(table, 64, [n], label);
  gpu.write(t, Float32Array.from(data));
  return { table, t };
}

/** The dispatches f records (it still runs them). */
function dispatchesOf(gpu: Gpu, f: () => void): DispatchOptions[] {
  const spy = vi.spyOn(gpu, 'dispatch');
  try {
    f();
    return spy.mock.calls.map(([o]) => o);
  } finally {
    spy.mockRestore();
  }
}

/**
 * Every binding of the flat buffers (`tables`) in these dispatches fits in maxBindingBytes. gradNorm's partials
 * buffer is left out: up to 1024 floats per window, a few KiB under any real limit (128 MiB or more).
 */
function expectBindingsWithin(dispatches: DispatchOptions[], tables: Tensor[], maxBindingBytes: number): void {
  const flat = new Set(tables.map((t) => t.buffer));
  let seen = 0;
  for (const d of dispatches) {
    for (const b of d.bindings) {
      if (!('buffer' in b) || !flat.has(b.buffer)) continue;
      seen++;
      expect(b.size * 4, `${d.label}: binding ${b.label}`).toBeLessThanOrEqual(maxBindingBytes);
    }
  }
  expect(seen, 'the flat buffers were bound').toBeGreaterThan(0);
}

// Every layout runs everywhere, whatever gradNormLayout would pick for this adapter ('subgroup' where the device has
// `subgroups`: subgroups of 4 on SwiftShader, 8 on lavapipe).
const LAYOUTS: GradNormLayout[] = (await testGpu()).subgroups ? ['tree', 'perInvocation', 'subgroup'] : ['tree', 'perInvocation'];
describe.each(LAYOUTS)('gradNorm (%s)', (layout) => {
  for (const n of [1, 63, 64, 100_003]) {
    it(`matches the CPU norm and repeats bit for bit (n=${n})`, async () => {
      const gpu = await testGpu();
      const g = randn(n, n + 5, 0.1);
      const { table, t } = viewOf(gpu, n, g, 'grads');
      const out = gpu.tensor([1], 'norm');
      const dispatches = dispatchesOf(gpu, () => gradNorm(gpu, out, t, n, { layout }));
      expect(dispatches.length, 'one window: partials + finish').toBe(2);
      const first = (await gpu.read(out))[0];
      expectClose([first], [gradNormCpu(g)], NORM_TOL, 'gradNorm');
      gradNorm(gpu, out, t, n, { layout });
      expect((await gpu.read(out))[0]).toBe(first);
      gpu.release(table, out);
    });
  }

  // 1000 bytes hold 250 elements, rounded down to 192 (a view boundary): n = 1001 is 5 windows of 192 and one
  // of 41; 100_003 under 100 KB (25_000 -> 24_960 elements) is 4 windows of 24_960 and one of 163.
  for (const [n, maxBindingBytes, windows] of [[1001, 1000, 6], [100_003, 100_000, 5]]) {
    it(`over ${windows} binding windows of ${maxBindingBytes} bytes matches the CPU and the unwindowed norm (n=${n})`, async () => {
      const gpu = await testGpu();
      const g = randn(n, n + 7, 0.1);
      const { table, t } = viewOf(gpu, n, g, 'grads');
      const out = gpu.tensor([1], 'norm'), whole = gpu.tensor([1], 'norm.whole');
      const dispatches = dispatchesOf(gpu, () => gradNorm(gpu, out, t, n, { layout, maxBindingBytes }));
      expect(dispatches.length, 'one partials pass per window, one finish').toBe(windows + 1);
      expectBindingsWithin(dispatches, [table], maxBindingBytes);
      gradNorm(gpu, whole, t, n, { layout });
      const windowed = (await gpu.read(out))[0];
      expectClose([windowed], [gradNormCpu(g)], NORM_TOL, 'gradNorm windowed vs CPU');
      expectClose([windowed], await gpu.read(whole), NORM_TOL, 'gradNorm windowed vs unwindowed');
      gradNorm(gpu, out, t, n, { layout, maxBindingBytes });
      expect((await gpu.read(out))[0], 'repeats bit for bit').toBe(windowed);
      gpu.release(table, out, whole);
    });
  }

  it('refuses a binding limit below one view boundary, naming it', async () => {
    const gpu = await testGpu();
    const out = gpu.tensor([1], 'norm'), g = gpu.zeros([1000], 'grads');
    expect(() => gradNorm(gpu, out, g, 1000, { layout, maxBindingBytes: 200 })).toThrow(/binding limit of 200 bytes/);
    gpu.release(out, g);
  });
});

interface Variant { name: string; opts: Omit<AdamWOptions, 'step'>; mask: boolean }

const VARIANTS: Variant[] = [
  { name: 'plain, no decay', opts: { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 }, mask: false },
  { name: 'weight decay', opts: { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 0 }, mask: false },
  { name: 'clipping active + decay mask', opts: { lr: 2e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.3, maxGradNorm: 0.5 }, mask: true },
  { name: 'clipping inactive', opts: { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1e3 }, mask: false },
];

/** Optimizer state on the GPU: params, grads, m, v (and the decay mask) as offset views. */
function adamState(gpu: Gpu, p0: Float32Array, decay: Float32Array | null) {
  const n = p0.length;
  const P = viewOf(gpu, n, p0, 'params'), G = viewOf(gpu, n, new Float32Array(n), 'grads');
  const M = viewOf(gpu, n, new Float32Array(n), 'm'), V = viewOf(gpu, n, new Float32Array(n), 'v');
  const D = decay ? viewOf(gpu, n, decay, 'decayMask') : null;
  const tables = [P.table, G.table, M.table, V.table, ...(D ? [D.table] : [])];
  return { P, G, M, V, D, tables, release: () => gpu.release(...tables) };
}

// n = 1001 under 1000 bytes: 6 windows, the last of 41 elements (see the gradNorm windows above).
const N = 1001, SMALL_LIMIT = 1000, SMALL_WINDOWS = 6;

describe('gradNorm without subgroups', () => {
  it('a device created without the feature never picks the subgroup layout and refuses it', async () => {
    const off = await createGpu({ subgroups: false });
    try {
      expect(gradNormLayout(off)).not.toBe('subgroup');
      const g = off.tensor([100], 'g'), out = off.tensor([1], 'out');
      expect(() => gradNorm(off, out, g, 100, { layout: 'subgroup' })).toThrow(/subgroups feature/);
    } finally {
      off.destroy();
    }
  });
});

describe('adamw', () => {
  for (const { name, opts, mask } of VARIANTS) {
    for (const maxBindingBytes of [undefined, SMALL_LIMIT]) {
      const where = maxBindingBytes ? `${SMALL_WINDOWS} windows of ${maxBindingBytes} bytes` : 'one binding';
      it(`matches the CPU reference over 4 steps (${name}, n=${N}, ${where})`, async () => {
        const gpu = await testGpu();
        const steps = 4;
        const p0 = randn(N, 11), decay = Float32Array.from({ length: N }, (_, i) => (i % 4 === 0 ? 0 : 1));
        const S = adamState(gpu, p0, mask ? decay : null);
        const norm = gpu.tensor([1], 'norm');
        let ref: ReturnType<typeof adamwCpu> = { params: Float64Array.from(p0), m: new Float64Array(N), v: new Float64Array(N), norm: 0 };
        for (let step = 1; step <= steps; step++) {
          const g = randn(N, 100 + step, 0.05 * step);
          gpu.write(S.G.t, g);
          const dispatches = dispatchesOf(gpu, () => {
            gradNorm(gpu, norm, S.G.t, N, { maxBindingBytes });
            adamwUpdate(gpu, S.P.t, S.G.t, S.M.t, S.V.t, opts.maxGradNorm > 0 ? norm : null, N, { ...opts, step }, S.D?.t, maxBindingBytes);
          });
          const windows = maxBindingBytes ? SMALL_WINDOWS : 1;
          expect(dispatches.length, 'gradNorm: a pass per window + finish; adamw: a pass per window').toBe(2 * windows + 1);
          if (maxBindingBytes) expectBindingsWithin(dispatches, S.tables, maxBindingBytes);
          ref = adamwCpu(ref.params, g, ref.m, ref.v, N, { ...opts, step }, mask ? decay : undefined);
          expectClose(await gpu.read(S.G.t), g, EXACT, 'adamw leaves grads unscaled');
        }
        if (opts.maxGradNorm > 0 && opts.maxGradNorm < 1) expect(ref.norm).toBeGreaterThan(opts.maxGradNorm); // clipping did act
        expectClose(await gpu.read(S.P.t), ref.params, PARAM_TOL, 'adamw.params');
        expectClose(await gpu.read(S.M.t), ref.m, M_TOL, 'adamw.m');
        expectClose(await gpu.read(S.V.t), ref.v, V_TOL, 'adamw.v');
        S.release();
        gpu.release(norm);
      });
    }
  }

  it(`over ${SMALL_WINDOWS} windows equals the unwindowed update bit for bit, given the same norm (clipping + decay mask)`, async () => {
    const gpu = await testGpu();
    const { opts } = VARIANTS[2];
    const p0 = randn(N, 21), decay = Float32Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const whole = adamState(gpu, p0, decay), windowed = adamState(gpu, p0, decay);
    const norm = gpu.tensor([1], 'norm');
    for (let step = 1; step <= 3; step++) {
      const g = randn(N, 200 + step, 0.1);
      gpu.write(whole.G.t, g);
      gpu.write(windowed.G.t, g);
      gradNorm(gpu, norm, whole.G.t, N);
      adamwUpdate(gpu, whole.P.t, whole.G.t, whole.M.t, whole.V.t, norm, N, { ...opts, step }, whole.D!.t);
      adamwUpdate(gpu, windowed.P.t, windowed.G.t, windowed.M.t, windowed.V.t, norm, N, { ...opts, step }, windowed.D!.t, SMALL_LIMIT);
    }
    expect(gradNormCpu(randn(N, 203, 0.1))).toBeGreaterThan(opts.maxGradNorm); // clipping did act
    for (const k of ['P', 'M', 'V'] as const) {
      expectClose(await gpu.read(windowed[k].t), await gpu.read(whole[k].t), EXACT, `windowed ${k} vs unwindowed`);
    }
    whole.release();
    windowed.release();
    gpu.release(norm);
  });

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
