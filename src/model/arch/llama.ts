// The Llama family: Llama 1-3.x, Mistral, SmolLM/SmolLM2, TinyLlama and Qwen2/Qwen2.5 (model_type llama, mistral,
// qwen2). Block: x → RMSNorm → q, k, v → RoPE → causal GQA attention → o → +x → RMSNorm → silu(gate)·up → down → +x.
// Qwen2 has q/k/v biases; Llama's attention_bias puts one on q, k, v and o (with mlp_bias, on the MLP too).
// Sliding-window attention (Mistral, Qwen2) is ignored: it only matters past the window (4096+ tokens).
// llamaBlocks is the block layout Qwen3 and Gemma 3 extend.
import type { ModelConfig } from '../config';
import { HfConfig, ropeScalingToHf } from './hf-config';
import type { ArchitectureDescriptor, BlockRecipe, GgufArch, LinearRecipe, ModelRecipe } from './types';

/** The Llama-style block's module paths and shapes, for layer l (biases per config). */
export function llamaBlock(c: ModelConfig, l: number, extra: Partial<BlockRecipe> = {}): BlockRecipe {
  const p = `model.layers.${l}`;
  const C = c.hiddenSize, F = c.intermediateSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  const lin = (name: string, inF: number, outF: number, bias: boolean): LinearRecipe => ({ name: `${p}.${name}`, inF, outF, bias });
  return {
    attnNorm: `${p}.input_layernorm`, postAttnNorm: null, mlpNorm: `${p}.post_attention_layernorm`, postMlpNorm: null,
    qNorm: null, kNorm: null,
    linears: {
      q: lin('self_attn.q_proj', C, q, c.attentionBias), k: lin('self_attn.k_proj', C, kv, c.attentionBias),
      v: lin('self_attn.v_proj', C, kv, c.attentionBias), o: lin('self_attn.o_proj', q, C, c.mlpBias),
      gate: lin('mlp.gate_proj', C, F, c.mlpBias), up: lin('mlp.up_proj', C, F, c.mlpBias), down: lin('mlp.down_proj', F, C, c.mlpBias),
    },
    attention: { scale: 1 / Math.sqrt(c.headDim), window: null, rope: { theta: c.ropeTheta, scaling: c.ropeScaling ?? null } },
    ...extra,
  };
}

/** The recipe of a Llama-style model whose blocks `block` builds. */
export function llamaRecipe(c: ModelConfig, block: (l: number) => BlockRecipe, over: Partial<ModelRecipe> = {}): ModelRecipe {
  return {
    norm: { kind: 'rms', offset: 0, eps: c.normEps }, embed: 'model.embed_tokens.weight', embedScale: 1, positions: null,
    conv1d: false, mlp: { gated: true, activation: 'silu' }, finalNorm: 'model.norm',
    head: c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
    blocks: Array.from({ length: c.numLayers }, (_, l) => block(l)),
    ...over,
  };
}

/** The config.json fields every Llama-style family writes the same way. */
export function llamaStyleHf(c: ModelConfig): Record<string, unknown> {
  return {
    vocab_size: c.vocabSize, hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads, num_key_value_heads: c.numKvHeads, head_dim: c.headDim,
    max_position_embeddings: c.maxPositions, rms_norm_eps: c.normEps, tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId, pad_token_id: c.padTokenId ?? null,
  };
}

export const LLAMA_LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

const LLAMA_BLOCK: Record<string, string> = {
  input_layernorm: 'attn_norm', post_attention_layernorm: 'ffn_norm',
  'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
};

/** llama.cpp's Llama architecture; the Llama-style families are this with another name and a few more tensors. */
export function llamaGguf(name: string, over: Partial<GgufArch> = {}): GgufArch {
  return {
    name, layerPrefixes: ['model.layers.'], block: LLAMA_BLOCK,
    global: { 'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight' },
    hparams: [
      ['context_length', 'maxPositions', 'u32'], ['embedding_length', 'hiddenSize', 'u32'], ['block_count', 'numLayers', 'u32'],
      ['feed_forward_length', 'intermediateSize', 'u32'], ['attention.head_count', 'numHeads', 'u32'],
      ['attention.head_count_kv', 'numKvHeads', 'u32'], ['attention.key_length', 'headDim', 'u32'],
      ['attention.value_length', 'headDim', 'u32'], ['rope.dimension_count', 'headDim', 'u32'],
      ['rope.freq_base', 'ropeTheta', 'f32'], ['attention.layer_norm_rms_epsilon', 'normEps', 'f32'], ['vocab_size', 'vocabSize', 'u32'],
    ],
    computed: [], ropePermute: false, rope: true, conv1d: false, normShift: 0,
    ...over,
  };
}

