// Causal grouped-query attention: GPU forward/backward vs the float64 CPU reference (plain softmax with
// the same masks), the CPU backward vs central finite differences, KV-cache decode rows vs the full
// causal computation, document masking for packed sequences, and sliding windows (Gemma 3's local layers), alone
// and with packing.
// Tolerances: f32 dot products of length D and softmax sums over up to T keys, against float64:
//   out, lse: rtol 1e-4, atol 2e-5;  dq, dk, dv: rtol 1e-3, atol 1e-5 x (largest |gradient| of the case).
import { describe, expect, it } from 'vitest';
import {
  ATTENTION_TUNINGS, attentionBackward, attentionBackwardCpu, attentionForward, attentionForwardCpu, defaultAttentionTuning,
  type AttentionDims,
} from '../../src/ops/attention';
import type { Gpu, Tensor } from '../../src/gpu/runtime';
import { dot, expectClose, finiteDiff, pick, probeCoords, randn, type Tolerance } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const FWD_TOL: Tolerance = { rtol: 1e-4, atol: 2e-5 };
const gradTol = (expected: ArrayLike<number>): Tolerance => {
  let m = 0;
  for (let i = 0; i < expected.length; i++) m = Math.max(m, Math.abs(expected[i]));
  return { rtol: 1e-3, atol: 1e-5 * Math.max(m, 1e-3) };
};

/** Packed documents: docStart[b*T + t] = first position of the document holding t (docs given by lengths). */
function docStarts(lengthsPerBatch: number[][]): number[] {
  const out: number[] = [];
  for (const lengths of lengthsPerBatch) {
    let start = 0;
    for (const n of lengths) { for (let t = 0; t < n; t++) out.push(start); start += n; }
  }
  return out;
}

interface Case { B: number; T: number; H: number; Hkv: number; D: number; qScale?: number; docs?: number[][]; window?: number }

const CASES: Case[] = [
  { B: 2, T: 1, H: 2, Hkv: 2, D: 8 },                  // a single row: softmax of one key
  { B: 2, T: 5, H: 4, Hkv: 2, D: 20 },                 // GQA, odd head dim
  { B: 2, T: 67, H: 4, Hkv: 4, D: 64 },                // MHA
  { B: 2, T: 67, H: 6, Hkv: 1, D: 20, qScale: 6 },     // MQA, peaked softmax (large scores)
  { B: 1, T: 300, H: 2, Hkv: 1, D: 8 },                // long rows, many online-softmax blocks
  { B: 2, T: 23, H: 4, Hkv: 2, D: 20, docs: [[10, 7, 6], [23]] }, // sequence packing
  { B: 2, T: 37, H: 4, Hkv: 2, D: 8, window: 5 },      // sliding window shorter than the rows
  { B: 1, T: 9, H: 2, Hkv: 1, D: 8, window: 1 },       // a window of one: each query sees itself only
  { B: 2, T: 23, H: 4, Hkv: 2, D: 20, docs: [[10, 7, 6], [23]], window: 8 }, // window and packing together
];

function caseName(c: Case): string {
  return `B=${c.B} T=${c.T} H=${c.H} Hkv=${c.Hkv} D=${c.D}${c.qScale ? ` qScale=${c.qScale}` : ''}${c.docs ? ` docs=${JSON.stringify(c.docs)}` : ''}${c.window ? ` window=${c.window}` : ''}`;
}

async function upload(gpu: Gpu, shape: number[], data: Float32Array, label: string): Promise<Tensor> {
  return gpu.fromArray(shape, data, label);
}

