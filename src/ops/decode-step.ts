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
import { geluCpu } from './gelu';
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
  return bytes <= gpu.device.limits.maxComputeWorkgroupStorageSize && decodeStepShapes(d);
}

/** The model's shapes are ones the step reads (the CPU step needs no more): widths multiples of 4, whole head groups. */
export function decodeStepShapes(d: DecodeStepDims): boolean {
  return d.D % 2 === 0 && d.H % d.Hkv === 0 && [d.C, d.H * d.D, d.Hkv * d.D, d.F].every((n) => n % 4 === 0);
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

// ---- On the CPU (float64 arithmetic on the pack's f32 weights; the reference, and the step the engine runs where
// the adapter is itself the CPU: src/generate/cpu-decode.ts) ----------------------------------------------------

/**
 * The step for one sequence at a time, on the CPU: reads the same pack words the kernel reads, keeps its activations
 * in float64 scratch made once, and stores k/v rows as f32 (what the kernel stores). No allocation per step.
 */
export class DecodeStepCpu {
  private readonly w: Float32Array;
  private readonly dims: { L: number; C: number; H: number; Hkv: number; D: number; F: number; cap: number };
  private readonly x: Float64Array; private readonly n: Float64Array; private readonly y: Float64Array;
  private readonly q: Float64Array; private readonly k: Float64Array; private readonly v: Float64Array; private readonly a: Float64Array;
  private readonly up: Float64Array; private readonly gate: Float64Array; private readonly scores: Float64Array;

  constructor(private readonly pack: Uint32Array, private readonly kind: DecodeStepKind, private readonly V: number) {
    this.w = new Float32Array(pack.buffer, pack.byteOffset, pack.length);
    const [L, C, H, Hkv, D, F, cap, maxPositions] = pack;
    if (!decodeStepShapes({ L, C, H, Hkv, D, F, V, maxPositions })) throw new Error('decode step: a width a matrix is read along is not a multiple of 4, or the heads do not group (decodeStepShapes)');
    this.dims = { L, C, H, Hkv, D, F, cap };
    [this.x, this.n, this.y] = [C, C, C].map((m) => new Float64Array(m));
    [this.q, this.k, this.v, this.a] = [H * D, Hkv * D, Hkv * D, H * D].map((m) => new Float64Array(m));
    [this.up, this.gate, this.scores] = [F, F, maxPositions].map((m) => new Float64Array(m));
  }

  /**
   * Sequence b of B (kv [L, 2, B, cap, Hkv·D]) with token `id` at position `pos`: its k/v rows written into kv, and,
   * unless `logits` is null (a prefill), its logits [V] into logits at `at`.
   */
  step(kv: Float32Array, B: number, b: number, id: number, pos: number, logits: Float64Array | Float32Array | null, at = 0): void {
    const { pack, w, kind } = this;
    const { L, C, H, Hkv, D, cap } = this.dims;
    const { x, n, y, q, k, v, a, up, gate, scores } = this;
    const F = this.dims.F;
    const kvDim = Hkv * D, group = H / Hkv;
    const embed = pack[HW.embed] + id * C, embedScale = w[HW.embedScale], positions = pack[HW.positions];
    for (let i = 0; i < C; i++) x[i] = w[embed + i] * embedScale + (positions !== ABSENT ? w[positions + pos * C + i] : 0);
    for (let l = 0; l < L; l++) {
      const r = HEADER + l * LAYER;
      this.norm(x, 0, n, 0, C, r + LW.attnNorm);
      this.linear(n, C, r + LW.q, q, H * D);
      this.linear(n, C, r + LW.k, k, kvDim);
      this.linear(n, C, r + LW.v, v, kvDim);
      const invFreq = pack[r + LW.invFreq];
      for (let h = 0; h < H + Hkv; h++) {
        const isQ = h < H, t = isQ ? q : k, off = isQ ? h * D : (h - H) * D, slot = r + (isQ ? LW.qNorm : LW.kNorm);
        if (pack[slot] !== ABSENT) this.norm(t, off, t, off, D, slot);
        if (invFreq === ABSENT) continue;
        for (let i = 0, half = D / 2; i < half; i++) {
          const angle = Math.fround(pos * w[invFreq + i]), c = Math.cos(angle), s = Math.sin(angle);
          const x1 = t[off + i], x2 = t[off + i + half];
          t[off + i] = x1 * c - x2 * s;
          t[off + i + half] = x2 * c + x1 * s;
        }
      }
      const keys = kvCacheOffset({ Hkv, D }, B, cap, l, false, b), values = kvCacheOffset({ Hkv, D }, B, cap, l, true, b);
      kv.set(k, keys + pos * kvDim);
      kv.set(v, values + pos * kvDim);
      const window = pack[r + LW.window], scale = w[r + LW.scale];
      const first = window !== ABSENT && pos + 1 > window ? pos + 1 - window : 0;
      for (let h = 0; h < H; h++) {
        const qh = h * D, g = Math.floor(h / group) * D;
        let m = -Infinity;
        for (let j = first; j <= pos; j++) {
          let dot = 0;
          for (let d = 0, kj = keys + j * kvDim + g; d < D; d++) dot += q[qh + d] * kv[kj + d];
          scores[j - first] = dot * scale;
          if (dot * scale > m) m = dot * scale;
        }
        let sum = 0;
        for (let j = 0; j <= pos - first; j++) sum += (scores[j] = Math.exp(scores[j] - m));
        a.fill(0, qh, qh + D);
        for (let j = first; j <= pos; j++) {
          const p = scores[j - first] / sum;
          for (let d = 0, vj = values + j * kvDim + g; d < D; d++) a[qh + d] += p * kv[vj + d];
        }
      }
      this.linear(a, H * D, r + LW.o, y, C);
      this.residual(r + LW.postAttnNorm);
      this.norm(x, 0, n, 0, C, r + LW.mlpNorm);
      this.linear(n, C, r + LW.up, up, F);
      if (kind.gated) this.linear(n, C, r + LW.gate, gate, F);
      for (let f = 0; f < F; f++) up[f] = kind.gated ? this.act(gate[f]) * up[f] : this.act(up[f]);
      this.linear(up, F, r + LW.down, y, C);
      this.residual(r + LW.postMlpNorm);
    }
    if (logits === null) return;
    this.norm(x, 0, n, 0, C, HW.finalNorm);
    rowsDot(w, pack[HW.head], C, n, C, logits, at, this.V);
  }

  /** dst[d0 ..] = the recipe's norm of src[s0 .. s0 + m) with the weights (and LayerNorm's bias) at header word `slot`. */
  private norm(src: Float64Array, s0: number, dst: Float64Array, d0: number, m: number, slot: number): void {
    const { pack, w, kind } = this;
    const wt = pack[slot], bs = pack[slot + 1], eps = w[HW.eps];
    let mean = 0;
    if (kind.norm === 'layer') {
      for (let i = 0; i < m; i++) mean += src[s0 + i];
      mean /= m;
    }
    let ss = 0;
    for (let i = 0; i < m; i++) ss += (src[s0 + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(ss / m + eps);
    for (let i = 0; i < m; i++) {
      const z = (src[s0 + i] - mean) * rstd;
      dst[d0 + i] = kind.norm === 'layer' ? z * w[wt + i] + w[bs + i] : z * (kind.normOffset + w[wt + i]);
    }
  }

  /** y[0 .. nOut) = x[0 .. nIn)·W + bias, W the linear at layer word `slot` ([out, in] rows, or [in, out] for Conv1D). */
  private linear(x: Float64Array, nIn: number, slot: number, y: Float64Array, nOut: number): void {
    const { pack, w } = this;
    const m = pack[slot], ld = pack[slot + 1], bias = pack[slot + 2];
    if (this.kind.conv1d) {
      for (let o = 0; o < nOut; o++) y[o] = bias === ABSENT ? 0 : w[bias + o];
      for (let i = 0; i < nIn; i++) {
        const xi = x[i], row = m + i * ld;
        for (let o = 0; o < nOut; o++) y[o] += xi * w[row + o];
      }
      return;
    }
    rowsDot(w, m, ld, x, nIn, y, 0, nOut);
    if (bias !== ABSENT) for (let o = 0; o < nOut; o++) y[o] += w[bias + o];
  }

  /** x += post?(y): the residual add of a sub-layer whose output is in y. */
  private residual(slot: number): void {
    const { x, y } = this;
    if (this.pack[slot] !== ABSENT) this.norm(y, 0, y, 0, x.length, slot);
    for (let i = 0; i < x.length; i++) x[i] += y[i];
  }

  private act(z: number): number {
    return this.kind.activation === 'gelu_tanh' ? geluCpu(z) : z / (1 + Math.exp(-z));
  }
}

/**
 * y[at + o] = Σ_i x[i]·w[m + o·ld + i] for o < rows, i < n: four rows at a time, so each x[i] is read once for four
 * rows and the four chains of adds overlap.
 */
function rowsDot(w: Float32Array, m: number, ld: number, x: Float64Array, n: number, y: Float64Array | Float32Array, at: number, rows: number): void {
  let o = 0;
  for (; o + 3 < rows; o += 4) {
    const r0 = m + o * ld, r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld;
    let a = 0, b = 0, c = 0, d = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i];
      a += xi * w[r0 + i]; b += xi * w[r1 + i]; c += xi * w[r2 + i]; d += xi * w[r3 + i];
    }
    y[at + o] = a; y[at + o + 1] = b; y[at + o + 2] = c; y[at + o + 3] = d;
  }
  for (; o < rows; o++) {
    const r0 = m + o * ld;
    let a = 0;
    for (let i = 0; i < n; i++) a += x[i] * w[r0 + i];
    y[at + o] = a;
  }
}

/**
 * The logits [B, V] of one step for sequences with token ids[b] at positions pos[b] (skipping b where done[b]), and
 * kv with their rows appended (a copy): the reference the kernel is tested against.
 */
export function decodeStepCpu(
  pack: Uint32Array, kind: DecodeStepKind, kvIn: Float32Array, B: number, V: number, ids: ArrayLike<number>, pos: ArrayLike<number>,
  done: ArrayLike<number> = [],
): { logits: Float64Array; kv: Float32Array } {
  const step = new DecodeStepCpu(pack, kind, V);
  const kv = Float32Array.from(kvIn);
  const logits = new Float64Array(B * V);
  for (let b = 0; b < B; b++) if (!done[b]) step.step(kv, B, b, ids[b], pos[b], logits, b * V);
  return { logits, kv };
}
