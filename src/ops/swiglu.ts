// SwiGLU (the Llama MLP's gating), forward and backward side by side, with float64 CPU references.
//   swigluForward(out, gate, up, n)                 out = silu(gate) * up, elementwise over n
//   swigluBackward(dgate, dup, dout, gate, up, n)   from the forward's inputs; dgate and dup are overwritten
// Shapes: gate, up, out [N, F] (any, n = N F); operands may be disjoint views of one buffer, never overlapping.
// Not here: the gate/up/down projections (matmuls).
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import { firstElements } from './elementwise';
import forwardWgsl from './swiglu.wgsl?raw';
import backwardWgsl from './swiglu_backward.wgsl?raw';

const WG = 256;

export function swigluForward(gpu: Gpu, out: Tensor, gate: Tensor, up: Tensor, n: number): void {
  if (n === 0) return;
  gpu.dispatch({
    code: forwardWgsl, entryPoint: 'forward', label: 'swiglu.forward',
    bindings: [firstElements(gate, n), firstElements(up, n), firstElements(out, n)],
    params: [n], workgroups: elementwiseGrid(n, WG),
  });
}

export function swigluBackward(gpu: Gpu, dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor, n: number): void {
  if (n === 0) return;
  gpu.dispatch({
    code: backwardWgsl, entryPoint: 'backward', label: 'swiglu.backward',
    bindings: [firstElements(dout, n), firstElements(gate, n), firstElements(up, n), firstElements(dgate, n), firstElements(dup, n)],
    params: [n], workgroups: elementwiseGrid(n, WG),
  });
}

// ---- CPU reference (float64) ----------------------------------------------------------------------

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function swigluForwardCpu(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  return Float64Array.from(gate, (g, i) => g * sigmoid(g) * up[i]);
}

export function swigluBackwardCpu(
  dout: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>,
): { dgate: Float64Array; dup: Float64Array } {
  const n = gate.length, dgate = new Float64Array(n), dup = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i], s = sigmoid(g);
    dup[i] = dout[i] * g * s;
    dgate[i] = dout[i] * up[i] * s * (1 + g * (1 - s));
  }
  return { dgate, dup };
}
