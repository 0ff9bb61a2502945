// Embedding gather and deterministic scatter-add: GPU vs the float64 CPU reference (repeated ids, all ids equal,
// out-of-range ids, views), and the CPU backward vs central finite differences of the CPU forward.
// Tolerances: the gather is exact; the scatter sums up to 129 f32 values in [-1, 1): rtol 1e-5 / atol 1e-5.
import { describe, expect, it } from 'vitest';
import { embeddingBackward, embeddingBackwardCpu, embeddingForward, embeddingForwardCpu } from '../../src/ops/embedding';
import { addCpu } from '../../src/ops/elementwise';
import { dot, expectClose, finiteDiff, pick, probeCoords, randn, rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const SUM_TOL = { rtol: 1e-5, atol: 1e-5 };

function randomIds(N: number, V: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from({ length: N }, () => Math.floor(r() * V));
}

const cases: { name: string; N: number; C: number; V: number; ids: Uint32Array }[] = [
  { name: 'N=1 C=1 V=1', N: 1, C: 1, V: 1, ids: new Uint32Array([0]) },
  { name: 'N=7 C=3 V=5 (repeats)', N: 7, C: 3, V: 5, ids: new Uint32Array([4, 0, 4, 2, 0, 4, 1]) },
  { name: 'N=129 C=67 V=50', N: 129, C: 67, V: 50, ids: randomIds(129, 50, 1) },
  { name: 'N=129 C=67 all ids equal', N: 129, C: 67, V: 9, ids: new Uint32Array(129).fill(3) },
  { name: 'N=33 C=1000 V=8', N: 33, C: 1000, V: 8, ids: randomIds(33, 8, 2) },
];

describe('embedding', () => {
  for (const { name, N, C, V, ids } of cases) {
    it(`forward gathers and backward accumulates like the CPU reference (${name})`, async () => {
      const gpu = await testGpu();
      const table = randn(V * C, V + C), dy = randn(N * C, N + C), init = randn(V * C, V * C + 1);
      // Table and its gradient live at an offset in flat buffers, as views of the model's tables do.
      const flat = gpu.zeros([64 + V * C], 'params'), gflat = gpu.zeros([64 + V * C], 'grads');
      const tTable = gpu.view(flat, 64, [V, C], 'table'), tGrad = gpu.view(gflat, 64, [V, C], 'dtable');
      gpu.write(tTable, table);
      gpu.write(tGrad, init);
      const tIds = gpu.fromU32([N], ids, 'ids'), out = gpu.tensor([N, C], 'out'), dout = gpu.fromArray([N, C], dy, 'dout');

      embeddingForward(gpu, out, tIds, tTable, N, C);
      expect(Array.from(await gpu.read(out))).toEqual(Array.from(embeddingForwardCpu(ids, table, N, C)));

      embeddingBackward(gpu, tGrad, dout, ids, N, C);
      const dtable = await gpu.read(tGrad);
      expectClose(dtable, addCpu(init, embeddingBackwardCpu(dy, ids, V, N, C)), SUM_TOL, 'embedding.backward');
      // Rows whose id does not occur are untouched (bit for bit).
      const used = new Set(ids);
      for (let v = 0; v < V; v++) {
        if (used.has(v)) continue;
        expect(Array.from(dtable.subarray(v * C, (v + 1) * C)), `row ${v}`).toEqual(Array.from(init.subarray(v * C, (v + 1) * C)));
      }
      // Deterministic: the same scatter from the same start gives the same bits.
      gpu.write(tGrad, init);
      embeddingBackward(gpu, tGrad, dout, ids, N, C);
      expect(Array.from(await gpu.read(tGrad))).toEqual(Array.from(dtable));
      gpu.release(flat, gflat, tIds, out, dout);
    });
  }

  it('forward writes zeros for ids past the table; backward rejects them', async () => {
    const gpu = await testGpu();
    const V = 4, C = 5, N = 3, ids = new Uint32Array([1, 4, 1000]);
    const table = randn(V * C, 9);
    const tTable = gpu.fromArray([V, C], table, 'table'), tIds = gpu.fromU32([N], ids, 'ids'), out = gpu.tensor([N, C], 'out');
    embeddingForward(gpu, out, tIds, tTable, N, C);
    const y = await gpu.read(out);
    expect(Array.from(y.subarray(0, C))).toEqual(Array.from(table.subarray(C, 2 * C)));
    expect(Array.from(y.subarray(C))).toEqual(new Array(2 * C).fill(0));
    expect(() => embeddingBackward(gpu, tTable, out, ids, N, C)).toThrow(/outside/);
    gpu.release(tTable, tIds, out);
  });

  it('CPU backward equals central finite differences of the CPU forward', () => {
    const N = 9, C = 4, V = 5, ids = new Uint32Array([2, 0, 2, 4, 2, 1, 0, 2, 4]);
    const table = randn(V * C, 3), dy = randn(N * C, 4);
    const coords = probeCoords(V * C, 12);
    const fd = finiteDiff((t) => dot(embeddingForwardCpu(ids, t, N, C), dy), table, coords);
    expectClose(pick(embeddingBackwardCpu(dy, ids, V, N, C), coords), fd, { rtol: 1e-6, atol: 1e-8 }, 'embedding.fd');
  });
});
