// One decoding step of a whole small transformer in one dispatch (decode_step.wgsl): every sequence of the batch
// reads its token and position from the decoding state, runs embedding → layers → final norm → head on one workgroup,
// appends its keys and values to the KV cache, and samples its next token as sampleTokens does (sample.wgsl's
// sample_sequence.wgsl), so a step of generation is this one dispatch. Forward only: decoding has no backward.
//   decodeStep(gpu, pack, kv, logits, decoding, kind, dims{B, V}, sampling)
// The model arrives as a `pack`: a u32 header (decodeStepHeader: dimensions, and the element offset of every weight
// in the pack, or ABSENT) followed by the f32 weights wherever the header says. src/model/decode-pack.ts builds one
// from a Transformer (any family's recipe; LoRA folded in). The kv cache is one buffer [L, 2, B, cap, Hkv·D].
// Contract: logits [B, V] are the model's for each live sequence (written, then sampled: a repetition penalty
// changes them in place as sampleTokens does); a done slot computes nothing and writes no cache row. Tokens are
// those sampleTokens picks from these logits; the logits equal the layer-by-layer path's to f32 rounding.
// It fits when the sequence's activations fit the workgroup's memory (decodeStepFits); callers decide when it pays.
// Not here: prefill (the layer-by-layer forward fills the cache), building the pack, training.
import type { Gpu, Tensor } from '../gpu/runtime';
import type { GluActivation } from './glu';
import { geluForwardCpu } from './gelu';
import { samplingBindings, sampleWorkgroup, type DecodingState, type SamplingParams } from './sample';
import activationsWgsl from './activations.wgsl?raw';
import cosSinWgsl from './cos_sin.wgsl?raw';
import sampleSequenceWgsl from './sample_sequence.wgsl?raw';
import stepWgsl from './decode_step.wgsl?raw';

const decodeStepWgsl = [activationsWgsl, cosSinWgsl, sampleSequenceWgsl, stepWgsl].join('\n');

/** A header word for a part the model does not have (a bias, a norm, RoPE, a window). */
export const ABSENT = 0xffffffff;

/** What kind of block: the pipeline's constants. */
export interface DecodeStepKind {
  norm: 'rms' | 'layer';
  /** RMSNorm's weight offset (Gemma: x·rstd·(1 + w)). */
  normOffset: number;
  /** Linear weights [in, out] (GPT-2's Conv1D) instead of [out, in]. */
  conv1d: boolean;
  gated: boolean;
  activation: GluActivation;
}

export interface DecodeStepDims {
  L: number; C: number; H: number; Hkv: number; D: number; F: number; V: number;
  /** The longest cache a step may meet: the scores of every head over that many keys fit the workgroup. */
  maxPositions: number;
}

/** A norm's weight (ABSENT: the block has no such norm) and bias (LayerNorm's; ABSENT for RMSNorm). */
export interface NormSlot { weight: number; bias: number }
/** A matrix [in, out] (W^T of an HF Linear): its first element, its row stride (out, or more for columns of a fused one), its bias. */
export interface MatrixSlot { at: number; ld: number; bias: number }

export interface DecodeLayerSlots {
  attnNorm: NormSlot; q: MatrixSlot; k: MatrixSlot; v: MatrixSlot; qNorm: NormSlot | null; kNorm: NormSlot | null;
  o: MatrixSlot; postAttnNorm: NormSlot | null; mlpNorm: NormSlot; gate: MatrixSlot | null; up: MatrixSlot; down: MatrixSlot;
  postMlpNorm: NormSlot | null;
  /** Offset of the layer's RoPE inverse frequencies [D/2] (ropeInvFreq), or null without RoPE. */
  invFreq: number | null;
  window: number | null;
  /** Attention scores are q·k × scale. */
  scale: number;
}

/** Where everything sits in a pack (element offsets), and the dimensions. */
export interface DecodeStepLayout {
  dims: DecodeStepDims;
  eps: number;
  embedScale: number;
  /** The embedding [V, C]. */
  embed: number;
  /** Learned positions [maxPositions, C] (GPT-2), or null. */
  positions: number | null;
  finalNorm: NormSlot;
  /** The head as [C, V] (the embedding transposed when tied). */
  head: number;
  layers: DecodeLayerSlots[];
}

