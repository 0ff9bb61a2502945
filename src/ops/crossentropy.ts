// Softmax cross-entropy with a per-token loss mask: the loss and the gradient of the logits in one kernel,
// and its float64 CPU reference.
//
// Shapes (f32 row-major unless noted; any tensor may be a view):
//   logits [N, V], targets u32 [N], lossMask f32 [N], losses [N], dlogits [N, V] | null
// Contract:
//   losses[i]     = lossMask[i] * (logsumexp(logits[i, :]) - logits[i, targets[i]])        (0 where mask is 0)
//   dlogits[i, :] = gradScale * lossMask[i] * (softmax(logits[i, :]) - onehot(targets[i]))
//   The caller picks gradScale (typically 1 / sum(lossMask), so dlogits is the gradient of the mean loss).
//   Rows with mask 0 cost one pass of zero writes: no softmax.
//   dlogits may be the same tensor as logits (in place: saves the [N, V] buffer for a 150k vocabulary), or
//   null (evaluation: losses only, logits untouched).
//   targets[i] must be < V on rows with a nonzero mask; otherwise losses[i] is NaN.
// GPU layout (crossEntropyLayout): on real GPUs a workgroup per row, V reduced in parallel (online max/sum, then
// a fixed tree, or subgroup sums on a device with `subgroups`); on software adapters an invocation per row. Either
// way the result is deterministic. autotune (src/ops/autotune.ts) may choose the layout per device.
// Not here: the mean over tokens (the caller sums `losses`, or folds 1/count into gradScale).
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import commonWgsl from './crossentropy_common.wgsl?raw';
import separateWgsl from './crossentropy.wgsl?raw';
import inPlaceWgsl from './crossentropy_inplace.wgsl?raw';
import treeWgsl from './crossentropy_rows_tree.wgsl?raw';
import subgroupRowsWgsl from './crossentropy_rows_subgroup.wgsl?raw';
import subgroupSumWgsl from './subgroup_sum.wgsl?raw';

/**
 * How rows map to invocations (crossentropy_common.wgsl): a workgroup per row (its pairs merged in a tree, or through
 * subgroups: 'rowPerWorkgroupSubgroups', devices with `subgroups`), or an invocation per row.
 */
export type CrossEntropyLayout = 'rowPerWorkgroup' | 'rowPerWorkgroupSubgroups' | 'rowPerInvocation';
export const CROSS_ENTROPY_LAYOUTS: readonly CrossEntropyLayout[] = ['rowPerWorkgroup', 'rowPerWorkgroupSubgroups', 'rowPerInvocation'];

const merged = (rows: string) => ({ separate: `${rows}\n${commonWgsl}\n${separateWgsl}`, inPlace: `${rows}\n${commonWgsl}\n${inPlaceWgsl}` });
const CODE = { tree: merged(treeWgsl), subgroup: merged(`${subgroupSumWgsl}\n${subgroupRowsWgsl}`) };

const chosen = new WeakMap<Gpu, CrossEntropyLayout>();

/** Sets the layout crossEntropyLayout gives on this device (autotune's result, for N >= 64); null restores the default. */
export function setCrossEntropyLayout(gpu: Gpu, layout: CrossEntropyLayout | null): void {
  if (layout === null) chosen.delete(gpu);
  else chosen.set(gpu, layout);
}

/** Threads per workgroup of a layout as chosen for this device (the per-invocation layout's own grouping). */
function layoutWG(gpu: Gpu, layout: CrossEntropyLayout): number {
  if (layout === 'rowPerInvocation') return 16;
  return gpu.isSoftware ? 64 : 256;
}

/**
 * The layout for this adapter and shape. Real GPUs: a 256-wide workgroup per row. Software adapters (SwiftShader,
 * measured 2026-11-26): a barrier-heavy 256-wide workgroup costs ~10 ms of overhead alone, a 64-wide one ~1 ms,
 * and an invocation per row with no barriers is 6-10x faster than either at N = 2000, V = 1000, and on par at
 * N = 64, V = 50257; so an invocation per row once there are enough rows to fill the cores.
 */
