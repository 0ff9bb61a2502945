// Autotune (src/ops/autotune.ts): it times every candidate of every op this device runs (the subgroup forms only
// where it has `subgroups`), makes each op use its fastest, caches the choice under a key naming the adapter, its
// subgroup sizes and the features, and reuses it; a device created without the features is its own key and never
// gets a subgroup variant. Small sizes: this checks the mechanism, not which variant wins (that is adapter speed).
import { describe, expect, it } from 'vitest';
import { createGpu, type Gpu } from '../../src/gpu/runtime';
import { autotune, autotuneKey, clearAutotuneCache } from '../../src/ops/autotune';
import { crossEntropyLayout, setCrossEntropyLayout } from '../../src/ops/crossentropy';
import { defaultMatmulVariant, matmulVariant, matmulVariants, setBlockedBlock, setMatmulVariant } from '../../src/ops/matmul';
import { rowReduction, setRowReduction } from '../../src/ops/norm';
import { gradNormLayout, setGradNormLayout } from '../../src/ops/optim';
import { testGpu } from '../helpers/gpu';

const SMALL = { shapes: [{ M: 8, N: 16, K: 12 }], sizes: { norm: [8, 64] as [number, number], crossEntropy: [64, 32] as [number, number], gradNorm: 1000 }, minMs: 1 };

function reset(gpu: Gpu): void {
  setMatmulVariant(gpu, null);
  setBlockedBlock(gpu, null);
  setRowReduction(gpu, null);
  setCrossEntropyLayout(gpu, null);
  setGradNormLayout(gpu, null);
}

const sizes = (await testGpu()).subgroupSizes;

describe('autotune', () => {
  it(`times every candidate of each op, uses the fastest and reuses it (this adapter: subgroups ${sizes ? `${sizes.min}-${sizes.max}` : 'none'})`, async () => {
    const gpu = await testGpu();
    reset(gpu);
    expect(matmulVariant(gpu)).toBe(defaultMatmulVariant(gpu));
    clearAutotuneCache();
    try {
      const first = await autotune(gpu, SMALL);
      expect(first.cached).toBe(false);
      const sg = gpu.subgroups;
      expect(Object.keys(first.timings.matmul).sort()).toEqual(['blocked', 'blocked8x8', 'tiled', ...(sg ? ['subgroup'] : [])].sort());
      expect(Object.keys(first.timings.rowReduction).sort()).toEqual(['thread', 'workgroup', ...(sg ? ['subgroup'] : [])].sort());
      expect(Object.keys(first.timings.crossEntropy).sort()).toEqual(['rowPerInvocation', 'rowPerWorkgroup', ...(sg ? ['rowPerWorkgroupSubgroups'] : [])].sort());
      expect(Object.keys(first.timings.gradNorm).sort()).toEqual(['perInvocation', 'tree', ...(sg ? ['subgroup'] : [])].sort());
      for (const [op, t] of Object.entries(first.timings)) {
        const best = Object.entries(t).sort((a, b) => a[1] - b[1])[0][0];
        const chosen = { matmul: first.matmul.variant + (first.matmul.block ? '8x8' : ''), rowReduction: first.rowReduction, crossEntropy: first.crossEntropy, gradNorm: first.gradNorm }[op];
        expect(chosen, op).toBe(best);
      }
      console.log(`autotune on ${autotuneKey(gpu)}: ${JSON.stringify(first.timings)}`);
      // The ops use the choice.
      expect(matmulVariant(gpu)).toBe(first.matmul.variant);
      expect(rowReduction(gpu)).toBe(first.rowReduction);
      expect(crossEntropyLayout(gpu, 64).layout).toBe(first.crossEntropy);
      expect(gradNormLayout(gpu)).toBe(first.gradNorm);
      const second = await autotune(gpu);
      expect(second).toMatchObject({ matmul: first.matmul, rowReduction: first.rowReduction, cached: true, key: autotuneKey(gpu) });
    } finally {
      reset(gpu);
      clearAutotuneCache();
    }
  }, 240_000);

  it('a device without shader-f16 and subgroups is its own key and gets no subgroup variant', async () => {
    const gpu = await testGpu();
    const off = await createGpu({ f16: false, subgroups: false });
    clearAutotuneCache();
    try {
      expect(autotuneKey(off)).not.toBe(gpu.subgroups || gpu.f16 ? autotuneKey(gpu) : '');
      expect(autotuneKey(off)).toMatch(/no subgroups\|no f16$/);
      expect(matmulVariants(off)).toEqual(['blocked', 'tiled']);
      const r = await autotune(off, SMALL);
      for (const t of Object.values(r.timings)) expect(Object.keys(t).some((k) => /subgroup/i.test(k))).toBe(false);
    } finally {
      clearAutotuneCache();
      off.destroy();
    }
  }, 240_000);
});
