// GELU (tanh approximation) on the GPU, forward and backward, and its CPU reference.
// Shapes: any; elementwise over n = numel(inp). Backward recomputes from the forward's input.
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import forwardWgslSource from './gelu.wgsl?raw';
import backwardWgslSource from './gelu_backward.wgsl?raw';
import activationsWgsl from './activations.wgsl?raw';

const forwardWgsl = `${activationsWgsl}\n${forwardWgslSource}`;
const backwardWgsl = `${activationsWgsl}\n${backwardWgslSource}`;

export function geluForward(gpu: Gpu, out: Tensor, inp: Tensor): void {
  gpu.dispatch({
    code: forwardWgsl, entryPoint: 'forward', label: 'gelu.forward',
    bindings: [inp, out], params: [inp.size], workgroups: elementwiseGrid(inp.size, 256),
  });
}

export function geluBackward(gpu: Gpu, dinp: Tensor, dout: Tensor, inp: Tensor): void {
  gpu.dispatch({
    code: backwardWgsl, entryPoint: 'backward', label: 'gelu.backward',
    bindings: [inp, dout, dinp], params: [inp.size], workgroups: elementwiseGrid(inp.size, 256),
  });
}

// ---- CPU reference (float64) ----------------------------------------------------------------------

const K = Math.sqrt(2 / Math.PI);
const C = 0.044715;

/** The tanh GELU of one number. */
export function geluCpu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(K * (x + C * x * x * x)));
}

export function geluForwardCpu(inp: ArrayLike<number>): Float64Array {
  return Float64Array.from(inp, geluCpu);
}

export function geluBackwardCpu(dout: ArrayLike<number>, inp: ArrayLike<number>): Float64Array {
  const dinp = new Float64Array(inp.length);
  for (let i = 0; i < inp.length; i++) {
    const x = inp[i];
    const t = Math.tanh(K * (x + C * x * x * x));
    dinp[i] = dout[i] * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * C * x * x));
  }
  return dinp;
}
