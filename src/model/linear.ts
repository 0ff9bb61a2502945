// A linear layer of the model, with its optional bias and LoRA, forward and backward side by side.
//   HF Linear:  W [out, in],  y = x W^T + b          (Llama family)
//   Conv1D:     W [in, out],  y = x W   + b          (GPT-2, PEFT's fan_in_fan_out)
//   LoRA:       y += s · (xd A^T) B^T,  xd = dropout(x),  A [r, in], B [out, r]
// Forward saves what backward needs (xd and u = xd A^T); the base product and the LoRA product share one
// fused matmul dispatch. Backward accumulates parameter grads (+=) and writes or accumulates dx.
// W may be row blocks (over the binding limit): its products go through chunks.ts. HF Linear's x W^T is matmulWT
// and Conv1D's x W is matmulW; backward swaps them (dx = dy W, or dy W^T for Conv1D).
import type { Gpu, Tensor } from '../gpu/runtime';
import { accumulateGradATB, matmulW, matmulWT, type RowChunked } from './chunks';
import { matmul } from '../ops/matmul';
import { addInPlace, dropoutBackward, dropoutForward, sumRows } from '../ops/elementwise';
import type { ParamTable } from './params';

export interface LinearSpec {
  /** Module path, e.g. 'model.layers.0.self_attn.q_proj' (weights are `${name}.weight`, `${name}.bias`). */
  name: string;
  inF: number;
  outF: number;
  conv1d: boolean;
  bias: boolean;
  /** Present when LoRA targets this module. */
  lora: { rank: number; scale: number; dropout: number } | null;
}

/** What forward keeps for backward. */
export interface LinearSaved {
  x: Tensor;          // [N, in] the input (owned by the caller)
  xd: Tensor | null;  // [N, in] dropout(x), when LoRA dropout > 0 (owned here)
  u: Tensor | null;   // [N, r] xd A^T (owned here)
  seed: number;
}

/** y (=|+=) x op(W) (+ opts): op(W) = W^T for HF Linear, W for Conv1D. */
function timesW(gpu: Gpu, l: LinearSpec, y: Tensor, x: Tensor, W: RowChunked, N: number, opts: Parameters<typeof matmulW>[5]): void {
  (l.conv1d ? matmulW : matmulWT)(gpu, y, x, W, N, opts);
}

/** dx (=|+=) dy op(W)^T (+ opts): dy W for HF Linear, dy W^T for Conv1D. */
function timesWBack(gpu: Gpu, l: LinearSpec, dx: Tensor, dy: Tensor, W: RowChunked, N: number, opts: Parameters<typeof matmulW>[5]): void {
  (l.conv1d ? matmulWT : matmulW)(gpu, dx, dy, W, N, opts);
}

export function loraNames(name: string): { A: string; B: string } {
  return { A: `${name}.lora_A`, B: `${name}.lora_B` };
}

/** `seed` null means inference: LoRA dropout is off. */
export function linearForward(gpu: Gpu, p: ParamTable, l: LinearSpec, y: Tensor, x: Tensor, N: number, seed: number | null): LinearSaved {
  const W = p.chunked(`${l.name}.weight`);
  const bias = l.bias ? p.get(`${l.name}.bias`) : undefined;
  if (!l.lora) {
    timesW(gpu, l, y, x, W, N, { bias });
    return { x, xd: null, u: null, seed: 0 };
  }
  const { rank, scale } = l.lora;
  const dropout = seed === null ? 0 : l.lora.dropout;
  const { A, B } = loraNames(l.name);
  let xd: Tensor | null = null;
  if (dropout > 0) {
    xd = gpu.tensor([N, l.inF], `${l.name}.xd`);
    dropoutForward(gpu, xd, x, N * l.inF, dropout, seed!);
  }
  const u = gpu.tensor([N, rank], `${l.name}.u`);
  matmul(gpu, u, xd ?? x, p.get(A), N, rank, l.inF, { transB: true });                     // u = xd A^T   [N, r]
  timesW(gpu, l, y, x, W, N, { bias, extra: { a: u, b: p.get(B), k: rank, transB: true, alpha: scale } }); // y = x W^T + b + s u B^T
  return { x, xd, u, seed: seed ?? 0 };
}

/**
 * dy [N, out] → parameter grads (+=) and dx [N, in] (overwritten, or += when accumulateDx).
 * dx is skipped when null (the first layer's input needs no gradient under LoRA).
 */
export function linearBackward(
  gpu: Gpu, p: ParamTable, l: LinearSpec, dx: Tensor | null, dy: Tensor, s: LinearSaved, N: number, accumulateDx: boolean,
): void {
  const W = p.chunked(`${l.name}.weight`);
  if (l.conv1d) accumulateGradATB(gpu, W, s.x, dy, N);  // dW[in,out] += x^T dy (when W trains)
  else accumulateGradATB(gpu, W, dy, s.x, N);           // dW[out,in] += dy^T x
  const db = l.bias ? p.grad(`${l.name}.bias`) : null;
  if (db) sumRows(gpu, db, dy, N, l.outF, true);

  if (!l.lora) {
    if (dx) timesWBack(gpu, l, dx, dy, W, N, { accumulate: accumulateDx });
    return;
  }
  const { rank, scale } = l.lora;
  const dropout = s.xd ? l.lora.dropout : 0;
  const names = loraNames(l.name);
  const A = p.get(names.A), B = p.get(names.B);
  const dA = p.grad(names.A), dB = p.grad(names.B);
  const g = gpu.tensor([N, rank], `${l.name}.dyB`);
  matmul(gpu, g, dy, B, N, rank, l.outF);                                                     // g = dy B      [N, r]
  if (dB) matmul(gpu, dB, dy, s.u!, l.outF, rank, N, { transA: true, alpha: scale, accumulate: true }); // dB += s dy^T u
  if (dA) matmul(gpu, dA, g, s.xd ?? s.x, rank, l.inF, N, { transA: true, alpha: scale, accumulate: true }); // dA += s g^T xd
  if (dx) {
    if (dropout > 0) {
      // The LoRA path saw dropout(x): its dx goes through the same mask, so it cannot share the base dispatch.
      timesWBack(gpu, l, dx, dy, W, N, { accumulate: accumulateDx });
      const dxd = gpu.tensor([N, l.inF], `${l.name}.dxd`);
      matmul(gpu, dxd, g, A, N, l.inF, rank, { alpha: scale });                                 // s g A
      const dxl = gpu.tensor([N, l.inF], `${l.name}.dxl`);
      dropoutBackward(gpu, dxl, dxd, N * l.inF, dropout, s.seed);
      addInPlace(gpu, dx, dxl, N * l.inF);
      gpu.release(dxd, dxl);
    } else {
      timesWBack(gpu, l, dx, dy, W, N, {                                                      // dx = dy W + s g A
        accumulate: accumulateDx, extra: { a: g, b: A, k: rank, transB: false, alpha: scale },
      });
    }
  }
  gpu.release(g);
}