describe('attention', () => {
  for (const c of CASES) {
    it(`forward and backward match the CPU reference (${caseName(c)})`, async () => {
      const gpu = await testGpu();
      const { B, T, H, Hkv, D } = c;
      const dims: AttentionDims = { B, Tq: T, Tk: T, H, Hkv, D, window: c.window };
      const scale = 1 / Math.sqrt(D);
      const seed = B * 1000 + T * 10 + D;
      const qx = randn(B * T * H * D, seed, c.qScale ?? 1), kx = randn(B * T * Hkv * D, seed + 1);
      const vx = randn(B * T * Hkv * D, seed + 2), dy = randn(B * T * H * D, seed + 3);
      const ds = c.docs ? docStarts(c.docs) : undefined;

      const q = await upload(gpu, [B, T, H * D], qx, 'q'), k = await upload(gpu, [B, T, Hkv * D], kx, 'k');
      const v = await upload(gpu, [B, T, Hkv * D], vx, 'v'), dout = await upload(gpu, [B, T, H * D], dy, 'dout');
      const docStart = ds ? gpu.fromU32([B, T], ds, 'docStart') : undefined;
      const out = gpu.tensor([B, T, H * D], 'out'), lse = gpu.tensor([B, H, T], 'lse');
      const dq = gpu.tensor([B, T, H * D], 'dq'), dk = gpu.tensor([B, T, Hkv * D], 'dk'), dv = gpu.tensor([B, T, Hkv * D], 'dv');

      const ref = attentionForwardCpu(qx, kx, vx, dims, scale, ds);
      const grad = attentionBackwardCpu(dy, qx, kx, vx, dims, scale, ds);
      // Both adapter classes' default kernels on every adapter, plus one row per thread and an odd row count (partial row blocks).
      for (const tuning of [ATTENTION_TUNINGS.software, ATTENTION_TUNINGS.hardware, { rows: 1, block: 1 }, { rows: 3, block: 2 }]) {
        const tag = `tile ${tuning.rows}x${tuning.block}`;
        // Backward overwrites: poison the gradients first so accumulation would show.
        gpu.fill(dq, 7); gpu.fill(dk, 7); gpu.fill(dv, 7);
        attentionForward(gpu, out, lse, q, k, v, dims, scale, docStart, tuning);
        attentionBackward(gpu, dq, dk, dv, dout, out, lse, q, k, v, dims, scale, docStart, tuning);
        expectClose(await gpu.read(out), ref.out, FWD_TOL, `attention.out ${tag}`);
        expectClose(await gpu.read(lse), ref.lse, FWD_TOL, `attention.lse ${tag}`);
        expectClose(await gpu.read(dq), grad.dq, gradTol(grad.dq), `attention.dq ${tag}`);
        expectClose(await gpu.read(dk), grad.dk, gradTol(grad.dk), `attention.dk ${tag}`);
        expectClose(await gpu.read(dv), grad.dv, gradTol(grad.dv), `attention.dv ${tag}`);
      }
      gpu.release(q, k, v, dout, docStart, out, lse, dq, dk, dv);
    });
  }

  // KV-cache decode: Tq new rows against Tk = pastLen + Tq cached keys in a buffer of kvStride rows;
  // the rows must equal the last Tq rows of the full causal computation over Tk positions.
  const DECODE: { Tq: number; past: number; kvStride: number; H: number; Hkv: number; D: number; docs?: number[][]; window?: number }[] = [
    { Tq: 1, past: 6, kvStride: 16, H: 4, Hkv: 2, D: 20 },
    { Tq: 2, past: 9, kvStride: 13, H: 6, Hkv: 1, D: 8 },
    { Tq: 3, past: 40, kvStride: 64, H: 2, Hkv: 2, D: 64 },
    { Tq: 3, past: 8, kvStride: 12, H: 4, Hkv: 2, D: 8, docs: [[5, 6], [11]] },
    { Tq: 2, past: 20, kvStride: 24, H: 4, Hkv: 2, D: 8, window: 6 },
  ];
  for (const c of DECODE) {
    it(`decode rows equal the full computation's last rows (Tq=${c.Tq} past=${c.past} kvStride=${c.kvStride} H=${c.H} Hkv=${c.Hkv} D=${c.D}${c.docs ? ' docs' : ''}${c.window ? ` window=${c.window}` : ''})`, async () => {
      const gpu = await testGpu();
      const { Tq, H, Hkv, D, kvStride } = c, B = 2, Tk = c.past + Tq, scale = 1 / Math.sqrt(D);
      const full: AttentionDims = { B, Tq: Tk, Tk, H, Hkv, D, window: c.window };
      const qx = randn(B * Tk * H * D, 11 + Tq, 2), kx = randn(B * Tk * Hkv * D, 12 + Tq), vx = randn(B * Tk * Hkv * D, 13 + Tq);
      const fullDocs = c.docs ? docStarts(c.docs) : undefined;
      const ref = attentionForwardCpu(qx, kx, vx, full, scale, fullDocs);

      // The decode inputs: the last Tq query rows; k/v rows 0..Tk-1 of a kvStride-row cache (rest garbage).
      const rowQ = H * D, rowKv = Hkv * D;
      const qd = new Float32Array(B * Tq * rowQ);
      const kc = randn(B * kvStride * rowKv, 99, 50), vc = randn(B * kvStride * rowKv, 98, 50);
      const docd: number[] = [];
      for (let b = 0; b < B; b++) {
        qd.set(qx.subarray((b * Tk + c.past) * rowQ, (b + 1) * Tk * rowQ), b * Tq * rowQ);
        kc.set(kx.subarray(b * Tk * rowKv, (b + 1) * Tk * rowKv), b * kvStride * rowKv);
        vc.set(vx.subarray(b * Tk * rowKv, (b + 1) * Tk * rowKv), b * kvStride * rowKv);
        if (fullDocs) docd.push(...fullDocs.slice(b * Tk + c.past, (b + 1) * Tk));
      }
      const wantOut = new Float64Array(B * Tq * rowQ), wantLse = new Float64Array(B * H * Tq);
      for (let b = 0; b < B; b++) {
        wantOut.set(ref.out.subarray((b * Tk + c.past) * rowQ, (b + 1) * Tk * rowQ), b * Tq * rowQ);
        for (let h = 0; h < H; h++) {
          wantLse.set(ref.lse.subarray((b * H + h) * Tk + c.past, (b * H + h + 1) * Tk), (b * H + h) * Tq);
        }
      }

      const dims: AttentionDims = { B, Tq, Tk, H, Hkv, D, kvStride, window: c.window };
      const q = gpu.fromArray([B, Tq, rowQ], qd, 'q');
      const k = gpu.fromArray([B, kvStride, rowKv], kc, 'kCache'), v = gpu.fromArray([B, kvStride, rowKv], vc, 'vCache');
      const docStart = fullDocs ? gpu.fromU32([B, Tq], docd, 'docStart') : undefined;
      const out = gpu.tensor([B, Tq, rowQ], 'out'), lse = gpu.tensor([B, H, Tq], 'lse');
      for (const tuning of [defaultAttentionTuning(gpu), { rows: 2, block: 3 }]) {
        attentionForward(gpu, out, lse, q, k, v, dims, scale, docStart, tuning);
        expectClose(await gpu.read(out), wantOut, FWD_TOL, `decode.out tile ${tuning.rows}x${tuning.block}`);
        expectClose(await gpu.read(lse), wantLse, FWD_TOL, `decode.lse tile ${tuning.rows}x${tuning.block}`);
      }
      // The CPU reference's own decode path agrees with its full computation too.
      const cpuDecode = attentionForwardCpu(qd, kc, vc, dims, scale, fullDocs ? docd : undefined);
      expectClose(cpuDecode.out, wantOut, { rtol: 1e-12, atol: 1e-12 }, 'decode.cpu.out');
      gpu.release(q, k, v, docStart, out, lse);
    });
  }

  // The CPU backward (the reference the GPU is held to) against central differences of the CPU forward.
  for (const c of [
    { B: 2, T: 4, H: 4, Hkv: 2, D: 3 },
    { B: 1, T: 7, H: 3, Hkv: 1, D: 5, docs: [[3, 4]] },
    { B: 1, T: 7, H: 2, Hkv: 1, D: 4, window: 3 },
  ] as Case[]) {
    it(`CPU backward equals finite differences (${caseName(c)})`, () => {
      const { B, T, H, Hkv, D } = c, scale = 0.7;
      const dims: AttentionDims = { B, Tq: T, Tk: T, H, Hkv, D, window: c.window };
      const qx = randn(B * T * H * D, 21, 1.5), kx = randn(B * T * Hkv * D, 22, 1.5), vx = randn(B * T * Hkv * D, 23);
      const dy = randn(B * T * H * D, 24), ds = c.docs ? docStarts(c.docs) : undefined;
      const grad = attentionBackwardCpu(dy, qx, kx, vx, dims, scale, ds);
      const loss = (qq: ArrayLike<number>, kk: ArrayLike<number>, vv: ArrayLike<number>) =>
        dot(attentionForwardCpu(qq, kk, vv, dims, scale, ds).out, dy);
      const FD: Tolerance = { rtol: 1e-6, atol: 1e-8 };
      const cq = probeCoords(qx.length, 12), ck = probeCoords(kx.length, 12, 8), cv = probeCoords(vx.length, 12, 9);
      expectClose(pick(grad.dq, cq), finiteDiff((x) => loss(x, kx, vx), qx, cq), FD, 'fd.dq');
      expectClose(pick(grad.dk, ck), finiteDiff((x) => loss(qx, x, vx), kx, ck), FD, 'fd.dk');
      expectClose(pick(grad.dv, cv), finiteDiff((x) => loss(qx, kx, x), vx, cv), FD, 'fd.dv');
    });
  }

  it('rejects a head count that is not a multiple of the kv heads', async () => {
    const gpu = await testGpu();
    const t = gpu.tensor([64], 't');
    expect(() => attentionForward(gpu, t, t, t, t, t, { B: 1, Tq: 1, Tk: 1, H: 3, Hkv: 2, D: 8 }, 1)).toThrow(/multiple/);
    gpu.release(t);
  });
});