// Word positions, as decode_step.wgsl names them (H_*, L_*): the header, then LAYER words per layer.
const HW = { L: 0, C: 1, H: 2, Hkv: 3, D: 4, F: 5, cap: 6, maxPositions: 7, eps: 8, embedScale: 9, embed: 10, positions: 11, finalNorm: 12, head: 14 } as const;
const HEADER = 16;
const LW = {
  attnNorm: 0, q: 2, k: 5, v: 8, qNorm: 11, kNorm: 13, o: 15, postAttnNorm: 18, mlpNorm: 20, gate: 22, up: 25, down: 28,
  postMlpNorm: 31, invFreq: 33, window: 34, scale: 35,
} as const;
const LAYER = 36;

/** Words of a pack's header for L layers (the weights go after it). */
export function decodeStepHeaderWords(L: number): number {
  return HEADER + L * LAYER;
}

const f32Bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0];

/** The header words of `layout` for a cache of `cap` rows per sequence. */
export function decodeStepHeader(layout: DecodeStepLayout, cap: number): Uint32Array {
  const { dims: d } = layout;
  if (cap > d.maxPositions) throw new Error(`decode step: a cache of ${cap} rows is longer than maxPositions ${d.maxPositions}`);
  if (layout.layers.length !== d.L) throw new Error(`decode step: ${layout.layers.length} layers laid out, L = ${d.L}`);
  const words = new Uint32Array(decodeStepHeaderWords(d.L)).fill(ABSENT);
  const put = (at: number, ...values: number[]) => words.set(values, at);
  const norm = (at: number, n: NormSlot | null) => { if (n) put(at, n.weight, n.bias); };
  const matrix = (at: number, m: MatrixSlot | null) => { if (m) put(at, m.at, m.ld, m.bias); };
  put(HW.L, d.L, d.C, d.H, d.Hkv, d.D, d.F, cap, d.maxPositions, f32Bits(layout.eps), f32Bits(layout.embedScale), layout.embed);
  if (layout.positions !== null) put(HW.positions, layout.positions);
  norm(HW.finalNorm, layout.finalNorm);
  put(HW.head, layout.head);
  layout.layers.forEach((l, i) => {
    const r = HEADER + i * LAYER;
    norm(r + LW.attnNorm, l.attnNorm);
    matrix(r + LW.q, l.q);
    matrix(r + LW.k, l.k);
    matrix(r + LW.v, l.v);
    norm(r + LW.qNorm, l.qNorm);
    norm(r + LW.kNorm, l.kNorm);
    matrix(r + LW.o, l.o);
    norm(r + LW.postAttnNorm, l.postAttnNorm);
    norm(r + LW.mlpNorm, l.mlpNorm);
    matrix(r + LW.gate, l.gate);
    matrix(r + LW.up, l.up);
    matrix(r + LW.down, l.down);
    norm(r + LW.postMlpNorm, l.postMlpNorm);
    if (l.invFreq !== null) put(r + LW.invFreq, l.invFreq);
    if (l.window !== null) put(r + LW.window, l.window);
    put(r + LW.scale, f32Bits(l.scale));
  });
  return words;
}

/**
 * The f32 elements of workgroup memory a step needs: x, n, y [C]; q, a [H·D]; k, v [Hkv·D]; z, the larger of the
 * scores [H, maxPositions] and the MLP's up and gate [2, F].
 */
export function decodeStepWorkgroupFloats(d: DecodeStepDims): number {
  return 3 * d.C + 2 * d.H * d.D + 2 * d.Hkv * d.D + Math.max(d.H * d.maxPositions, 2 * d.F);
}

/**
 * The kernel fits this model and device: the activations and the sampler's reductions in the workgroup's memory, and
 * every width a matrix is read along (and every region of workgroup memory) a multiple of 4 (decode_step.wgsl's vec4s).
 */
