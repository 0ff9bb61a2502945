// Choosing the next token from one row of logits [V], on the CPU (one row per generated token is all the
// readback generation needs). Order as in transformers' logits processors: repetition penalty →
// temperature → top-k → top-p → sample (greedy when temperature is 0). Seeded: same settings, same text.
import { Rng } from '../model/random';

export interface SamplingOptions {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** 1 = off; >1 discourages tokens already in the context (CTRL-style, as transformers applies it). */
  repetitionPenalty: number;
  seed: number;
}

export const GREEDY: SamplingOptions = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 };

export function sampleToken(logitsIn: Float32Array, opts: SamplingOptions, rng: Rng, context: Iterable<number>): number {
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
  let r = rng.next();
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i];
    if (r < 0) return order[i];
  }
  return order[order.length - 1];
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
