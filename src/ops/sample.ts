// Sampling the next token of each sequence on the GPU (sample.wgsl), and the CPU reference that defines the rules
// (the CPU sampler of src/generate/sampler.ts is this function): repetition penalty → greedy, or top-k →
// softmax at temperature → top-p → the token where the running probability first exceeds a uniform draw. Given
// the same logits and the same draw, both pick the same token, except when the draw lands within float rounding
// (~1e-6 of the kept mass) of a boundary between two tokens: the GPU sums in f32 and in another order.
// The GPU side also advances each sequence's decoding state (ids, pos, done, left, out, step: see sample.wgsl), so
// a decoding step needs nothing from the host but the draws, and gives back one u32 per sequence.
// Not here: where draws come from (src/generate/batch.ts: one seeded stream per sequence), stop strings.
import type { Gpu, Tensor } from '../gpu/runtime';
import sampleWgsl from './sample.wgsl?raw';

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** 1 = off; >1 discourages tokens already in the context (CTRL-style, as transformers applies it). */
  repetitionPenalty: number;
}

/** Sections of the decoding state tensor, each `stride` u32s long (decodeStateStride). */
export const STATE = { ids: 0, pos: 1, done: 2, left: 3, out: 4, step: 5 } as const;
export const STATE_SECTIONS = 6;
/** What `out` holds for a sequence that was already done before the step. */
export const NO_TOKEN = 0xffffffff;

/** Section length for B sequences: a multiple of 64 elements, so each section can be a view (VIEW_ALIGN). */
export function decodeStateStride(B: number): number {
  return Math.ceil(B / 64) * 64;
}

/** u32 words per sequence in the repetition-penalty bitset. */
export function seenWords(V: number): number {
  return Math.ceil(V / 32);
}

/**
 * Threads per sequence. A software adapter (SwiftShader) runs a workgroup barrier as a switch between its groups of
 * 4 invocations: one group per workgroup makes the reductions' barriers almost free (greedy, B = 1 on the default
 * model: about 0.1 ms a step against 0.8 ms with 64 threads, measured under heavy load). Real GPUs want the width.
 */
export function sampleWorkgroup(gpu: Gpu): number {
  return gpu.isSoftware ? 4 : 64;
}

/**
 * One token for each of B sequences from logits [B, V] (penalised in place when repetitionPenalty != 1), written to
 * state's out and ids sections, with pos/done/left/step advanced. draws [drawRows, B]: slot b's draw is row
 * step[b] % drawRows (read unless greedy); stopIds [max(n, 1)] with `nStop` used; seen [B, seenWords(V)] (read and
 * updated when repetitionPenalty != 1).
 */
export function sampleTokens(
  gpu: Gpu, logits: Tensor, state: Tensor, draws: Tensor, stopIds: Tensor, nStop: number, seen: Tensor | null,
  dims: { B: number; V: number }, opts: SamplingParams,
): void {
  const { B, V } = dims;
  const stride = decodeStateStride(B);
  const penalty = opts.repetitionPenalty !== 1;
  if (logits.size !== B * V) throw new Error(`sample: logits (${logits.label}) has ${logits.size} elements, expected ${B * V}`);
  if (state.size !== STATE_SECTIONS * stride) throw new Error(`sample: state has ${state.size} elements, expected ${STATE_SECTIONS * stride}`);
  const drawRows = Math.floor(draws.size / B);
  if (drawRows < 1) throw new Error(`sample: draws has ${draws.size} elements, expected at least ${B}`);
  if (stopIds.size < Math.max(nStop, 1)) throw new Error(`sample: stopIds has ${stopIds.size} elements, expected ${nStop}`);
  if (penalty && (!seen || seen.size !== B * seenWords(V))) throw new Error(`sample: a repetition penalty needs seen [${B}, ${seenWords(V)}]`);
  if (!(opts.repetitionPenalty > 0) || !(opts.topP >= 0) || !(opts.temperature >= 0) || !(Number.isInteger(opts.topK) && opts.topK >= 0)) {
    throw new Error(`sample: bad sampling options ${JSON.stringify(opts)}`);
  }
  gpu.dispatch({
    code: sampleWgsl, entryPoint: 'main', label: 'sample',
    // Without a penalty the seen slot is never touched; the state stands in (it is read_write too, but never
    // written through that slot).
    bindings: [logits, draws, stopIds, seen ?? gpu.absent(0), state],
    params: { u32: [B, V, opts.topK, nStop, stride, seenWords(V), drawRows], f32: [opts.temperature, opts.topP, opts.repetitionPenalty] },
    workgroups: [B],
    constants: { WG: sampleWorkgroup(gpu), GREEDY: opts.temperature <= 0 ? 1 : 0, PENALTY: penalty ? 1 : 0 },
  });
}

// ---- CPU reference --------------------------------------------------------------------------------

/**
 * The token for one row of logits [V]: `draw` in [0, 1) is used only when temperature > 0; `context` holds the
 * tokens the repetition penalty discourages. Order as transformers' logits processors.
 */
export function sampleCpu(logitsIn: ArrayLike<number>, opts: SamplingParams, draw: number, context: Iterable<number>): number {
  const logits = Float32Array.from(logitsIn);
  if (opts.repetitionPenalty !== 1) {
    for (const id of new Set(context)) {
      const v = logits[id];
      logits[id] = v < 0 ? v * opts.repetitionPenalty : v / opts.repetitionPenalty;
    }
  }
  if (opts.temperature <= 0) return argmax(logits);

  // Candidates sorted by logit, cut by top-k, softmax at temperature, cut by top-p (keep at least one).
  let order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  if (opts.topK > 0) order = order.slice(0, opts.topK);
  const maxL = logits[order[0]] / opts.temperature;
  let probs = order.map((i) => Math.exp(logits[i] / opts.temperature - maxL));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  if (opts.topP < 1) {
    let cum = 0, keep = 0;
    while (keep < probs.length && (keep === 0 || cum < opts.topP)) cum += probs[keep++];
    order = order.slice(0, keep);
    probs = probs.slice(0, keep);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  let r = draw;
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i];
    if (r < 0) return order[i];
  }
  return order[order.length - 1];
}

/** Index of the largest value, the lowest one on ties. */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
