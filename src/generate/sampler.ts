// Choosing the next token from one row of logits [V] on the CPU, for decoders that hand back logits (the ONNX
// backend). The rules are the sampling op's CPU reference (src/ops/sample.ts sampleCpu), which the GPU sampler
// follows too; this adds the seed: one draw from the sequence's stream per sampled token (none when greedy).
import { Rng } from '../model/random';
import { argmax, sampleCpu, type SamplingParams } from '../ops/sample';

export { argmax };

export interface SamplingOptions extends SamplingParams {
  seed: number;
}

export const GREEDY: SamplingOptions = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 };

export function sampleToken(logits: Float32Array, opts: SamplingOptions, rng: Rng, context: Iterable<number>): number {
  return sampleCpu(logits, opts, opts.temperature > 0 ? rng.next() : 0, context);
}
