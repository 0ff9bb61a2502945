// Softmax cross-entropy: GPU vs the float64 CPU reference (separate, in-place and losses-only variants, all on
// views inside larger tables), masked rows, extreme logits, and the CPU gradient vs central finite differences.
// Tolerances: the loss is a logsumexp over up to 50257 f32 terms: rtol 1e-5 / atol 1e-5 (losses are ~1..11).
// dlogits are gradScale * (softmax - onehot) in f32: rtol 1e-4 / atol 1e-8 (probabilities go down to ~1e-9).
// The in-place and losses-only variants run the same row body as the separate one: rtol 1e-6 against it.
import { describe, expect, it } from 'vitest';
import { createGpu, type Gpu, type Tensor } from '../../src/gpu/runtime';
import { crossEntropyCpu, crossEntropyForwardBackward, crossEntropyLayout, type CrossEntropyLayout } from '../../src/ops/crossentropy';
import { expectClose, finiteDiff, probeCoords, randn, rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const LOSS_TOL = { rtol: 1e-5, atol: 1e-5 };
const GRAD_TOL = { rtol: 1e-4, atol: 1e-8 };
const SAME_BODY_TOL = { rtol: 1e-6, atol: 1e-12 };
const GUARD = 64; // elements of sentinel around each view: kernels must not write outside it
const SENTINEL = 5;
// Every layout crossEntropyLayout can pick runs everywhere, whatever it would pick for this adapter:
// real GPUs take the first, software adapters the other two (by N); the subgroup merge wherever the device has
// `subgroups` (subgroups of 4 on SwiftShader, 8 on lavapipe), at both workgroup sizes.
const LAYOUTS: { layout: CrossEntropyLayout; WG: number }[] = [
  { layout: 'rowPerWorkgroup', WG: 256 }, { layout: 'rowPerWorkgroup', WG: 64 }, { layout: 'rowPerInvocation', WG: 16 },
  ...((await testGpu()).subgroups ? [{ layout: 'rowPerWorkgroupSubgroups', WG: 256 }, { layout: 'rowPerWorkgroupSubgroups', WG: 64 }] as const : []),
];

interface Case { logits: Float32Array; targets: Uint32Array; mask: Float32Array; gradScale: number }

/** Logits uniform in [-scale, scale), targets uniform, every third row masked out, one row at weight 0.5. */
function makeCase(N: number, V: number, seed: number, scale = 4): Case {
  const r = rng(seed + 1);
  const logits = randn(N * V, seed, scale);
  const targets = Uint32Array.from({ length: N }, () => Math.floor(r() * V));
  const mask = Float32Array.from({ length: N }, (_, i) => (i % 3 === 2 ? 0 : i === 3 ? 0.5 : 1));
  let count = 0;
  for (const m of mask) count += m;
  return { logits, targets, mask, gradScale: 1 / count };
}

/** A [size] view at offset GUARD inside a table of sentinels. */
function guardedView(gpu: Gpu, size: number, label: string): { table: Tensor; view: Tensor } {
  const table = gpu.tensor([GUARD + size + GUARD], `${label}.table`);
  gpu.fill(table, SENTINEL);
  return { table, view: gpu.view(table, GUARD, [size], label) };
}

async function expectGuardsIntact(gpu: Gpu, table: Tensor, size: number, name: string): Promise<void> {
  const all = await gpu.read(table);
  const guards = [...all.subarray(0, GUARD), ...all.subarray(GUARD + size)];
  expect(guards.every((x) => x === SENTINEL), `${name}: wrote outside its view`).toBe(true);
}

interface Uploaded { logitsTable: Tensor; logits: Tensor; targets: Tensor; mask: Tensor; losses: Tensor }

function upload(gpu: Gpu, c: Case, N: number, V: number): Uploaded {
  const { table: logitsTable, view: logits } = guardedView(gpu, N * V, 'logits');
  gpu.write(logits, c.logits);
  const targets = gpu.fromU32([N], c.targets, 'targets');
  const mask = gpu.fromArray([N], c.mask, 'lossMask');
  const losses = gpu.tensor([N], 'losses');
  gpu.fill(losses, 123); // every element must be written, masked rows included
  return { logitsTable, logits, targets, mask, losses };
}

function release(gpu: Gpu, u: Uploaded): void {
  gpu.release(u.logitsTable, u.targets, u.mask, u.losses);
}

describe.each(LAYOUTS)('crossEntropy ($layout, WG $WG)', (L) => {
  for (const [N, V] of [[5, 1], [7, 7], [9, 1000], [3, 50257]] as const) {
    it(`separate, in-place and losses-only match the CPU reference (N=${N}, V=${V})`, async () => {
      const gpu = await testGpu();
      const c = makeCase(N, V, N * 1000 + V);
      const ref = crossEntropyCpu(c.logits, c.targets, c.mask, N, V, c.gradScale);

      // separate dlogits (a view; sentinel values that masked rows must overwrite with zeros)
      const a = upload(gpu, c, N, V);
      const d = guardedView(gpu, N * V, 'dlogits');
      crossEntropyForwardBackward(gpu, a.losses, d.view, a.logits, a.targets, a.mask, N, V, c.gradScale, L);
      const losses = await gpu.read(a.losses), dlogits = await gpu.read(d.view);
      expectClose(losses, ref.losses, LOSS_TOL, 'crossEntropy.losses');
      expectClose(dlogits, ref.dlogits, GRAD_TOL, 'crossEntropy.dlogits');
      expect(Array.from(await gpu.read(a.logits))).toEqual(Array.from(c.logits));
      await expectGuardsIntact(gpu, d.table, N * V, 'crossEntropy.dlogits');

      // in place: dlogits overwrite logits
      const b = upload(gpu, c, N, V);
      crossEntropyForwardBackward(gpu, b.losses, b.logits, b.logits, b.targets, b.mask, N, V, c.gradScale, L);
      expectClose(await gpu.read(b.losses), losses, SAME_BODY_TOL, 'crossEntropy.inPlace.losses');
      expectClose(await gpu.read(b.logits), dlogits, SAME_BODY_TOL, 'crossEntropy.inPlace.dlogits');
      await expectGuardsIntact(gpu, b.logitsTable, N * V, 'crossEntropy.inPlace');

      // losses only: logits untouched
      const e = upload(gpu, c, N, V);
      crossEntropyForwardBackward(gpu, e.losses, null, e.logits, e.targets, e.mask, N, V, c.gradScale, L);
      expectClose(await gpu.read(e.losses), losses, SAME_BODY_TOL, 'crossEntropy.forward.losses');
      expect(Array.from(await gpu.read(e.logits))).toEqual(Array.from(c.logits));

      release(gpu, a); release(gpu, b); release(gpu, e); gpu.release(d.table);
    });
  }

  it('masked rows give exactly zero loss and zero gradient, in place too', async () => {
    const gpu = await testGpu();
    const N = 6, V = 300;
    const c = makeCase(N, V, 42);
    c.mask.set([0, 1, 0, 0, 1, 0]);
    for (const inPlace of [false, true]) {
      const u = upload(gpu, c, N, V);
      const d = inPlace ? null : guardedView(gpu, N * V, 'dlogits');
      const dlogits = d ? d.view : u.logits;
      crossEntropyForwardBackward(gpu, u.losses, dlogits, u.logits, u.targets, u.mask, N, V, 0.5, L);
      const losses = await gpu.read(u.losses), grads = await gpu.read(dlogits);
      for (let i = 0; i < N; i++) {
        const row = grads.subarray(i * V, (i + 1) * V);
        if (c.mask[i] === 0) {
          expect(losses[i], `row ${i} loss`).toBe(0);
          expect(row.every((g) => g === 0), `row ${i} dlogits are all zero`).toBe(true);
        } else {
          expect(losses[i], `row ${i} loss`).toBeGreaterThan(0);
          expect(row.some((g) => g !== 0), `row ${i} dlogits are not all zero`).toBe(true);
        }
      }
      release(gpu, u); gpu.release(d?.table);
    }
  });

  it('takes every tensor as a view of one flat table (disjoint ranges of one GPUBuffer)', async () => {
    const gpu = await testGpu();
    const N = 5, V = 70;
    const c = makeCase(N, V, 17);
    const ref = crossEntropyCpu(c.logits, c.targets, c.mask, N, V, c.gradScale);
    const NV = N * V, span = Math.ceil(NV / 64) * 64; // views start on 64-element boundaries
    const table = gpu.zeros([2 * span + 3 * 64], 'activations');
    const logits = gpu.view(table, 0, [N, V], 'logits'), dlogits = gpu.view(table, span, [N, V], 'dlogits');
    const targets = gpu.view(table, 2 * span, [N], 'targets');
    const mask = gpu.view(table, 2 * span + 64, [N], 'lossMask'), losses = gpu.view(table, 2 * span + 128, [N], 'losses');
    gpu.write(logits, c.logits); gpu.writeU32(targets, c.targets); gpu.write(mask, c.mask);
    crossEntropyForwardBackward(gpu, losses, dlogits, logits, targets, mask, N, V, c.gradScale, L);
    expectClose(await gpu.read(losses), ref.losses, LOSS_TOL, 'crossEntropy.table.losses');
    expectClose(await gpu.read(dlogits), ref.dlogits, GRAD_TOL, 'crossEntropy.table.dlogits');
    crossEntropyForwardBackward(gpu, losses, logits, logits, targets, mask, N, V, c.gradScale, L);
    expectClose(await gpu.read(logits), ref.dlogits, GRAD_TOL, 'crossEntropy.table.inPlace.dlogits');
    gpu.release(table);
  });

  it('stays finite and accurate for logits of ±80', async () => {
    const gpu = await testGpu();
    const N = 3, V = 513;
    const c = makeCase(N, V, 9);
    for (let i = 0; i < N * V; i++) c.logits[i] = i % 2 === 0 ? 80 : -80;
    c.logits[7] = 79.5;
    c.targets.set([1, 0, 512]); // a -80 target (loss ~160), a +80 one, a +80 one at the row's end
    c.mask.set([1, 1, 1]);
    const ref = crossEntropyCpu(c.logits, c.targets, c.mask, N, V, 1 / 3);
    const u = upload(gpu, c, N, V);
    crossEntropyForwardBackward(gpu, u.losses, u.logits, u.logits, u.targets, u.mask, N, V, 1 / 3, L);
    const losses = await gpu.read(u.losses), grads = await gpu.read(u.logits);
    expect([...losses, ...grads].every(Number.isFinite)).toBe(true);
    expectClose(losses, ref.losses, LOSS_TOL, 'crossEntropy.large.losses');
    expectClose(grads, ref.dlogits, GRAD_TOL, 'crossEntropy.large.dlogits');
    release(gpu, u);
  });
});

describe('crossEntropy without subgroups', () => {
  it('a device created without the feature never picks the subgroup merge and refuses it', async () => {
    const off = await createGpu({ subgroups: false });
    try {
      for (const N of [1, 64, 1000]) expect(crossEntropyLayout(off, N).layout).not.toBe('rowPerWorkgroupSubgroups');
      const t = off.tensor([8], 't');
      expect(() => crossEntropyForwardBackward(off, t, null, t, t, t, 1, 8, 1, { layout: 'rowPerWorkgroupSubgroups', WG: 64 })).toThrow(/subgroups feature/);
    } finally {
      off.destroy();
    }
  });
});

describe('crossEntropyCpu', () => {
  it('CPU dlogits equal central finite differences of gradScale * sum(losses)', () => {
    const N = 5, V = 11, gradScale = 0.37;
    const c = makeCase(N, V, 3, 3);
    const { dlogits } = crossEntropyCpu(c.logits, c.targets, c.mask, N, V, gradScale);
    const loss = (x: Float64Array) => {
      const { losses } = crossEntropyCpu(x, c.targets, c.mask, N, V, 0);
      return gradScale * losses.reduce((s, l) => s + l, 0);
    };
    const coords = probeCoords(N * V, 24);
    for (let i = 0; i < N; i++) coords.push(i * V + c.targets[i]); // every target element, masked rows too
    const fd = finiteDiff(loss, c.logits, coords);
    expectClose(Float64Array.from(coords, (k) => dlogits[k]), fd, { rtol: 1e-6, atol: 1e-9 }, 'crossEntropy.fd');
  });
});
