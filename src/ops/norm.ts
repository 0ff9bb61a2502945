// RMSNorm (Llama) and LayerNorm (GPT-2) over the last dimension, forward and backward, with float64 CPU references.
//   rmsnormForward(out [N, C], rstd [N], inp [N, C], weight [C], eps, offset)  HF LlamaRMSNorm, f32; offset 1 is
//                                                                              Gemma's x·(1 + w), 0 everyone else
//   rmsnormBackward(dinp, dweight | null, dout, inp, weight, rstd)             from what forward saved
//   layernormForward(out, mean [N], rstd [N], inp, weight, bias, eps)          torch.nn.LayerNorm (biased variance)
//   layernormBackward(dinp, dweight | null, dbias | null, dout, inp, weight, mean, rstd)
// Contract:
//  - dinp is overwritten, or accumulated with opts.accumulate (the residual stream's gradient).
//  - dweight/dbias are ACCUMULATED (+=); the caller zeroes them once per optimizer step. null = frozen, skipped.
//  - Everything is deterministic: a row's sums over C run in a fixed order (a tree reduction or subgroup sums in one
//    workgroup per row on GPUs, one thread per row on software adapters: see RowReduction); the sums over N for dweight/dbias
//    run in chunks of SUM_CHUNK_ROWS rows in increasing order, then over the chunks in order (no atomics), so the
//    bits depend only on the inputs, (N, C), the row reduction and the adapter.
//  - Operands may be disjoint views of one buffer; none may overlap another.
// Not here: fused residual-add + norm (the model calls add() then the norm).
import type { Gpu, Tensor } from '../gpu/runtime';
import { ceilDiv, elementwiseGrid } from './grid';
import { firstElements, SUM_CHUNK_ROWS, sumChunksInto, sumRows } from './elementwise';
import rowsWorkgroupWgsl from './norm_rows_workgroup.wgsl?raw';
import rowsThreadWgsl from './norm_rows_thread.wgsl?raw';
import rowsSubgroupWgsl from './norm_rows_subgroup.wgsl?raw';
import subgroupSumWgsl from './subgroup_sum.wgsl?raw';
import forwardSource from './norm_forward.wgsl?raw';
import backwardSource from './norm_backward.wgsl?raw';
import dweightWgsl from './norm_dweight.wgsl?raw';

/**
 * How a row's sums over C are computed. 'workgroup': one workgroup per row, threads striding over C, a tree
 * reduction in workgroup memory (GPUs; C can be 2048+). 'thread': one thread per row, sequential sums (software
 * adapters: on SwiftShader a barrier costs more than the parallelism buys; measured 10-60x faster there at
 * N = 256, C = 576). 'subgroup': as 'workgroup' with the sums through subgroups (devices with `subgroups`).
 * They give slightly different bits; each is deterministic.
 */
export type RowReduction = 'workgroup' | 'thread' | 'subgroup';
export const ROW_REDUCTIONS: readonly RowReduction[] = ['workgroup', 'thread', 'subgroup'];

/** 'auto': autotune's choice for this device (src/ops/autotune.ts), else by adapter kind; tests force each variant. */
export const normConfig: { rowReduction: RowReduction | 'auto' } = { rowReduction: 'auto' };

const chosen = new WeakMap<Gpu, RowReduction>();

/** Sets the row reduction 'auto' means on this device (autotune's result); null restores the default. */
export function setRowReduction(gpu: Gpu, r: RowReduction | null): void {
  if (r === null) chosen.delete(gpu);
  else chosen.set(gpu, r);
}

interface NormBackwardOptions {
  /** Add dx to dinp instead of overwriting it. */
  accumulate?: boolean;
  /** RMSNorm's weight offset, as given to the forward (Gemma: 1). */
  offset?: number;
}

// One WGSL module per pass serves both norms: RMSNorm is LayerNorm without the mean and the bias, and each module
// has an entry point per norm (named as Norm) around one shared body. The row kernels are written once over a row
// and completed by the file that says how a row is split among threads.
const rowKernel = (source: string): Record<RowReduction, string> => ({
  workgroup: `${rowsWorkgroupWgsl}\n${source}`,
  thread: `${rowsThreadWgsl}\n${source}`,
  subgroup: `${subgroupSumWgsl}\n${rowsSubgroupWgsl}\n${source}`,
});
const forwardWgsl = rowKernel(forwardSource);
const backwardWgsl = rowKernel(backwardSource);