/** The q/k norms of Qwen3 and Gemma 3 in llama.cpp's names. */
export const QK_NORM_GGUF = { 'self_attn.q_norm': 'attn_q_norm', 'self_attn.k_norm': 'attn_k_norm' };

/** A tiny Llama-style config for tests. */
export function tinyLlamaStyle(family: ModelConfig['architecture'], modelType: string, over: Partial<ModelConfig>): ModelConfig {
  return {
    architecture: family, modelType,
    vocabSize: 97, hiddenSize: 32, intermediateSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8, maxPositions: 64,
    normEps: 1e-6, ropeTheta: 10000, ropeScaling: null, attentionBias: false, mlpBias: false, tieWordEmbeddings: false, bosTokenId: null, eosTokenId: null,
    ...over,
  };
}

export const llama: ArchitectureDescriptor = {
  family: 'llama',
  modelTypes: ['llama', 'mistral', 'qwen2'],

  fromHf(json, fileName) {
    const h = new HfConfig(json, fileName);
    const modelType = json.model_type as string;
    const act = json.hidden_act ?? 'silu';
    if (act !== 'silu') h.fail(`hidden_act ${JSON.stringify(act)} is not supported (only silu)`);
    const hiddenSize = h.int('hidden_size'), numHeads = h.int('num_attention_heads');
    // HF llama's attention_bias puts a bias on q, k, v AND o; Qwen2 has q/k/v biases only, always.
    const llamaAttnBias = modelType !== 'qwen2' && json.attention_bias === true;
    const mlpBias = json.mlp_bias === true;
    if (llamaAttnBias && !mlpBias) h.fail('attention_bias without mlp_bias (an o_proj bias alone) is not supported');
    const rope = h.rope('full_attention', { theta: 10000, scaling: true });
    return {
      architecture: 'llama', modelType,
      vocabSize: h.int('vocab_size'), hiddenSize, intermediateSize: h.int('intermediate_size'),
      numLayers: h.layers(), numHeads, numKvHeads: h.kvHeads(numHeads), headDim: h.headDim(hiddenSize, numHeads),
      maxPositions: h.int('max_position_embeddings', 2048), normEps: h.num('rms_norm_eps', 1e-6),
      ropeTheta: rope.theta, ropeScaling: rope.scaling,
      attentionBias: modelType === 'qwen2' || llamaAttnBias, mlpBias,
      // transformers' LlamaConfig/MistralConfig/Qwen2Config default to untied embeddings.
      tieWordEmbeddings: json.tie_word_embeddings === true,
      bosTokenId: h.tokenId('bos_token_id'), eosTokenId: h.eos(), ...h.pad(),
    };
  },

  toHf(c) {
    const qwen2 = c.modelType === 'qwen2';
    return {
      architectures: [qwen2 ? 'Qwen2ForCausalLM' : c.modelType === 'mistral' ? 'MistralForCausalLM' : 'LlamaForCausalLM'],
      model_type: c.modelType, ...llamaStyleHf(c), hidden_act: 'silu', rope_theta: c.ropeTheta,
      rope_scaling: ropeScalingToHf(c.ropeScaling),
      ...(qwen2 ? {} : { attention_bias: c.attentionBias, mlp_bias: c.mlpBias }),
    };
  },

  recipe: (c) => llamaRecipe(c, (l) => llamaBlock(c, l)),
  normaliseName: (name) => name,
  loraTargets: LLAMA_LORA_TARGETS,
  presetTargets: (names) => [...names],
  // llama.cpp's converter has its own Qwen2 architecture, which keeps HF's q/k row order; Llama's permutes it.
  gguf: (c) => (c.modelType === 'qwen2' ? llamaGguf('qwen2') : llamaGguf('llama', { ropePermute: true })),
  tiny: (over = {}) => tinyLlamaStyle('llama', over.modelType ?? 'llama', { attentionBias: over.modelType === 'qwen2', ...over }),
};
