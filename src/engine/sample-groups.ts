// GRPO's sampling (src/train/grpo.ts SampleGroups) on the engine's batched generation (src/generate/batch.ts): all G
// answers of all P prompts of a generation batch decoded together, P × G sequences in one batch, each stopping at the
// model's stop tokens or at maxNewTokens.
//
// Draw streams: generateBatch gives a prompt's sample g the stream sequenceSeed(seed, g) whatever the prompt, so that a
// prompt answers the same alone or in any batch. GRPO wants the opposite: the trainer changes the seed every
// generation batch, and here each prompt gets a seed of its own, mixed from that seed and its place in the batch
// (promptSeed), so no two answers of a step share draws (two prompts that happen to be the same text still get
// different answers). Deterministic for a seed: a resumed run samples what the uninterrupted one did.
// Not here: what is done with the answers (the trainer), how they are scored (src/train/rewards.ts).
import { generateBatch } from '../generate/batch';
import type { Transformer } from '../model/transformer';
import type { SampledAnswer, SampleGroups } from '../train/grpo';

/** Prompt i's seed in a generation batch seeded `seed`: murmur3's finalizer of (seed, i), so nearby inputs scatter. */
export function promptSeed(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function sampleGroupsWith(model: Transformer, decode: (ids: number[]) => string, stopTokenIds: number[]): SampleGroups {
  return async (prompts, G, opts) => {
    const answers = await generateBatch(model, prompts, {
      maxNewTokens: opts.maxNewTokens, temperature: opts.temperature, topK: opts.topK, topP: opts.topP, repetitionPenalty: 1,
      seed: opts.seed, promptSeeds: prompts.map((_, i) => promptSeed(opts.seed, i)), samplesPerPrompt: G, maxBatch: prompts.length * G,
      stopTokenIds, stopStrings: [], decode,
    });
    // Prompt-major, as generateBatch returns them.
    return prompts.map((_, i) => answers.slice(i * G, (i + 1) * G).map((r): SampledAnswer => ({
      ids: r.tokens, text: r.text, finishReason: r.finishReason === 'stop-token' ? 'stop-token' : 'length',
    })));
  };
}