/** The norm, and its entry point in each module: LayerNorm subtracts the row mean and adds a bias; RMSNorm does neither. */
type Norm = 'layernorm' | 'rmsnorm';

export function rmsnormForward(gpu: Gpu, out: Tensor, rstd: Tensor, inp: Tensor, weight: Tensor, N: number, C: number, eps: number, offset = 0): void {
  normForward(gpu, 'rmsnorm', out, null, rstd, inp, weight, null, N, C, eps, offset);
}

export function rmsnormBackward(
  gpu: Gpu, dinp: Tensor, dweight: Tensor | null, dout: Tensor, inp: Tensor, weight: Tensor, rstd: Tensor,
  N: number, C: number, opts: NormBackwardOptions = {},
): void {
  normBackward(gpu, 'rmsnorm', dinp, dweight, null, dout, inp, weight, null, rstd, N, C, opts);
}

export function layernormForward(
  gpu: Gpu, out: Tensor, mean: Tensor, rstd: Tensor, inp: Tensor, weight: Tensor, bias: Tensor, N: number, C: number, eps: number,
): void {
  normForward(gpu, 'layernorm', out, mean, rstd, inp, weight, bias, N, C, eps, 0);
}

export function layernormBackward(
  gpu: Gpu, dinp: Tensor, dweight: Tensor | null, dbias: Tensor | null, dout: Tensor, inp: Tensor, weight: Tensor,
  mean: Tensor, rstd: Tensor, N: number, C: number, opts: NormBackwardOptions = {},
): void {
  normBackward(gpu, 'layernorm', dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, opts);
}

/** mean and bias are null for RMSNorm (gpu.absent is bound; the kernel never touches it). */
function normForward(
  gpu: Gpu, norm: Norm, out: Tensor, mean: Tensor | null, rstd: Tensor, inp: Tensor, weight: Tensor,
  bias: Tensor | null, N: number, C: number, eps: number, offset: number,
): void {
  if (N === 0 || C === 0) return;
  const { code, ...launch } = rowLaunch(gpu, forwardWgsl, N, C, offset);
  gpu.dispatch({
    code, entryPoint: norm, label: `${norm}.forward`,
    bindings: [
      firstElements(inp, N * C), firstElements(weight, C), bias ? firstElements(bias, C) : gpu.absent(0),
      firstElements(out, N * C), mean ? firstElements(mean, N) : gpu.absent(1), firstElements(rstd, N),
    ],
    params: { u32: [N, C], f32: [eps] }, ...launch,
  });
}

/** mean is null for RMSNorm, and so is dbias. */
function normBackward(
  gpu: Gpu, norm: Norm, dinp: Tensor, dweight: Tensor | null, dbias: Tensor | null, dout: Tensor, inp: Tensor,
  weight: Tensor, mean: Tensor | null, rstd: Tensor, N: number, C: number, opts: NormBackwardOptions,
): void {
  if (N === 0 || C === 0) return;
  const [tDout, tInp, tRstd] = [firstElements(dout, N * C), firstElements(inp, N * C), firstElements(rstd, N)];
  const tMean = mean ? firstElements(mean, N) : gpu.absent(0);
  const { code, ...launch } = rowLaunch(gpu, backwardWgsl, N, C, opts.offset ?? 0);
  gpu.dispatch({
    code, entryPoint: norm, label: `${norm}.backward`,
    bindings: [tDout, tInp, firstElements(weight, C), tMean, tRstd, firstElements(dinp, N * C)],
    params: [N, C, opts.accumulate ? 1 : 0], ...launch,
  });
  if (dweight) channelGradient(gpu, norm, dweight, [tDout, tInp, tMean, tRstd], N, C);
  if (dbias) sumRows(gpu, dbias, tDout, N, C, true);
}

export function rowReduction(gpu: Gpu): RowReduction {
  const r = normConfig.rowReduction !== 'auto' ? normConfig.rowReduction : chosen.get(gpu) ?? (gpu.isSoftware ? 'thread' : 'workgroup');
  if (r === 'subgroup' && !gpu.subgroups) throw new Error('norm: the subgroup row reduction needs a device with the subgroups feature');
  return r;
}

/** Rows per workgroup of the 'thread' variant. */
const ROWS_PER_WORKGROUP = 32;

