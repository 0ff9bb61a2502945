// Hook for the LoRA training-step benchmark: forward + backward tokens/s of one LoRA step, measured in the
// same page and on the same adapter as the matmul figures. scripts/bench.mjs calls `benchLoraStep` and
// puts what it returns under `loraStep` in its JSON; null means "not measured yet" (reported as pending).
import type { Gpu } from '../src/gpu/runtime';

export interface LoraStepResult {
  /** The model/preset and batch geometry measured, e.g. { model: 'tiny-llama', batch: 4, seqLen: 128, rank: 8 }. */
  config: Record<string, string | number>;
  /** Tokens processed per second over forward + backward (+ optimizer step, if included; say so in config). */
  tokensPerSecond: number;
  /** Milliseconds per step, each timed run. */
  stepMs: number[];
}

/** To be filled in by the model work: build a small model, run warm-up steps, time a few full steps. */
export async function benchLoraStep(_gpu: Gpu): Promise<LoraStepResult | null> {
  return null;
}
