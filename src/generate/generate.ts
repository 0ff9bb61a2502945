// Generating one answer, streamed token by token (an async generator): stops at any stop token id (EOS and the chat
// template's end of turn), a stop string, or maxNewTokens. Two decoders behind one contract:
//  - our WebGPU Transformer (passed as is): the batched GPU path (batch.ts) with one sequence, sampling on the GPU;
//  - any Decoder (decoder.ts) that hands back logits, e.g. onnxruntime on the ONNX export (onnx-decoder.ts): one
//    prefill over the prompt, then one step per new token, the CPU sampler (sampler.ts).
// Both follow the same sampling rules, draw stream, stops and token limit (newTokenLimit), so they give the same
// tokens for the same logits. Base and tuned share the loaded base weights: the tuned model is the same Transformer
// with LoRA on.
import { Transformer } from '../model/transformer';
import { Rng } from '../model/random';
import { generateBatch, newTokenLimit, type FinishReason } from './batch';
import type { Decoder } from './decoder';
import { sampleToken, type SamplingOptions } from './sampler';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  stopTokenIds: number[];
  stopStrings: string[];
  /** Turns ids into text, for stop strings and streaming (the tokenizer's decode). */
  decode?: (ids: number[]) => string;
}

interface GenerateStep {
  token: number;
  /** Full decoded text so far (when decode is given). */
  text: string;
  done: boolean;
  finishReason: FinishReason | null;
}

export async function* generate(model: Transformer | Decoder, prompt: number[], opts: GenerateOptions): AsyncGenerator<GenerateStep> {
  if (prompt.length === 0) throw new Error('generate: empty prompt');
  yield* model instanceof Transformer ? onGpu(model, prompt, opts) : withLogits(model, prompt, opts);
}

/** The batched path with one sequence, its token events turned into the generator's steps. */
async function* onGpu(model: Transformer, prompt: number[], opts: GenerateOptions): AsyncGenerator<GenerateStep> {
  const steps: GenerateStep[] = [];
  let wake: (() => void) | null = null;
  let over = false;
  const stop = new AbortController();
  const run = generateBatch(model, [prompt], { ...opts, signal: stop.signal }, ({ token, text, done, finishReason }) => {
    steps.push({ token, text, done, finishReason });
    wake?.();
  }).finally(() => { over = true; wake?.(); });
  try {
    for (;;) {
      const step = steps.shift();
      if (step) { yield step; continue; }
      if (over) break;
      await new Promise<void>((r) => { wake = r; });
      wake = null;
    }
  } finally {
    stop.abort();    // the consumer may stop early: the generation ends at its next step
  }
  await run;       // its error, if it failed
}

async function* withLogits(decoder: Decoder, prompt: number[], opts: GenerateOptions): AsyncGenerator<GenerateStep> {
  const limit = newTokenLimit(decoder.config, prompt.length, opts.maxNewTokens);
  if (limit === 0) return;
  const seq = decoder.open(prompt.length + limit - 1);
  const rng = new Rng(opts.seed);
  const context = [...prompt];
  const out: number[] = [];
  try {
    let next = prompt;
    for (let i = 0; i < limit; i++) {
      const logits = await seq.append(next);
      const token = sampleToken(logits, opts, rng, context);
      context.push(token);
      out.push(token);
      const stopToken = opts.stopTokenIds.includes(token);
      const text = opts.decode ? opts.decode(stopToken ? out.slice(0, -1) : out) : '';
      const stopString = opts.stopStrings.find((s) => s && text.includes(s));
      const finishReason = stopToken ? 'stop-token' : stopString ? 'stop-string' : i === limit - 1 ? 'length' : null;
      yield { token, text: stopString ? text.slice(0, text.indexOf(stopString)) : text, done: finishReason !== null, finishReason };
      if (finishReason) return;
      next = [token];
    }
  } finally {
    seq.close();
  }
}

/** Runs generation to the end and returns the new token ids and text. */
export async function generateAll(model: Transformer | Decoder, prompt: number[], opts: GenerateOptions): Promise<{ tokens: number[]; text: string; finishReason: GenerateStep['finishReason'] }> {
  const tokens: number[] = [];
  let text = '', finishReason: GenerateStep['finishReason'] = null;
  for await (const s of generate(model, prompt, opts)) {
    tokens.push(s.token);
    text = s.text;
    finishReason = s.finishReason;
  }
  return { tokens, text, finishReason };
}
