// Fresh weights for a config, by Hugging Face names, from its descriptor's weight table: what full-parameter
// pretraining of a tiny model starts from (and what parity tests feed both us and transformers). Linear and
// embedding weights ~ N(0, std²), learned positions N(0, (std/2)²), biases N(0, biasStd²) (0 by default), norm
// weights 1 (0 where the recipe's norm adds one itself, Gemma's x·(1 + w)), LayerNorm biases as biases. Seeded.
import { descriptorNamed, recipeOf, weightTable } from './arch';
import type { ModelConfig } from './config';
import { Rng } from './random';
import type { NamedWeight } from './transformer';

export function initWeights(c: ModelConfig, seed: number, std = 0.02, opts: { normJitter?: number; biasStd?: number } = {}): Map<string, NamedWeight> {
  const rng = new Rng(seed);
  const normal = () => {
    const u = Math.max(rng.next(), 1e-12), v = rng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const normOne = 1 - recipeOf(c).norm.offset;
  const w = new Map<string, NamedWeight>();
  for (const { name, shape, kind } of weightTable(c)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (kind === 'norm') {
      data.fill(normOne);
      if (opts.normJitter) for (let i = 0; i < data.length; i++) data[i] += normal() * opts.normJitter;
    } else {
      const s = kind === 'positions' ? std / 2 : kind === 'bias' || kind === 'norm.bias' ? opts.biasStd ?? 0 : std;
      for (let i = 0; i < data.length; i++) data[i] = normal() * s;
    }
    w.set(name, { shape, data });
  }
  return w;
}

/** Small configs for tests: a family's, or one of its model types' (qwen2 and mistral are Llama-family model types). */
export function tinyConfig(name: string, over: Partial<ModelConfig> = {}): ModelConfig {
  const d = descriptorNamed(name);
  return d.family === name ? d.tiny(over) : d.tiny({ modelType: name, ...over });
}
