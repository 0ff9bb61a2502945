// Batched generation on the GPU (src/generate/batch.ts) against the single-sequence path it replaces (each prompt
// alone through transformerDecoder: a full forward per step, logits read back, the CPU sampler), for every family of
// tests/helpers/hf-families.ts with a random LoRA on its targets, each step in one dispatch (src/ops/decode-step.ts,
// the LoRA folded into the pack), layer by layer (stepPath 'layers') and on the CPU from the same pack ('cpu',
// src/generate/cpu-decode.ts: what 'auto' takes on a software adapter): ragged prompts (1, 6 and 13 tokens: past Gemma's
// window of 4, across SmolLM3's RoPE-less layer) give the same greedy tokens decoded together, and with fewer slots
// than sequences (a finished sequence's slot takes the next prompt); seeded sampling (temperature, top-k, top-p,
// repetition penalty) gives each sequence the tokens the CPU sampler picks from the same draws, several answers per
// prompt included. Per-sequence stops: a stop token, a stop string and the token limit end each sequence where the
// single path ends it, with the same text; a prompt near a learned position table's end gets fewer tokens; aborting
// ends every sequence early. And the cost contract: a repeated generation allocates no buffer and compiles no
// pipeline, and submits at most one command buffer per step (steps go in chunks, one submit each, prefills included).
import { describe, expect, it } from 'vitest';
import { generateBatch, sequenceSeed, type BatchOptions, type TokenEvent } from '../../src/generate/batch';
import { transformerDecoder } from '../../src/generate/decoder';
import { generateAll, type GenerateOptions } from '../../src/generate/generate';
import { GREEDY } from '../../src/generate/sampler';
import { configFromHf, recipeOf } from '../../src/model/arch';
import { decodeStepPlan } from '../../src/model/decode-pack';
import { initWeights } from '../../src/model/init';
import type { Transformer } from '../../src/model/transformer';
import { FAMILIES } from '../helpers/hf-families';
import { withRandomLora } from '../helpers/random-lora';

const PROMPTS = [[7], [5, 77, 40, 3, 25, 12], [9, 14, 200, 31, 8, 33, 70, 2, 61, 90, 11, 4, 150]];
const greedy: GenerateOptions = { ...GREEDY, maxNewTokens: 16, stopTokenIds: [], stopStrings: [] };
const sampled: GenerateOptions = { ...greedy, temperature: 0.9, topK: 20, topP: 0.9, repetitionPenalty: 1.1, seed: 7 };

async function tinyModel(family: (typeof FAMILIES)[number]): Promise<Transformer> {
  const config = configFromHf(family.config);
  // Gemma scales its embeddings by √hidden: at the others' std its answers repeat one or two tokens.
  const weights = initWeights(config, 21, 0.3 / recipeOf(config).embedScale, { normJitter: 0.2, biasStd: 0.1 });
  return (await withRandomLora({ config, weights }, 2, 5, family.loraTargets)).model;
}

/** Each prompt alone through the single-sequence path, its sample g drawing from sequenceSeed(seed, g). */
async function oneByOne(model: Transformer, prompts: number[][], opts: GenerateOptions, samples = 1) {
  const out = [];
  for (let p = 0; p < prompts.length; p++) for (let g = 0; g < samples; g++) {
    out.push(await generateAll(transformerDecoder(model), prompts[p], { ...opts, seed: sequenceSeed(opts.seed, g) }));
  }
  return out;
}

describe('batched generation: the same tokens as one sequence at a time', () => {
  for (const family of FAMILIES) {
    it(family.name, async () => {
      const model = await tinyModel(family);
      const want = await oneByOne(model, PROMPTS, greedy);
      expect(new Set(want.flatMap((w) => w.tokens)).size, 'a degenerate model would agree by accident').toBeGreaterThan(4);
      expect(decodeStepPlan(model, 2, 13 + greedy.maxNewTokens), 'two slots of this small f32 model take the one-dispatch step').not.toBeNull();
      for (const [maxBatch, stepPath] of [[2, 'fused'], [1, 'fused'], [3, 'layers'], [2, 'cpu'], [1, 'auto']] as const) {
        const got = await generateBatch(model, PROMPTS, { ...greedy, maxBatch, stepPath });
        expect(got.map((g) => g.tokens), `greedy, ${maxBatch} slots, ${stepPath} steps`).toEqual(want.map((w) => w.tokens));
        expect(got.map((g) => g.finishReason)).toEqual(['length', 'length', 'length']);
      }
      const wantSampled = await oneByOne(model, PROMPTS, sampled, 2);
      const gotSampled = await generateBatch(model, PROMPTS, { ...sampled, samplesPerPrompt: 2, stepPath: 'layers' });
      expect(gotSampled.map((g) => [g.prompt, g.sample])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]]);
      expect(gotSampled.map((g) => g.tokens), 'sampled, six slots, layer by layer').toEqual(wantSampled.map((w) => w.tokens));
      const inTwoSlots = await generateBatch(model, PROMPTS, { ...sampled, samplesPerPrompt: 2, maxBatch: 2, stepPath: 'fused' });
      expect(inTwoSlots.map((g) => g.tokens), 'sampled, two slots, one dispatch a step').toEqual(wantSampled.map((w) => w.tokens));
      const onCpu = await generateBatch(model, PROMPTS, { ...sampled, samplesPerPrompt: 2, stepPath: 'cpu' });
      expect(onCpu.map((g) => g.tokens), 'sampled, on the CPU').toEqual(wantSampled.map((w) => w.tokens));
      expect(gotSampled[2].tokens, 'two samples of a prompt differ').not.toEqual(gotSampled[3].tokens);
      model.destroy();
    });
  }
});