export function decodeStepFits(gpu: Gpu, d: DecodeStepDims): boolean {
  const bytes = 4 * (decodeStepWorkgroupFloats(d) + 1) + 4 * (3 * sampleWorkgroup(gpu) + 1);
  const widths = [d.C, d.H * d.D, d.Hkv * d.D, d.F];
  return bytes <= gpu.device.limits.maxComputeWorkgroupStorageSize && d.D % 2 === 0 && d.H % d.Hkv === 0 && widths.every((n) => n % 4 === 0);
}

/** Elements of the kv cache [L, 2, B, cap, Hkv·D], and where sequence b's keys (or values) of layer l start. */
export function kvCacheSize(d: Pick<DecodeStepDims, 'L' | 'Hkv' | 'D'>, B: number, cap: number): number {
  return d.L * 2 * B * cap * d.Hkv * d.D;
}

export function kvCacheOffset(d: Pick<DecodeStepDims, 'Hkv' | 'D'>, B: number, cap: number, l: number, values: boolean, b: number): number {
  return ((2 * l + (values ? 1 : 0)) * B + b) * cap * d.Hkv * d.D;
}

/**
 * One step for B sequences: logits [B, V] written and sampled, each live sequence's k/v rows appended at its position
 * in kv, its state advanced (sample.ts). `pack` holds the header (for kv's cap) and the weights.
 */
export function decodeStep(
  gpu: Gpu, pack: Tensor, kv: Tensor, logits: Tensor, decoding: DecodingState, kind: DecodeStepKind, layout: DecodeStepLayout,
  B: number, cap: number, sampling: SamplingParams,
): void {
  const { dims } = layout;
  if (!decodeStepFits(gpu, dims)) throw new Error(`decode step: a sequence's activations do not fit this device's workgroup memory (${JSON.stringify(dims)})`);
  if (kv.size !== kvCacheSize(dims, B, cap)) throw new Error(`decode step: kv (${kv.label}) has ${kv.size} elements, expected ${kvCacheSize(dims, B, cap)}`);
  if (pack.size < decodeStepHeaderWords(dims.L)) throw new Error(`decode step: pack (${pack.label}) is shorter than its header`);
  const s = samplingBindings(gpu, logits, decoding, { B, V: dims.V }, sampling);
  gpu.dispatch({
    code: decodeStepWgsl, entryPoint: 'step', label: 'decode.step',
    bindings: [...s.bindings, pack, kv], params: s.params, workgroups: [B],
    constants: {
      ...s.constants, WS4: decodeStepWorkgroupFloats(dims) / 4, NORM_LAYER: kind.norm === 'layer' ? 1 : 0, NORM_OFFSET: kind.normOffset,
      CONV1D: kind.conv1d ? 1 : 0, GATED: kind.gated ? 1 : 0, GELU: kind.activation === 'gelu_tanh' ? 1 : 0,
    },
  });
}

// ---- CPU reference (float64 on the pack's f32 weights) ------------------------------------------------

/**
 * The logits [B, V] of one step for sequences with token ids[b] at positions pos[b] (skipping b where done[b]), and
 * kv with their rows appended (a copy), read from the same pack words the kernel reads.
 */
