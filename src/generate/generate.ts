// Autoregressive generation with a KV cache: one prefill over the prompt, then one step per new token over
// just that token. Streams token by token (an async generator), stops at any stop token id (EOS and the chat
// template's end-of-turn), a stop string, or maxNewTokens. The model is any Decoder (decoder.ts): our WebGPU
// Transformer (passed as is) or an onnxruntime session over the ONNX export (onnx-decoder.ts); the loop,
// the sampler and the seed are the same, so both give the same tokens for the same logits.
// Base and tuned share the loaded base weights: the tuned model is the same Transformer with LoRA on.
import { recipeOf } from '../model/arch';
import { Transformer } from '../model/transformer';
import { Rng } from '../model/random';
import { transformerDecoder, type Decoder } from './decoder';
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
  finishReason: 'stop-token' | 'stop-string' | 'length' | null;
}

export async function* generate(model: Transformer | Decoder, prompt: number[], opts: GenerateOptions): AsyncGenerator<GenerateStep> {
  if (prompt.length === 0) throw new Error('generate: empty prompt');
  const decoder = model instanceof Transformer ? transformerDecoder(model) : model;
  const { config } = decoder;
  const capacity = Math.min(config.maxPositions, prompt.length + opts.maxNewTokens);
  // A learned position table (GPT-2's) ends at maxPositions
  if (prompt.length >= capacity && recipeOf(config).positions !== null) {
    throw new Error(`prompt of ${prompt.length} tokens leaves no room under the model's ${config.maxPositions} positions`);
  }
  const seq = decoder.open(Math.max(capacity, prompt.length + 1));
  const rng = new Rng(opts.seed);
  const context = [...prompt];
  const out: number[] = [];
  try {
    let next = prompt;
    for (let i = 0; i < opts.maxNewTokens; i++) {
      if (seq.length + next.length > seq.capacity) break;
      const logits = await seq.append(next);
      const token = sampleToken(logits, opts, rng, context);
      context.push(token);
      out.push(token);
      const stopToken = opts.stopTokenIds.includes(token);
      const text = opts.decode ? opts.decode(stopToken ? out.slice(0, -1) : out) : '';
      const stopString = opts.stopStrings.find((s) => s && text.includes(s));
      const last = i === opts.maxNewTokens - 1;
      const finishReason = stopToken ? 'stop-token' : stopString ? 'stop-string' : last ? 'length' : null;
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
