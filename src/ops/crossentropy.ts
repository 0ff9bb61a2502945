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
// GPU layout: one workgroup of WG invocations per row, V reduced in parallel (online max/sum, then a tree), so
// the result is deterministic. Not here: the mean over tokens (a sum of `losses` read back for metrics).
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import commonWgsl from './crossentropy_common.wgsl?raw';
import separateWgsl from './crossentropy.wgsl?raw';
import inPlaceWgsl from './crossentropy_inplace.wgsl?raw';

const WG = 256;
const separateCode = `${commonWgsl}\n${separateWgsl}`;
const inPlaceCode = `${commonWgsl}\n${inPlaceWgsl}`;

export function crossEntropyForwardBackward(
  gpu: Gpu, losses: Tensor, dlogits: Tensor | null, logits: Tensor, targets: Tensor, lossMask: Tensor,
  N: number, V: number, gradScale: number,
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
  const params = { u32: [N, V, dlogits ? 1 : 0], f32: [gradScale] };
  const workgroups = elementwiseGrid(N, 1); // one workgroup per row
  if (dlogits && !inPlace) {
    gpu.dispatch({
      code: separateCode, entryPoint: 'forwardBackward', label: 'crossEntropy.forwardBackward',
      bindings: [logits, targets, lossMask, losses, dlogits], params, workgroups, constants: { WG },
    });
  } else {
    gpu.dispatch({
      code: inPlaceCode, entryPoint: 'forwardBackwardInPlace',
      label: dlogits ? 'crossEntropy.forwardBackwardInPlace' : 'crossEntropy.forward',
      bindings: [logits, targets, lossMask, losses], params, workgroups, constants: { WG },
    });
  }
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
