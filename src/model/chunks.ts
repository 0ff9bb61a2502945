// Weights larger than one storage binding, stored as row blocks, and the products every caller needs over them.
// A weight W [rows, cols] whose bytes exceed the binding limit (maxStorageBufferBindingSize, 128 MiB by default;
// Llama 3.2 1B's embedding table is 1 GiB) is described as row blocks W_k = W[first_k : first_k + rows_k, :],
// each within the limit; ParamTable builds them (views of one buffer, or separate buffers when the weight is
// over maxBufferSize too). Every block but the last has the same row count, a multiple of VIEW_ALIGN, so a
// block's rows start on a view boundary in any [rows, *] tensor (bias, LoRA B, the gradient).
//
// The helpers here are the one code path for all of them (embedding, LM head, linear layers, generation):
//   gatherRows          out[n] = W[ids[n]]                   (embedding forward)
//   scatterRowsGrad     dW[ids[n]] += dout[n]                (embedding backward)
//   matmulWT            out[M, rows] = x[M, cols] W^T        (HF Linear forward, LM head; Conv1D dx)
//   matmulW             out[M, cols] = x[M, rows] W          (HF Linear dx, head dhf; Conv1D forward)
//   accumulateGradATB   dW[rows, cols] += a[M, rows]^T b     (weight gradients)
// With one block each is exactly the single kernel call it replaces (no extra dispatch). With several, the
// products over a block read or write a column range of the [M, rows] operand, through copyColumns into a
// temporary [M, rows_k]; the sums stay exact (each output element is one block's dot product, or a sum of
// block partials in block order).
// Not here: deciding the layout (ParamTable), the trainable flat table's own size (optimizer, checkpoints).
import type { Gpu, Tensor } from '../gpu/runtime';
import { copyColumns } from '../ops/columns';
import { embeddingBackward, embeddingForward } from '../ops/embedding';
import { matmul, type MatmulOptions } from '../ops/matmul';
import type { WeightStorage } from '../ops/weight-storage';

/** Rows [first, first + rows) of a weight: the values and, when the weight trains, their gradient. */
interface RowBlock { first: number; rows: number; w: Tensor; dw: Tensor | null }

/**
 * A weight [rows, cols] as row blocks in order (one block when it fits one binding), stored as `storage` says
 * (a frozen weight may be 16-bit or quantised, each block encoded on its own: src/ops/weight-storage.ts).
 */
export interface RowChunked {
  name: string; rows: number; cols: number; storage: WeightStorage; blocks: RowBlock[];
  /** The matmul's f16 kernels read it (an f16 weight within F16_MAX_WEIGHT on a device with shader-f16: params.ts). */
  f16Math: boolean;
}

const only = (W: RowChunked): RowBlock | null => (W.blocks.length === 1 ? W.blocks[0] : null);

/** out [N, cols] = W rows of ids (ids >= rows give zeros). */
export function gatherRows(gpu: Gpu, out: Tensor, ids: Tensor, W: RowChunked, N: number): void {
  for (const b of W.blocks) embeddingForward(gpu, out, ids, b.w, N, W.cols, b.first, W.storage, b.rows);
}

/** dW[ids[n]] += dout[n] for the blocks that train; ids must be in [0, rows). */
export function scatterRowsGrad(gpu: Gpu, W: RowChunked, dout: Tensor, idsCpu: Uint32Array, N: number, skipId = -1): void {
  for (const b of W.blocks) if (b.dw) embeddingBackward(gpu, b.dw, dout, idsCpu, N, W.cols, b.first, W.rows, skipId);
}

type ChunkedOptions = Pick<MatmulOptions, 'bias' | 'accumulate' | 'extra'>;

/** x's columns [first, first + width) as a pooled [M, width] tensor (release it). */
function columns(gpu: Gpu, x: Tensor, xCols: number, first: number, width: number, M: number): Tensor {
  const t = gpu.tensor([M, width], `${x.label}.cols`);
  copyColumns(gpu, t, width, 0, x, xCols, first, width, M);
  return t;
}

/**
 * out [M, rows] (=|+=) x [M, cols] · W^T + bias [rows] + extra. Per block: out[:, block] = x W_k^T + bias[block];
 * the extra product (LoRA) then spans the whole output in one accumulating pass.
 */
export function matmulWT(gpu: Gpu, out: Tensor, x: Tensor, W: RowChunked, M: number, opts: ChunkedOptions = {}): void {
  const one = only(W);
  if (one) {
    matmul(gpu, out, x, one.w, M, W.rows, W.cols, { ...opts, transB: true, bStorage: W.storage, f16Math: W.f16Math });
    return;
  }
  const { bias, accumulate = false, extra } = opts;
  for (const b of W.blocks) {
    const part = accumulate ? columns(gpu, out, W.rows, b.first, b.rows, M) : gpu.tensor([M, b.rows], `${out.label}.cols`);
    const blockBias = bias && gpu.view(bias, b.first, [b.rows], `${bias.label}.rows`);
    matmul(gpu, part, x, b.w, M, b.rows, W.cols, { transB: true, accumulate, bias: blockBias, bStorage: W.storage, f16Math: W.f16Math });
    copyColumns(gpu, out, W.rows, b.first, part, b.rows, 0, b.rows, M);
    gpu.release(part);
  }
  if (extra) matmul(gpu, out, extra.a, extra.b, M, W.rows, extra.k, { transB: extra.transB, alpha: extra.alpha, accumulate: true });
}

/**
 * out [M, cols] (=|+=) x [M, rows] · W + bias [cols] + extra: the sum over blocks of x[:, block] W_k, bias and
 * extra joining the first block's dispatch.
 */
export function matmulW(gpu: Gpu, out: Tensor, x: Tensor, W: RowChunked, M: number, opts: ChunkedOptions = {}): void {
  const one = only(W);
  if (one) {
    matmul(gpu, out, x, one.w, M, W.cols, W.rows, { ...opts, bStorage: W.storage, f16Math: W.f16Math });
    return;
  }
  W.blocks.forEach((b, k) => {
    const xs = columns(gpu, x, W.rows, b.first, b.rows, M);
    const head = k === 0;
    matmul(gpu, out, xs, b.w, M, W.cols, b.rows, {
      accumulate: !head || opts.accumulate, bias: head ? opts.bias : undefined, extra: head ? opts.extra : undefined,
      bStorage: W.storage, f16Math: W.f16Math,
    });
    gpu.release(xs);
  });
}

/** dW [rows, cols] += alpha · a [M, rows]^T · b [M, cols], into each block that trains. */
export function accumulateGradATB(gpu: Gpu, W: RowChunked, a: Tensor, b: Tensor, M: number, alpha = 1): void {
  const one = only(W);
  if (one) {
    if (one.dw) matmul(gpu, one.dw, a, b, W.rows, W.cols, M, { transA: true, accumulate: true, alpha });
    return;
  }
  for (const blk of W.blocks) {
    if (!blk.dw) continue;
    const as = columns(gpu, a, W.rows, blk.first, blk.rows, M);
    matmul(gpu, blk.dw, as, b, blk.rows, W.cols, M, { transA: true, accumulate: true, alpha });
    gpu.release(as);
  }
}
