// RoPE (HF rotate-half): GPU forward/backward vs the float64 CPU reference on HF's f32 angles, the CPU
// backward vs finite differences, the convention itself on a hand-written case, and packing positions.
// Tolerance: cos/sin are computed on the GPU to ~1 ulp of the f32 angle; inputs are in [-1, 1], so
// outputs agree to rtol 1e-5 / atol 1e-6 even at positions in the tens of thousands.
import { describe, expect, it } from 'vitest';
import { ropeBackward, ropeBackwardCpu, ropeForward, ropeForwardCpu, ropeInvFreq, type RopeDims } from '../../src/ops/rope';
import { dot, expectClose, finiteDiff, pick, probeCoords, randn, rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const TOL = { rtol: 1e-5, atol: 1e-6 };

const CASES: (RopeDims & { packed?: boolean })[] = [
  { B: 2, T: 1, nHeads: 2, D: 8, theta: 10000 },
  { B: 2, T: 5, nHeads: 3, D: 20, theta: 10000, posOffset: 7 },
  { B: 2, T: 67, nHeads: 4, D: 64, theta: 500000 },
  { B: 1, T: 300, nHeads: 2, D: 8, theta: 1000000, posOffset: 30000 },  // large angles
  { B: 2, T: 33, nHeads: 2, D: 64, theta: 10000, packed: true },
];

function name(c: RopeDims & { packed?: boolean }): string {
  return `B=${c.B} T=${c.T} heads=${c.nHeads} D=${c.D} theta=${c.theta}${c.posOffset ? ` posOffset=${c.posOffset}` : ''}${c.packed ? ' packed' : ''}`;
}

/** Packing positions: each row restarts at 0 at random document boundaries, some positions large. */
function packedPositions(B: number, T: number, seed: number): number[] {
  const r = rng(seed), out: number[] = [];
  for (let b = 0; b < B; b++) {
    let pos = Math.floor(r() * 20000);
    for (let t = 0; t < T; t++) { if (r() < 0.15) pos = 0; out.push(pos++); }
  }
  return out;
}

describe('rope', () => {
  for (const c of CASES) {
    it(`forward and backward match the CPU reference (${name(c)})`, async () => {
      const gpu = await testGpu();
      const n = c.B * c.T * c.nHeads * c.D;
      const x = randn(n, n + 3), dy = randn(n, n + 4);
      const pos = c.packed ? packedPositions(c.B, c.T, 5) : undefined;
      const inp = gpu.fromArray([c.B, c.T, c.nHeads * c.D], x, 'x'), out = gpu.tensor([c.B, c.T, c.nHeads * c.D], 'y');
      const dout = gpu.fromArray([c.B, c.T, c.nHeads * c.D], dy, 'dy'), dinp = gpu.tensor([c.B, c.T, c.nHeads * c.D], 'dx');
      const positions = pos ? gpu.fromU32([c.B * c.T], pos, 'positions') : undefined;
      ropeForward(gpu, out, inp, c, positions);
      ropeBackward(gpu, dinp, dout, c, positions);
      expectClose(await gpu.read(out), ropeForwardCpu(x, c, pos), TOL, 'rope.forward');
      expectClose(await gpu.read(dinp), ropeBackwardCpu(dy, c, pos), TOL, 'rope.backward');
      gpu.release(inp, out, dout, dinp, positions);
    });
  }

  it('backward equals central finite differences of forward (CPU)', () => {
    const dims: RopeDims = { B: 2, T: 3, nHeads: 2, D: 6, theta: 10000, posOffset: 11 };
    const n = 2 * 3 * 2 * 6, x = randn(n, 31), dy = randn(n, 32);
    const coords = probeCoords(n, 16);
    const fd = finiteDiff((xx) => dot(ropeForwardCpu(xx, dims), dy), x, coords);
    expectClose(pick(ropeBackwardCpu(dy, dims), coords), fd, { rtol: 1e-6, atol: 1e-8 }, 'rope.fd');
  });

  it('follows the rotate-half convention: element i pairs with i + D/2', async () => {
    // D = 4, theta = 100: inv_freq = [1, 0.1]; one head at position 2, written out by hand.
    const gpu = await testGpu();
    const x = [0.5, -0.25, 0.75, 1], a0 = 2 * 1, a1 = Math.fround(2 * Math.fround(0.1));
    const want = [
      x[0] * Math.cos(a0) - x[2] * Math.sin(a0),
      x[1] * Math.cos(a1) - x[3] * Math.sin(a1),
      x[2] * Math.cos(a0) + x[0] * Math.sin(a0),
      x[3] * Math.cos(a1) + x[1] * Math.sin(a1),
    ];
    expect(Array.from(ropeInvFreq(4, 100))).toEqual([1, Math.fround(0.1)]);
    const dims: RopeDims = { B: 1, T: 1, nHeads: 1, D: 4, theta: 100, posOffset: 2 };
    expectClose(ropeForwardCpu(x, dims), want, { rtol: 1e-12, atol: 1e-12 }, 'rope.cpu.convention');
    const inp = gpu.fromArray([1, 1, 4], x, 'x'), out = gpu.tensor([1, 1, 4], 'y');
    ropeForward(gpu, out, inp, dims);
    expectClose(await gpu.read(out), want, TOL, 'rope.gpu.convention');
    gpu.release(inp, out);
  });

  it('backward undoes forward (a rotation and its transpose)', async () => {
    const gpu = await testGpu();
    const dims: RopeDims = { B: 2, T: 9, nHeads: 2, D: 16, theta: 10000, posOffset: 4000 };
    const n = 2 * 9 * 2 * 16, x = randn(n, 41);
    const inp = gpu.fromArray([n], x, 'x'), y = gpu.tensor([n], 'y'), back = gpu.tensor([n], 'back');
    ropeForward(gpu, y, inp, dims);
    ropeBackward(gpu, back, y, dims);
    expectClose(await gpu.read(back), x, { rtol: 1e-5, atol: 1e-6 }, 'rope.roundtrip');
    gpu.release(inp, y, back);
  });

  it('rejects an odd head dim and aliased in/out', async () => {
    const gpu = await testGpu();
    const t = gpu.tensor([12], 't'), u = gpu.tensor([12], 'u');
    expect(() => ropeForward(gpu, u, t, { B: 1, T: 1, nHeads: 4, D: 3, theta: 10000 })).toThrow(/odd/);
    expect(() => ropeForward(gpu, t, t, { B: 1, T: 1, nHeads: 3, D: 4, theta: 10000 })).toThrow(/share/);
    gpu.release(t, u);
  });
});
