// Column-block copy: dst[:, dstCol : dstCol+width] = src[:, srcCol : srcCol+width] over N rows.
// GPT-2's fused c_attn produces qkv [N, 3C]; attention wants q, k, v contiguous [N, C] each. Forward splits
// with three copies, backward concatenates dq, dk, dv back into dqkv the same way.
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import wgsl from './columns.wgsl?raw';

export function copyColumns(
  gpu: Gpu, dst: Tensor, dstCols: number, dstCol: number,
  src: Tensor, srcCols: number, srcCol: number, width: number, N: number,
): void {
  gpu.dispatch({
    code: wgsl, entryPoint: 'main', label: 'copyColumns',
    bindings: [src, dst], params: [N, width, srcCols, srcCol, dstCols, dstCol],
    workgroups: elementwiseGrid(N * width, 256),
  });
}

export function copyColumnsCpu(
  dst: Float64Array | Float32Array, dstCols: number, dstCol: number,
  src: ArrayLike<number>, srcCols: number, srcCol: number, width: number, N: number,
): void {
  for (let n = 0; n < N; n++) for (let c = 0; c < width; c++) dst[n * dstCols + dstCol + c] = src[n * srcCols + srcCol + c];
}
