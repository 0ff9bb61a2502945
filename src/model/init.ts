// Fresh weights for a config, by Hugging Face names: what full-parameter pretraining of a tiny model starts
// from (and what parity tests feed both us and PyTorch). GPT-2/Llama style: linear and embedding weights
// ~ N(0, std²), biases 0, norm weights 1 (LayerNorm biases 0). Seeded.
import type { ModelConfig } from './config';
import { Rng } from './random';
import type { NamedWeight } from './transformer';

export function initWeights(c: ModelConfig, seed: number, std = 0.02, opts: { normJitter?: number; biasStd?: number } = {}): Map<string, NamedWeight> {
  const rng = new Rng(seed);
  const normal = () => {
    const u = Math.max(rng.next(), 1e-12), v = rng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const w = new Map<string, NamedWeight>();
  const rand = (name: string, shape: number[], s: number) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = normal() * s;
    w.set(name, { shape, data });
  };
  const norm = (name: string, withBias: boolean) => {
    const data = new Float32Array(c.hiddenSize).fill(1);
    if (opts.normJitter) for (let i = 0; i < data.length; i++) data[i] += normal() * opts.normJitter;
    w.set(`${name}.weight`, { shape: [c.hiddenSize], data });
    if (withBias) rand(`${name}.bias`, [c.hiddenSize], opts.biasStd ?? 0);
  };
  const C = c.hiddenSize, F = c.intermediateSize, qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
  const bias = (name: string, n: number) => rand(`${name}.bias`, [n], opts.biasStd ?? 0);

  if (c.architecture === 'gpt2') {
    rand('transformer.wte.weight', [c.vocabSize, C], std);
    rand('transformer.wpe.weight', [c.maxPositions, C], std / 2);
    for (let l = 0; l < c.numLayers; l++) {
      const p = `transformer.h.${l}`;
      norm(`${p}.ln_1`, true);
      norm(`${p}.ln_2`, true);
      // Conv1D weights are [in, out]
      for (const [name, inF, outF] of [['attn.c_attn', C, 3 * C], ['attn.c_proj', C, C], ['mlp.c_fc', C, F], ['mlp.c_proj', F, C]] as const) {
        rand(`${p}.${name}.weight`, [inF, outF], std);
        bias(`${p}.${name}`, outF);
      }
    }
    norm('transformer.ln_f', true);
    return w;
  }

  rand('model.embed_tokens.weight', [c.vocabSize, C], std);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    norm(`${p}.input_layernorm`, false);
    norm(`${p}.post_attention_layernorm`, false);
    for (const [name, inF, outF] of [['q_proj', C, qDim], ['k_proj', C, kvDim], ['v_proj', C, kvDim], ['o_proj', qDim, C]] as const) {
      rand(`${p}.self_attn.${name}.weight`, [outF, inF], std);
      if (c.attentionBias && name !== 'o_proj') bias(`${p}.self_attn.${name}`, outF);
    }
    for (const [name, inF, outF] of [['gate_proj', C, F], ['up_proj', C, F], ['down_proj', F, C]] as const) {
      rand(`${p}.mlp.${name}.weight`, [outF, inF], std);
      if (c.mlpBias) bias(`${p}.mlp.${name}`, outF);
    }
  }
  norm('model.norm', false);
  if (!c.tieWordEmbeddings) rand('lm_head.weight', [c.vocabSize, C], std);
  return w;
}

/** Small configs for tests and the embedded default, one per family. */
export function tinyConfig(kind: 'llama' | 'qwen2' | 'gpt2', over: Partial<ModelConfig> = {}): ModelConfig {
  const base: ModelConfig = {
    architecture: kind === 'gpt2' ? 'gpt2' : 'llama', modelType: kind,
    vocabSize: 97, hiddenSize: 32, intermediateSize: kind === 'gpt2' ? 128 : 64, numLayers: 2,
    numHeads: 4, numKvHeads: kind === 'gpt2' ? 4 : 2, headDim: 8, maxPositions: 64,
    normEps: kind === 'gpt2' ? 1e-5 : 1e-6, ropeTheta: 10000, attentionBias: kind === 'qwen2', mlpBias: false,
    tieWordEmbeddings: kind === 'gpt2', bosTokenId: null, eosTokenId: null,
  };
  return { ...base, ...over };
}
