// Decode tokens/s for the benchmark's JSON: the hook the decode benchmark fills (greedy tokens/s of the engine's
// generation on the adapter the harness runs on, batched and not). Until it does, `benchDecode` returns null and
// the drivers print `decode: { pending }`; the Node driver also embeds scripts/bench-decode.ts's JSON when that
// script exists (scripts/bench-run.mjs decodeScript).
import type { Gpu } from '../src/gpu/runtime';

export interface DecodeResult {
  /** What was decoded: model, prompt and new tokens, batch sizes. */
  config: Record<string, string | number>;
  /** New tokens per second by case (e.g. 'B=1', 'B=8'). */
  tokensPerSecond: Record<string, number>;
}

export async function benchDecode(_gpu: Gpu): Promise<DecodeResult | null> {
  return null;
}
