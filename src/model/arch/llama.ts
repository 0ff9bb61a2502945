// The Llama family: Llama 1-3.x, Mistral, SmolLM/SmolLM2, TinyLlama and Qwen2/Qwen2.5 (model_type llama, mistral,
// qwen2). Block: x → RMSNorm → q, k, v → RoPE → causal GQA attention → o → +x → RMSNorm → silu(gate)·up → down → +x.
// Qwen2 has q/k/v biases; Llama's attention_bias puts one on q, k, v and o (with mlp_bias, on the MLP too).
// Sliding windows as transformers 5 applies them: Mistral's sliding_window (default 4096, null for none) on every
// layer; Qwen2's only with use_sliding_window, on the layers layer_types marks (or from max_window_layers on). A
// sliding layer's query i sees keys j with i - j < window. Llama has none: transformers' Llama ignores a
// sliding_window in its mask yet drops keys past it from its KV cache, so the key is refused there.
// llamaBlock is the block layout Qwen3, SmolLM3 and Gemma 3 extend.
import type { LayerType, ModelConfig } from '../config';
import { HfConfig, layerTypesToHf, ropeScalingToHf } from './hf-config';
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
    attention: {
      scale: 1 / Math.sqrt(c.headDim), window: c.layerTypes?.[l] === 'sliding' ? c.slidingWindow ?? null : null,
      rope: { theta: c.ropeTheta, scaling: c.ropeScaling ?? null },
    },
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

type Window = Pick<ModelConfig, 'layerTypes' | 'slidingWindow'>;

/** The window fields of a config whose layers are `types` (none when no layer slides, so other configs stay as they were). */
export function windowFields(types: LayerType[], window: number | null): Window {
  return types.includes('sliding') ? { layerTypes: types, slidingWindow: window! } : {};
}

/**
 * Qwen2's and Qwen3's window as their transformers configs read it: sliding_window (default 4096) counts only with
 * use_sliding_window; layer_types, or else every layer from max_window_layers (default 28) on, says which slide.
 * A sliding layer without a window makes transformers fail to build its mask: refused.
 */
export function qwenWindow(h: HfConfig, numLayers: number): Window {
  const on = h.bool('use_sliding_window', false), given = h.value('sliding_window');
  const window = on && given !== null ? h.slidingWindow(4096) : null;
  const from = h.count('max_window_layers', 28);
  const types = h.layerTypes(numLayers, (l) => (window !== null && l >= from ? 'sliding' : 'full'));
  if (window === null && types.includes('sliding')) h.fail('layer_types marks sliding_attention layers but there is no window (use_sliding_window false or sliding_window null)');
  return windowFields(types, window);
}

/** The window as Qwen2's and Qwen3's config.json spell it (layer_types explicit, max_window_layers agreeing where it can). */
export function qwenWindowToHf(c: ModelConfig): Record<string, unknown> {
  const types = c.layerTypes ?? Array<LayerType>(c.numLayers).fill('full');
  const first = types.indexOf('sliding');
  return {
    use_sliding_window: first >= 0, sliding_window: first >= 0 ? c.slidingWindow : null,
    max_window_layers: first >= 0 ? first : c.numLayers, layer_types: layerTypesToHf(types),
  };
}

/**
 * llama.cpp's llama, qwen2, qwen3 and smollm3 architectures attend to every earlier key (no sliding-window variant,
 * unlike its gemma3): a model with a window shorter than its context would run wrong there, so it is refused.
 */
export function refuseWindowInGguf(c: ModelConfig, arch: string): void {
  if (c.layerTypes?.includes('sliding') && c.slidingWindow! < c.maxPositions) {
    throw new Error(`GGUF export: llama.cpp's ${arch} has no sliding-window attention, and this model's sliding_window ${c.slidingWindow} is shorter than its context (${c.maxPositions})`);
  }
}

/** attention_dropout: 0 in every released checkpoint of the Llama-style families; the studio's training regulariser is LoRA dropout. */
export function refuseAttentionDropout(h: HfConfig): void {
  h.refuse('attention_dropout', 'dropout on attention probabilities is not applied in training here; LoRA dropout is', (v) => v == null || v === 0);
}

/** A tiny Llama-style config for tests. */
export function tinyLlamaStyle(family: ModelConfig['architecture'], modelType: string, over: Partial<ModelConfig>): ModelConfig {
  return {
    architecture: family, modelType,
    vocabSize: 97, hiddenSize: 32, intermediateSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8, maxPositions: 64,
    normEps: 1e-6, ropeTheta: 10000, ropeScaling: null, attentionBias: false, mlpBias: false, tieWordEmbeddings: false, bosTokenId: null, eosTokenId: null,
    ...over,
  };
}

/** Mistral's window: sliding_window (default 4096; null for none) on every layer. Its transformers model ignores
 *  layer_types (alternating layers are Ministral's), so a config giving one is refused rather than misread. */