export function crossEntropyLayout(gpu: Gpu, N: number): { layout: CrossEntropyLayout; WG: number } {
  const tuned = chosen.get(gpu);
  if (tuned && N >= 64) return { layout: tuned, WG: layoutWG(gpu, tuned) };
  if (!gpu.isSoftware) return { layout: 'rowPerWorkgroup', WG: 256 };
  return N >= 64 ? { layout: 'rowPerInvocation', WG: 16 } : { layout: 'rowPerWorkgroup', WG: 64 };
}

export function crossEntropyForwardBackward(
  gpu: Gpu, losses: Tensor, dlogits: Tensor | null, logits: Tensor, targets: Tensor, lossMask: Tensor,
  N: number, V: number, gradScale: number, layout = crossEntropyLayout(gpu, N),
): void {
  need(logits, N * V, 'logits'); need(targets, N, 'targets'); need(lossMask, N, 'lossMask'); need(losses, N, 'losses');
  if (N === 0) return;
  const inPlace = dlogits !== null && dlogits.buffer === logits.buffer && dlogits.offset === logits.offset;
  if (dlogits && !inPlace) {
    need(dlogits, N * V, 'dlogits');
    if (dlogits.buffer === logits.buffer && overlaps(dlogits, logits, N * V)) {
      throw new Error(`crossEntropy: dlogits ${dlogits.label} partly overlaps logits ${logits.label}; pass the same tensor for in place`);
    }
  }
  const separate = dlogits !== null && !inPlace;
  const { WG } = layout;
  const subgroups = layout.layout === 'rowPerWorkgroupSubgroups';
  if (subgroups && !gpu.subgroups) throw new Error('crossEntropy: the rowPerWorkgroupSubgroups layout needs a device with the subgroups feature');
  const entryPoint = layout.layout === 'rowPerInvocation' ? 'rowPerInvocation' : 'rowPerWorkgroup';
  const code = CODE[subgroups ? 'subgroup' : 'tree'];
  gpu.dispatch({
    code: separate ? code.separate : code.inPlace, entryPoint,
    label: `crossEntropy.${dlogits ? (inPlace ? 'forwardBackwardInPlace' : 'forwardBackward') : 'forward'}.${layout.layout}`,
    bindings: separate ? [logits, targets, lossMask, losses, dlogits] : [logits, targets, lossMask, losses],
    params: { u32: [N, V, dlogits ? 1 : 0], f32: [gradScale] },
    workgroups: elementwiseGrid(N, entryPoint === 'rowPerWorkgroup' ? 1 : WG),
    constants: { WG },
  });
}

function need(t: Tensor, size: number, name: string): void {
  if (t.size < size) throw new Error(`crossEntropy: ${name} (${t.label}) has ${t.size} elements, needs ${size}`);
}

function overlaps(a: Tensor, b: Tensor, size: number): boolean {
  return a.offset < b.offset + size && b.offset < a.offset + size;
}

// ---- CPU reference (float64) ----------------------------------------------------------------------

export function crossEntropyCpu(
  logits: ArrayLike<number>, targets: ArrayLike<number>, lossMask: ArrayLike<number>,
  N: number, V: number, gradScale: number,
): { losses: Float64Array; dlogits: Float64Array } {
  const losses = new Float64Array(N);
  const dlogits = new Float64Array(N * V);
  for (let i = 0; i < N; i++) {
    const mask = lossMask[i];
    if (mask === 0) continue;
    const base = i * V, t = targets[i];
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[base + j]);
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[base + j] - max);
    const lse = max + Math.log(sum);
    losses[i] = t < V ? mask * (lse - logits[base + t]) : NaN;
    const scale = gradScale * mask;
    for (let j = 0; j < V; j++) dlogits[base + j] = scale * (Math.exp(logits[base + j] - lse) - (j === t ? 1 : 0));
  }
  return { losses, dlogits };
}
