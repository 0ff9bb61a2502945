// Gated linear units (the Llama-style MLP's gating), forward and backward side by side, with float64 CPU references.
//   gluForward(out, gate, up, n, act)                 out = act(gate) * up, elementwise over n
//   gluBackward(dgate, dup, dout, gate, up, n, act)   from the forward's inputs; dgate and dup are overwritten
// act: 'silu' (SwiGLU: Llama, Qwen) or 'gelu_tanh' (GeGLU with the tanh GELU: Gemma's gelu_pytorch_tanh).
// Shapes: gate, up, out [N, F] (any, n = N F); operands may be disjoint views of one buffer, never overlapping.
// Not here: the gate/up/down projections (matmuls).
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import { firstElements } from './elementwise';
import { geluBackwardCpu, geluForwardCpu } from './gelu';
import forwardWgslSource from './glu.wgsl?raw';
import backwardWgslSource from './glu_backward.wgsl?raw';
import activationsWgsl from './activations.wgsl?raw';

const forwardWgsl = `${activationsWgsl}\n${forwardWgslSource}`;
const backwardWgsl = `${activationsWgsl}\n${backwardWgslSource}`;

export type GluActivation = 'silu' | 'gelu_tanh';

const WG = 256;

export function gluForward(gpu: Gpu, out: Tensor, gate: Tensor, up: Tensor, n: number, act: GluActivation = 'silu'): void {
  if (n === 0) return;
  gpu.dispatch({
    code: forwardWgsl, entryPoint: 'forward', label: `glu.${act}.forward`,
    bindings: [firstElements(gate, n), firstElements(up, n), firstElements(out, n)],
    params: [n], workgroups: elementwiseGrid(n, WG), constants: { GELU: act === 'gelu_tanh' ? 1 : 0 },
  });
}

export function gluBackward(gpu: Gpu, dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor, n: number, act: GluActivation = 'silu'): void {
  if (n === 0) return;
  gpu.dispatch({
    code: backwardWgsl, entryPoint: 'backward', label: `glu.${act}.backward`,
    bindings: [firstElements(dout, n), firstElements(gate, n), firstElements(up, n), firstElements(dgate, n), firstElements(dup, n)],
    params: [n], workgroups: elementwiseGrid(n, WG), constants: { GELU: act === 'gelu_tanh' ? 1 : 0 },
  });
}

// ---- CPU reference (float64) ----------------------------------------------------------------------

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function gluForwardCpu(gate: ArrayLike<number>, up: ArrayLike<number>, act: GluActivation = 'silu'): Float64Array {
  if (act === 'gelu_tanh') return geluForwardCpu(gate).map((a, i) => a * up[i]);
  return Float64Array.from(gate, (g, i) => g * sigmoid(g) * up[i]);
}

export function gluBackwardCpu(
  dout: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>, act: GluActivation = 'silu',
): { dgate: Float64Array; dup: Float64Array } {
  const n = gate.length;
  if (act === 'gelu_tanh') {
    const a = geluForwardCpu(gate);
    return { dgate: geluBackwardCpu(Float64Array.from(dout, (d, i) => d * up[i]), gate), dup: Float64Array.from(dout, (d, i) => d * a[i]) };
  }
  const dgate = new Float64Array(n), dup = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i], s = sigmoid(g);
    dup[i] = dout[i] * g * s;
    dgate[i] = dout[i] * up[i] * s * (1 + g * (1 - s));
  }
  return { dgate, dup };
}
