// The drift test: every family the descriptors define, decoded by each of our decoders (the WebGPU engine and
// onnxruntime-web on the ONNX export of the same weights), gives the same greedy tokens. The engine and the ONNX
// graph both follow the descriptor's recipe, so a family feature one of them drops (RoPE scaling, a sliding window,
// a q/k norm, Gemma's offset norms or embedding scale) shows up here as different tokens. The engine itself is held
// to transformers by the parity tests; this holds the second decoder to the engine.
// Weights: tinyConfig per family, init std 0.3 with jittered norms, a random non-zero LoRA on every linear (merged
// into the export), so each part of the recipe moves the logits; prompts longer than the tiny windows (3).
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { onnxGraph } from '../../src/generate/onnx-graph';
import { generateAll, type GenerateOptions } from '../../src/generate/generate';
import { OnnxDecoder } from '../../src/generate/onnx-decoder';
import { GREEDY } from '../../src/generate/sampler';
import { descriptorOf, DESCRIPTORS } from '../../src/model/arch';
import type { ModelConfig } from '../../src/model/config';
import { initWeights, tinyConfig } from '../../src/model/init';
import { withRandomLora } from '../helpers/random-lora';

ort.env.wasm.numThreads = 1;
const PROMPT = [5, 77, 40, 3, 25, 12, 90, 61, 8, 33, 70, 2];
const greedy: GenerateOptions = { ...GREEDY, maxNewTokens: 20, stopTokenIds: [], stopStrings: [] };

const cases: { name: string; config: ModelConfig }[] = [
  ...DESCRIPTORS.map((d) => ({ name: d.family, config: d.tiny() })),
  { name: 'qwen2', config: tinyConfig('qwen2') },
  // Mistral's window on every layer (the Llama block's own window, beside Gemma 3's local layers)
  { name: 'mistral (sliding window 3)', config: tinyConfig('llama', { modelType: 'mistral', layerTypes: ['sliding', 'sliding'], slidingWindow: 3 }) },
  // Llama 3.1/3.2's rope_scaling with a small original context, so all three frequency bands occur at D = 8.
  { name: 'llama (llama3 rope scaling)', config: tinyConfig('llama', { ropeTheta: 500000, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 40 } }) },
];

describe('every family × every decoder: the same greedy tokens', () => {
  for (const { name, config } of cases) {
    it(name, async () => {
      const weights = initWeights(config, 21, 0.3, { normJitter: 0.2, biasStd: 0.1 });
      const { model } = await withRandomLora({ config, weights }, 2, 5, [...descriptorOf(config).loraTargets]);
      const onnx = await OnnxDecoder.create(ort, await onnxGraph(model), config);
      const ours = await generateAll(model, PROMPT, greedy);
      const theirs = await generateAll(onnx, PROMPT, greedy);
      expect(new Set(ours.tokens).size, 'a degenerate model would agree by accident').toBeGreaterThan(2);
      expect(theirs.tokens).toEqual(ours.tokens);
      await onnx.release();
      model.destroy();
    });
  }
});