describe('batched generation: stops, limits and cost', () => {
  const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join('');

  it.each(['fused', 'cpu'] as const)('a stop token, a stop string and the token limit end each sequence where the single path does (%s)', async (stepPath) => {
    const model = await tinyModel(FAMILIES[0]);
    const free = await oneByOne(model, PROMPTS, greedy);
    // A stop token from the middle of one answer, and a stop string from the middle of another's text.
    const stopToken = free[1].tokens[5];
    const stopString = decode(free[2].tokens).slice(7, 9);
    const opts: BatchOptions = { ...greedy, maxNewTokens: 14, stopTokenIds: [stopToken], stopStrings: [stopString], decode, stepPath };
    const want = await oneByOne(model, PROMPTS, opts);
    expect(new Set(want.map((w) => w.finishReason)).size, 'the case covers more than one way to stop').toBeGreaterThan(1);
    const events: TokenEvent[] = [];
    const got = await generateBatch(model, PROMPTS, opts, (e) => events.push(e));
    expect(got.map(({ tokens, text, finishReason }) => ({ tokens, text, finishReason }))).toEqual(want);
    for (let i = 0; i < PROMPTS.length; i++) {
      const mine = events.filter((e) => e.sequence === i);
      expect(mine.map((e) => e.token)).toEqual(got[i].tokens);           // streamed, in order, each token once
      expect(mine.map((e) => e.done)).toEqual(mine.map((_, k) => k === mine.length - 1));
      expect(mine.at(-1)!.text).toBe(got[i].text);
    }
    model.destroy();
  });

  it.each(['fused', 'cpu'] as const)('a prompt near the end of a learned position table gets the tokens that fit (%s)', async (stepPath) => {
    const gpt2 = FAMILIES.find((f) => f.name === 'gpt2')!;
    const model = await tinyModel(gpt2);
    const long = Array.from({ length: 62 }, (_, i) => (i * 37) % 250);    // 64 positions
    const got = await generateBatch(model, [long, PROMPTS[1]], { ...greedy, stepPath });
    expect(got.map((g) => g.tokens.length)).toEqual([3, 16]);
    expect(got[0].tokens).toEqual((await generateAll(transformerDecoder(model), long, greedy)).tokens);
    await expect(generateBatch(model, [Array(64).fill(1)], greedy)).rejects.toThrow(/no room under the model's 64 positions/);
    model.destroy();
  });

  it.each(['fused', 'cpu'] as const)('aborting ends every sequence at the next step with what it has (%s)', async (stepPath) => {
    const model = await tinyModel(FAMILIES[0]);
    const stop = new AbortController();
    const got = await generateBatch(model, PROMPTS, { ...greedy, signal: stop.signal, stepPath }, () => stop.abort());
    for (const g of got) {
      expect(g.finishReason).toBeNull();
      expect(g.tokens.length).toBeLessThan(greedy.maxNewTokens);
    }
    model.destroy();
  });

  it('a repeated generation allocates nothing, compiles nothing and submits at most once per step', async () => {
    const model = await tinyModel(FAMILIES[0]);
    for (const maxBatch of [6, 2]) {   // six slots step layer by layer, two in one dispatch
      const opts: BatchOptions = { ...sampled, maxNewTokens: 10, samplesPerPrompt: 2, maxBatch, stepPath: 'fused' };
      await generateBatch(model, PROMPTS, opts);
      const before = { ...model.gpu.stats };
      const got = await generateBatch(model, PROMPTS, opts);
      const steps = maxBatch === 6 ? Math.max(...got.map((g) => g.tokens.length)) : got.reduce((n, g) => n + g.tokens.length, 0);
      const d = (k: keyof typeof before) => model.gpu.stats[k] - before[k];
      expect(d('buffersCreated')).toBe(0);
      expect(d('pipelinesCreated')).toBe(0);
      expect(d('submits')).toBeLessThanOrEqual(steps);
      console.log(JSON.stringify({ maxBatch, steps, submits: d('submits'), dispatches: d('dispatches') }));
    }
    model.destroy();
  });
});