/** Code, grid and constants of a row kernel for this adapter's RowReduction (OFFSET: the weight's offset). */
function rowLaunch(gpu: Gpu, kernel: Record<RowReduction, string>, N: number, C: number, offset: number) {
  if (rowReduction(gpu) === 'thread') {
    return { code: kernel.thread, workgroups: elementwiseGrid(N, ROWS_PER_WORKGROUP), constants: { WG: ROWS_PER_WORKGROUP, OFFSET: offset } };
  }
  // Threads per row: 64 up to C = 256, else 256 (two pipelines per kernel at most).
  return { code: kernel.workgroup, workgroups: elementwiseGrid(N, 1), constants: { WG: C <= 256 ? 64 : 256, OFFSET: offset } };
}

const CHANNEL_WG = 64;

/**
 * dweight[c] += sum_n dout[n, c] xhat[n, c] (norm_dweight.wgsl, inputs dout, inp, mean, rstd): rows in chunks of
 * SUM_CHUNK_ROWS into a scratch [chunks, C], then the chunks in order into dweight (one pass when N fits one chunk).
 */
function channelGradient(gpu: Gpu, norm: Norm, dweight: Tensor, inputs: Tensor[], N: number, C: number): void {
  const label = `${norm}.dweight`;
  const chunks = ceilDiv(N, SUM_CHUNK_ROWS);
  const stage = (dst: Tensor, R: number, accumulate: boolean) => gpu.dispatch({
    code: dweightWgsl, entryPoint: norm, label, bindings: [...inputs, dst], params: [N, C, R, accumulate ? 1 : 0],
    workgroups: [ceilDiv(C, CHANNEL_WG), ceilDiv(N, R)], constants: { WG: CHANNEL_WG },
  });
  if (chunks <= 1) {
    stage(firstElements(dweight, C), N, true);
    return;
  }
  const partial = gpu.tensor([chunks, C], `${label}.partial`); // (chunks, C)
  stage(partial, SUM_CHUNK_ROWS, false);
  sumChunksInto(gpu, dweight, partial, chunks, C, true);
  gpu.release(partial);
}

// ---- CPU references (float64) ----------------------------------------------------------------------

export function rmsnormForwardCpu(
  inp: ArrayLike<number>, weight: ArrayLike<number>, N: number, C: number, eps: number, offset = 0,
): { out: Float64Array; rstd: Float64Array } {
  const out = new Float64Array(N * C), rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[n * C + c] ** 2;
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[n * C + c] = inp[n * C + c] * r * (offset + weight[c]);
  }
  return { out, rstd };
}

/** Gradients of one backward call (not accumulated): dinp [N, C], dweight [C]. */
export function rmsnormBackwardCpu(
  dout: ArrayLike<number>, inp: ArrayLike<number>, weight: ArrayLike<number>, rstd: ArrayLike<number>, N: number, C: number,
  offset = 0,
): { dinp: Float64Array; dweight: Float64Array } {
  const dinp = new Float64Array(N * C), dweight = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += (offset + weight[c]) * dout[n * C + c] * inp[n * C + c];
    for (let c = 0; c < C; c++) {
      const i = n * C + c;
      dinp[i] = r * ((offset + weight[c]) * dout[i] - (inp[i] * r * r * dot) / C);
      dweight[c] += dout[i] * inp[i] * r;
    }
  }
  return { dinp, dweight };
}

export function layernormForwardCpu(
  inp: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, N: number, C: number, eps: number,
): { out: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const out = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += inp[n * C + c];
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (inp[n * C + c] - m) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    mean[n] = m;
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[n * C + c] = (inp[n * C + c] - m) * r * weight[c] + bias[c];
  }
  return { out, mean, rstd };
}

/** Gradients of one backward call (not accumulated): dinp [N, C], dweight [C], dbias [C]. */
export function layernormBackwardCpu(
  dout: ArrayLike<number>, inp: ArrayLike<number>, weight: ArrayLike<number>, mean: ArrayLike<number>,
  rstd: ArrayLike<number>, N: number, C: number,
): { dinp: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const dinp = new Float64Array(N * C), dweight = new Float64Array(C), dbias = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const m = mean[n], r = rstd[n];
    let gMean = 0, gxMean = 0;
    for (let c = 0; c < C; c++) {
      const g = weight[c] * dout[n * C + c];
      gMean += g;
      gxMean += g * (inp[n * C + c] - m) * r;
    }
    gMean /= C;
    gxMean /= C;
    for (let c = 0; c < C; c++) {
      const i = n * C + c;
      const xhat = (inp[i] - m) * r;
      dinp[i] = r * (weight[c] * dout[i] - gMean - xhat * gxMean);
      dweight[c] += dout[i] * xhat;
      dbias[c] += dout[i];
    }
  }
  return { dinp, dweight, dbias };
}
