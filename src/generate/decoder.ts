// What the generation loop needs from a model: a sequence with a KV cache that takes tokens and gives the
// next-token logits. Two implementations: our WebGPU Transformer (below) and an onnxruntime session over the
// ONNX export (onnx-decoder.ts), so sampling, stops, streaming and seeds live once, in generate.ts.
// A sequence is single-use and batch 1; it holds GPU or wasm memory until closed.
import type { ModelConfig } from '../model/config';
import type { Transformer } from '../model/transformer';

/** Who decodes: our decoder ('webgpu'), onnxruntime on the ONNX export of the same weights, or 'auto' (ours, but
 * onnxruntime on a software adapter for a model our CPU step does not take: src/engine/answers.ts says why). */
export type GenerateBackend = 'auto' | 'webgpu' | 'onnx';

/** A stored choice as it is now named: evaluations stored before the WebGPU decoder was called 'webgpu' say 'engine'. */
export function generateBackend(stored: string | undefined): GenerateBackend {
  return stored === 'engine' ? 'webgpu' : stored === 'webgpu' || stored === 'onnx' ? stored : 'auto';
}

export interface DecoderSequence {
  /** Tokens the cache holds. */
  readonly length: number;
  /** Tokens it can hold. */
  readonly capacity: number;
  /** Runs `ids` after the cached tokens and returns the logits [V] at the last of them. */
  append(ids: number[]): Promise<Float32Array>;
  close(): void;
}

export interface Decoder {
  readonly config: ModelConfig;
  /** A fresh sequence with room for `capacity` tokens. */
  open(capacity: number): DecoderSequence;
}

/** Our engine as a Decoder: each append is one forward over the new tokens with the GPU KV cache. */
export function transformerDecoder(model: Transformer): Decoder {
  return {
    config: model.config,
    open(capacity) {
      const cache = model.createCache(1, capacity);
      return {
        get length() { return cache.length; },
        capacity,
        async append(ids) {
          const st = model.forward({ B: 1, T: ids.length, ids: Uint32Array.from(ids) }, { save: false, cache, lastOnly: true });
          const logits = await model.gpu.read(st.logits);
          model.release(st);
          return logits;
        },
        close: () => model.releaseCache(cache),
      };
    },
  };
}
