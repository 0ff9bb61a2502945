// Rotary position embeddings (RoPE) on the GPU, forward and backward, and the float64 CPU reference.
// Convention: Hugging Face's rotate-half (Llama, Qwen, Mistral, Gemma): within each head of D, element i
// pairs with i + D/2, and pair i turns by pos * inv_freq[i], inv_freq[i] = theta^(-2i/D).
// Shapes: inp, out [B, T, nHeads*D] (D even); positions optional u32 [B*T] (packing), else row t sits at
// position posOffset + t (decoding with a KV cache passes posOffset = pastLen).
// Contract: the angles are the f32 values HF computes (inv_freq rounded to f32 as torch does, one f32
// product with the position), so long positions land on the same cos/sin as a PyTorch run. out and inp
// must be different tensors (WebGPU forbids aliasing a read and a read_write binding). Backward rotates
// by -angle (a rotation's transpose) and needs nothing saved from forward.
// Not here: partial rotary dims, NTK/YaRN/llama3 frequency scaling (they would only change inv_freq).
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import cosSinWgsl from './cos_sin.wgsl?raw';
import ropeSource from './rope.wgsl?raw';

const ropeWgsl = `${cosSinWgsl}\n${ropeSource}`;

/** RoPE frequency scaling as transformers' rope_scaling: 'linear' divides every frequency by factor;
 *  'llama3' (Llama 3.1/3.2) divides low frequencies by factor, keeps high ones, and blends in between. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface RopeDims { B: number; T: number; nHeads: number; D: number; theta: number; posOffset?: number; scaling?: RopeScaling | null }

const WG = 256;

/**
 * inv_freq[i] = 1 / theta^(2i/D) rounded to f32 step by step, as HF's `_compute_default_rope_parameters`,
 * then scaled as `_compute_linear_scaling_rope_parameters` / `_compute_llama3_parameters` do.
 */
export function ropeInvFreq(D: number, theta: number, scaling: RopeScaling | null = null): Float32Array {
  const f = new Float32Array(D / 2);
  for (let i = 0; i < D / 2; i++) {
    const exponent = Math.fround((2 * i) / D);   // torch.arange(0, D, 2).float() / D
    f[i] = Math.fround(1 / Math.fround(Math.pow(theta, exponent)));
  }
  if (scaling?.type === 'linear') for (let i = 0; i < f.length; i++) f[i] = Math.fround(f[i] / scaling.factor);
  if (scaling?.type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions: old } = scaling;
    const lowWavelen = old / lowFreqFactor, highWavelen = old / highFreqFactor;
    for (let i = 0; i < f.length; i++) {
      const wavelen = (2 * Math.PI) / f[i];
      if (wavelen > lowWavelen) f[i] = Math.fround(f[i] / factor);                     // low frequencies: scaled
      else if (wavelen >= highWavelen) {                                                // medium: blended
        const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        f[i] = Math.fround((1 - smooth) * (f[i] / factor) + smooth * f[i]);
      }                                                                                 // high: unchanged
    }
  }
  return f;
}

// One small inv_freq table per (device, D, theta), uploaded on first use.
const invFreqTables = new WeakMap<Gpu, Map<string, Tensor>>();

function invFreqTensor(gpu: Gpu, D: number, theta: number, scaling: RopeScaling | null): Tensor {
  let tables = invFreqTables.get(gpu);
  if (!tables) invFreqTables.set(gpu, (tables = new Map()));
  const key = `${D}|${theta}|${JSON.stringify(scaling)}`;
  let t = tables.get(key);
  if (!t) tables.set(key, (t = gpu.fromArray([D / 2], ropeInvFreq(D, theta, scaling), `rope.invFreq(D=${D}, theta=${theta})`)));
  return t;
}

function rotate(gpu: Gpu, entryPoint: 'forward' | 'backward', dst: Tensor, src: Tensor, dims: RopeDims, positions?: Tensor): void {
  const { B, T, nHeads, D, theta, posOffset = 0 } = dims;
  if (D % 2 !== 0) throw new Error(`rope: head dim ${D} is odd`);
  const n = B * T * nHeads * D;
  if (src.size !== n || dst.size !== n) throw new Error(`rope.${entryPoint}: ${src.label}/${dst.label} have ${src.size}/${dst.size} elements, expected ${n}`);
  if (src.buffer === dst.buffer) throw new Error(`rope.${entryPoint}: ${dst.label} and ${src.label} share a buffer`);
  if (positions && positions.size !== B * T) throw new Error(`rope: positions has ${positions.size} elements, expected ${B * T}`);
  gpu.dispatch({
    code: ropeWgsl, entryPoint, label: `rope.${entryPoint}`,
    // Without packing the positions slot is never read; src stands in (two read-only bindings may alias).
    bindings: [src, invFreqTensor(gpu, D, theta, dims.scaling ?? null), positions ?? src, dst],
    params: [B, T, nHeads, D / 2, posOffset],
    workgroups: elementwiseGrid(n / 2, WG),
    constants: { WG, HAS_POS: positions ? 1 : 0 },
  });
}

export function ropeForward(gpu: Gpu, out: Tensor, inp: Tensor, dims: RopeDims, positions?: Tensor): void {
  rotate(gpu, 'forward', out, inp, dims, positions);
}

export function ropeBackward(gpu: Gpu, dinp: Tensor, dout: Tensor, dims: RopeDims, positions?: Tensor): void {
  rotate(gpu, 'backward', dinp, dout, dims, positions);
}

// ---- CPU reference (float64 arithmetic on HF's f32 angles) ----------------------------------------

function rotateCpu(x: ArrayLike<number>, dims: RopeDims, sign: 1 | -1, positions?: ArrayLike<number>): Float64Array {
  const { B, T, nHeads, D, theta, posOffset = 0 } = dims;
  const half = D / 2, invFreq = ropeInvFreq(D, theta, dims.scaling ?? null);
  const y = new Float64Array(B * T * nHeads * D);
  for (let row = 0; row < B * T; row++) {
    const pos = positions ? positions[row] : posOffset + (row % T);
    for (let i = 0; i < half; i++) {
      const a = Math.fround(pos * invFreq[i]);  // the f32 angle (the double product of two f32s is exact)
      const c = Math.cos(a), s = sign * Math.sin(a);
      for (let h = 0; h < nHeads; h++) {
        const lo = (row * nHeads + h) * D + i, hi = lo + half;
        y[lo] = x[lo] * c - x[hi] * s;
        y[hi] = x[hi] * c + x[lo] * s;
      }
    }
  }
  return y;
}

export function ropeForwardCpu(inp: ArrayLike<number>, dims: RopeDims, positions?: ArrayLike<number>): Float64Array {
  return rotateCpu(inp, dims, 1, positions);
}

export function ropeBackwardCpu(dout: ArrayLike<number>, dims: RopeDims, positions?: ArrayLike<number>): Float64Array {
  return rotateCpu(dout, dims, -1, positions);
}
