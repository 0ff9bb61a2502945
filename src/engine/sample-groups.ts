// GRPO's sampling (src/train/grpo.ts SampleGroups) on the engine's generation: G answers per prompt, each its own
// seeded sequence (seed + its index in the batch), stopping at the model's stop tokens or at maxNewTokens.
// Today one sequence at a time through generate.ts; batched GPU generation replaces the loop below and nothing else.
// Not here: what is done with the answers (the trainer), how they are scored (src/train/rewards.ts).
import { generateAll } from '../generate/generate';
import type { Transformer } from '../model/transformer';
import type { SampledAnswer, SampleGroups } from '../train/grpo';

export function sampleGroupsWith(model: Transformer, decode: (ids: number[]) => string, stopTokenIds: number[]): SampleGroups {
  return async (prompts, G, opts) => {
    const out: SampledAnswer[][] = [];
    for (const [i, prompt] of prompts.entries()) {
      const group: SampledAnswer[] = [];
      for (let g = 0; g < G; g++) {
        const r = await generateAll(model, prompt, {
          maxNewTokens: opts.maxNewTokens, temperature: opts.temperature, topK: opts.topK, topP: opts.topP, repetitionPenalty: 1,
          seed: (opts.seed + i * G + g) >>> 0, stopTokenIds, stopStrings: [], decode,
        });
        group.push({ ids: r.tokens, text: r.text, finishReason: r.finishReason === 'stop-token' ? 'stop-token' : 'length' });
      }
      out.push(group);
    }
    return out;
  };
}