function mistralWindow(h: HfConfig, numLayers: number): Window {
  h.refuse('layer_types', 'transformers\' Mistral slides every layer when sliding_window is set and ignores layer_types');
  const window = h.value('sliding_window') === null ? null : h.slidingWindow(4096);
  return windowFields(Array<LayerType>(numLayers).fill(window === null ? 'full' : 'sliding'), window);
}

function mistralWindowToHf(c: ModelConfig): Record<string, unknown> {
  const types = c.layerTypes ?? [];
  if (types.some((t) => t !== types[0])) throw new Error('Mistral slides every layer or none (a mixed layer_types is not a Mistral config)');
  return { sliding_window: types[0] === 'sliding' ? c.slidingWindow : null };
}

const NO_LLAMA_WINDOW = 'transformers\' Llama has no sliding window: its mask ignores it while its KV cache drops keys past it';

function noWindow(h: HfConfig): Window {
  h.refuse('sliding_window', NO_LLAMA_WINDOW);
  h.refuse('layer_types', NO_LLAMA_WINDOW);
  return {};
}

export const llama: ArchitectureDescriptor = {
  family: 'llama',
  modelTypes: ['llama', 'mistral', 'qwen2'],

  fromHf(json, fileName) {
    const h = new HfConfig(json, fileName);
    const modelType = json.model_type as string;
    const act = h.value('hidden_act') ?? 'silu';
    if (act !== 'silu') h.fail(`hidden_act ${JSON.stringify(act)} is not supported (only silu)`);
    refuseAttentionDropout(h);
    const hiddenSize = h.int('hidden_size'), numHeads = h.int('num_attention_heads'), numLayers = h.layers();
    // HF llama's attention_bias puts a bias on q, k, v AND o; Qwen2 has q/k/v biases only, always; Mistral none.
    const llamaAttnBias = modelType === 'llama' && h.bool('attention_bias', false);
    const mlpBias = modelType === 'llama' && h.bool('mlp_bias', false);
    if (llamaAttnBias && !mlpBias) h.fail('attention_bias without mlp_bias (an o_proj bias alone) is not supported');
    const rope = h.rope('full_attention', { theta: 10000, scaling: true });
    return {
      architecture: 'llama', modelType,
      vocabSize: h.int('vocab_size'), hiddenSize, intermediateSize: h.int('intermediate_size'),
      numLayers, numHeads, numKvHeads: h.kvHeads(numHeads), headDim: h.headDim(hiddenSize, numHeads),
      maxPositions: h.int('max_position_embeddings', 2048), normEps: h.epsilon('rms_norm_eps', 1e-6),
      ropeTheta: rope.theta, ropeScaling: rope.scaling,
      attentionBias: modelType === 'qwen2' || llamaAttnBias, mlpBias,
      // transformers' LlamaConfig/MistralConfig/Qwen2Config default to untied embeddings.
      tieWordEmbeddings: h.bool('tie_word_embeddings', false),
      bosTokenId: h.tokenId('bos_token_id'), eosTokenId: h.eos(), ...h.pad(),
      ...(modelType === 'qwen2' ? qwenWindow(h, numLayers) : modelType === 'mistral' ? mistralWindow(h, numLayers) : noWindow(h)),
    };
  },

  toHf(c) {
    const qwen2 = c.modelType === 'qwen2', mistral = c.modelType === 'mistral';
    return {
      architectures: [qwen2 ? 'Qwen2ForCausalLM' : mistral ? 'MistralForCausalLM' : 'LlamaForCausalLM'],
      model_type: c.modelType, ...llamaStyleHf(c), hidden_act: 'silu', rope_theta: c.ropeTheta,
      rope_scaling: ropeScalingToHf(c.ropeScaling),
      ...(qwen2 ? qwenWindowToHf(c) : mistral ? mistralWindowToHf(c) : { attention_bias: c.attentionBias, mlp_bias: c.mlpBias }),
    };
  },

  recipe: (c) => llamaRecipe(c, (l) => llamaBlock(c, l)),
  normaliseName: (name) => name,
  loraTargets: LLAMA_LORA_TARGETS,
  presetTargets: (names) => [...names],
  // llama.cpp's converter has its own Qwen2 architecture, which keeps HF's q/k row order; Llama's permutes it.
  gguf: (c) => {
    const arch = c.modelType === 'qwen2' ? 'qwen2' : 'llama';
    refuseWindowInGguf(c, arch);
    return arch === 'qwen2' ? llamaGguf('qwen2') : llamaGguf('llama', { ropePermute: true });
  },
  tiny: (over = {}) => tinyLlamaStyle('llama', over.modelType ?? 'llama', { attentionBias: over.modelType === 'qwen2', ...over }),
};