export function decodeStepCpu(
  pack: Uint32Array, kind: DecodeStepKind, kvIn: Float32Array, B: number, V: number, ids: ArrayLike<number>, pos: ArrayLike<number>,
  done: ArrayLike<number> = [],
): { logits: Float64Array; kv: Float32Array } {
  const w = new Float32Array(pack.buffer, pack.byteOffset, pack.length);
  const [L, C, H, Hkv, D, F, cap] = pack;
  const eps = w[HW.eps], embedScale = w[HW.embedScale];
  const kvDim = Hkv * D, group = H / Hkv;
  const kv = Float32Array.from(kvIn);
  const logits = new Float64Array(B * V);
  const has = (word: number) => pack[word] !== ABSENT;
  const normRow = (x: Float64Array, slot: number): Float64Array => {
    const n = x.length, wt = pack[slot], bs = pack[slot + 1];
    const mean = kind.norm === 'layer' ? x.reduce((a, v) => a + v, 0) / n : 0;
    const rstd = 1 / Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / n + eps);
    return x.map((v, i) => (kind.norm === 'layer' ? (v - mean) * rstd * w[wt + i] + w[bs + i] : (v - mean) * rstd * (kind.normOffset + w[wt + i])));
  };
  const linear = (x: Float64Array, slot: number, nOut: number): Float64Array => {
    const [m, ld, bias] = [pack[slot], pack[slot + 1], pack[slot + 2]];
    const y = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
      let acc = bias === ABSENT ? 0 : w[bias + o];
      for (let i = 0; i < x.length; i++) acc += x[i] * w[kind.conv1d ? m + i * ld + o : m + o * ld + i];
      y[o] = acc;
    }
    return y;
  };
  const act = (x: number) => (kind.activation === 'gelu_tanh' ? geluForwardCpu([x])[0] : x / (1 + Math.exp(-x)));
  const residual = (x: Float64Array, y: Float64Array, slot: number) => {
    const z = has(slot) ? normRow(y, slot) : y;
    for (let i = 0; i < C; i++) x[i] += z[i];
  };
  for (let b = 0; b < B; b++) {
    if (done[b]) continue;
    const p = pos[b];
    const x = new Float64Array(C);
    for (let i = 0; i < C; i++) x[i] = w[pack[HW.embed] + ids[b] * C + i] * embedScale + (has(HW.positions) ? w[pack[HW.positions] + p * C + i] : 0);
    for (let l = 0; l < L; l++) {
      const r = HEADER + l * LAYER;
      const n = normRow(x, r + LW.attnNorm);
      const q = linear(n, r + LW.q, H * D), k = linear(n, r + LW.k, kvDim), v = linear(n, r + LW.v, kvDim);
      for (let h = 0; h < H + Hkv; h++) {
        const [t, at, slot] = h < H ? [q, h * D, r + LW.qNorm] : [k, (h - H) * D, r + LW.kNorm];
        if (has(slot)) t.set(normRow(t.slice(at, at + D), slot), at);
        if (has(r + LW.invFreq)) {
          for (let i = 0; i < D / 2; i++) {
            const a = Math.fround(p * w[pack[r + LW.invFreq] + i]), c = Math.cos(a), s = Math.sin(a);
            const x1 = t[at + i], x2 = t[at + i + D / 2];
            t[at + i] = x1 * c - x2 * s;
            t[at + i + D / 2] = x2 * c + x1 * s;
          }
        }
      }
      const keys = kvCacheOffset({ Hkv, D }, B, cap, l, false, b), values = kvCacheOffset({ Hkv, D }, B, cap, l, true, b);
      kv.set(k, keys + p * kvDim);
      kv.set(v, values + p * kvDim);
      const window = pack[r + LW.window], scale = w[r + LW.scale];
      const first = window !== ABSENT && p + 1 > window ? p + 1 - window : 0;
      const a = new Float64Array(H * D);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / group) * D;
        const sc: number[] = [];
        for (let j = first; j <= p; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[h * D + d] * kv[keys + j * kvDim + g + d];
          sc.push(dot * scale);
        }
        const m = Math.max(...sc), e = sc.map((z) => Math.exp(z - m)), sum = e.reduce((s, z) => s + z, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = first; j <= p; j++) acc += (e[j - first] / sum) * kv[values + j * kvDim + g + d];
          a[h * D + d] = acc;
        }
      }
      residual(x, linear(a, r + LW.o, C), r + LW.postAttnNorm);
      const n2 = normRow(x, r + LW.mlpNorm);
      const up = linear(n2, r + LW.up, F);
      const gate = kind.gated ? linear(n2, r + LW.gate, F) : null;
      const m = up.map((u, f) => (gate ? act(gate[f]) * u : act(u)));
      residual(x, linear(m, r + LW.down, C), r + LW.postMlpNorm);
    }
    const hf = normRow(x, HW.finalNorm);
    for (let t = 0; t < V; t++) {
      let acc = 0;
      for (let i = 0; i < C; i++) acc += hf[i] * w[pack[HW.head] + t * C + i];
      logits[b * V + t] = acc;
    }
  }
  return { logits, kv };
}
