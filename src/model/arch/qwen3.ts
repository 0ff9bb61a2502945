// Qwen3 (model_type qwen3): the Llama block with an RMSNorm over head_dim on each head of q and of k before RoPE
// (self_attn.q_norm, self_attn.k_norm), head_dim independent of hidden / heads, no q/k/v bias unless
// attention_bias, tied embeddings on the small models. Sliding windows as Qwen2's (use_sliding_window, off in every
// released config; layer_types or max_window_layers).
import { HfConfig, ropeScalingToHf } from './hf-config';
import {
  LLAMA_LORA_TARGETS, llamaBlock, llamaGguf, llamaRecipe, llamaStyleHf, QK_NORM_GGUF, qwenWindow, qwenWindowToHf, refuseAttentionDropout,
  refuseWindowInGguf, tinyLlamaStyle,
} from './llama';
import type { ArchitectureDescriptor } from './types';

export const qwen3: ArchitectureDescriptor = {
  family: 'qwen3',
  modelTypes: ['qwen3'],

  fromHf(json, fileName) {
    const h = new HfConfig(json, fileName);
    const act = h.value('hidden_act') ?? 'silu';
    if (act !== 'silu') h.fail(`hidden_act ${JSON.stringify(act)} is not supported (only silu)`);
    refuseAttentionDropout(h);
    const hiddenSize = h.int('hidden_size'), numHeads = h.int('num_attention_heads'), numLayers = h.layers();
    const bias = h.bool('attention_bias', false);
    const rope = h.rope('full_attention', { theta: 1_000_000, scaling: true });
    return {
      architecture: 'qwen3', modelType: 'qwen3',
      vocabSize: h.int('vocab_size'), hiddenSize, intermediateSize: h.int('intermediate_size'),
      numLayers, numHeads, numKvHeads: h.kvHeads(numHeads), headDim: h.headDim(hiddenSize, numHeads),
      maxPositions: h.int('max_position_embeddings', 40960), normEps: h.epsilon('rms_norm_eps', 1e-6),
      ropeTheta: rope.theta, ropeScaling: rope.scaling,
      // Qwen3's attention_bias is on q, k, v and o alike; the MLP never has one.
      attentionBias: bias, mlpBias: false,
      tieWordEmbeddings: h.bool('tie_word_embeddings', false),
      bosTokenId: h.tokenId('bos_token_id'), eosTokenId: h.eos(), ...h.pad(),
      ...qwenWindow(h, numLayers),
    };
  },

  toHf: (c) => ({
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', ...llamaStyleHf(c), hidden_act: 'silu',
    rope_theta: c.ropeTheta, rope_scaling: ropeScalingToHf(c.ropeScaling), attention_bias: c.attentionBias,
    ...qwenWindowToHf(c),
  }),

  recipe(c) {
    return llamaRecipe(c, (l) => {
      const b = llamaBlock(c, l, { qNorm: `model.layers.${l}.self_attn.q_norm`, kNorm: `model.layers.${l}.self_attn.k_norm` });
      // attention_bias covers o_proj too in Qwen3 (llamaBlock gives o the MLP's bias flag).
      b.linears.o = { ...b.linears.o!, bias: c.attentionBias };
      return b;
    });
  },
  normaliseName: (name) => name,
  loraTargets: LLAMA_LORA_TARGETS,
  presetTargets: (names) => [...names],
  gguf: (c) => {
    refuseWindowInGguf(c, 'qwen3');
    const g = llamaGguf('qwen3');
    return { ...g, block: { ...g.block, ...QK_NORM_GGUF } };
  },
  // head_dim 16 with hidden 32 and 4 heads: q is wider than the hidden size, as in Qwen3-0.6B (16 × 128 > 1024).
  tiny: (over = {}) => tinyLlamaStyle('qwen3', 'qwen3', { headDim: 16, tieWordEmbeddings: true, ...over }),
};
