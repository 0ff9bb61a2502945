// Gemma 3's text model (model_type gemma3_text, and gemma3 multimodal configs through their text_config).
// Block: x → RMSNorm → q, k, v → RMSNorm per head on q and k → RoPE → attention → o → RMSNorm → +x
//          → RMSNorm → gelu_tanh(gate)·up → down → RMSNorm → +x
// Every RMSNorm is x·(1 + w) (weights stored as offsets from one). Embedding rows × √hidden. Scores × query_pre_attn_scalar^-1/2.
// layer_types (or sliding_window_pattern, default every 6th layer global) makes layers 'sliding': a window of
// sliding_window keys and the local RoPE base (rope_local_base_freq, or rope_parameters.sliding_attention);
// global layers use rope_theta with rope_scaling (or rope_parameters.full_attention). Tied embeddings (a multimodal
// config's own tie_word_embeddings decides, not its text_config's, as in transformers).
// Softcapping (attn_logit_softcapping, final_logit_softcapping) is Gemma 2's; null in every Gemma 3 config, refused when set.
// The multimodal checkpoint's language-model tensors (language_model.model.*, or model.language_model.* as
// transformers v5 saves them) are read as model.*; its vision tower and projector are dropped by name (only the text
// model is tuned); any other tensor the recipe does not consume is refused by the loader.
import type { ModelConfig } from '../config';
import { HfConfig, layerTypesToHf, ropeScalingToHf } from './hf-config';
import { LLAMA_LORA_TARGETS, llamaBlock, llamaGguf, llamaRecipe, llamaStyleHf, QK_NORM_GGUF, refuseAttentionDropout, tinyLlamaStyle } from './llama';
import type { ArchitectureDescriptor } from './types';

export const gemma3: ArchitectureDescriptor = {
  family: 'gemma3',
  modelTypes: ['gemma3_text', 'gemma3'],

  fromHf(outer, fileName) {
    // gemma3 (multimodal) nests the text model's config; its token ids may sit at either level, and its own
    // tie_word_embeddings (not the text config's) ties the head, as transformers' Gemma3ForConditionalGeneration does.
    let json = outer, h: HfConfig, tied: boolean;
    if (outer.model_type === 'gemma3') {
      const top = new HfConfig(outer, fileName, { nested: 'text_config' });
      const text = top.value('text_config');
      if (text == null || typeof text !== 'object') top.fail('gemma3 config without a text_config');
      json = { bos_token_id: top.value('bos_token_id'), eos_token_id: top.value('eos_token_id'), ...(text as Record<string, unknown>) };
      h = new HfConfig(json, `${fileName} text_config`, { scope: 'text_config.' });
      tied = top.bool('tie_word_embeddings', true);
    } else {
      h = new HfConfig(json, fileName);
      tied = h.bool('tie_word_embeddings', true);
    }
    const act = h.value('hidden_activation') ?? h.value('hidden_act') ?? 'gelu_pytorch_tanh';
    if (act !== 'gelu_pytorch_tanh') h.fail(`hidden_activation ${JSON.stringify(act)} is not supported (only gelu_pytorch_tanh)`);
    h.refuse('attn_logit_softcapping', 'Gemma 3 has none');
    h.refuse('final_logit_softcapping', 'Gemma 3 has none');
    h.refuse('use_bidirectional_attention', 'a causal language model is tuned here');
    refuseAttentionDropout(h);
    const hiddenSize = h.int('hidden_size'), numHeads = h.int('num_attention_heads'), numLayers = h.layers();
    const global = h.rope('full_attention', { theta: 1_000_000, scaling: true });
    const local = h.rope('sliding_attention', { theta: 10_000, thetaKey: 'rope_local_base_freq', scaling: false });
    if (local.scaling) h.fail('RoPE scaling on sliding layers is not supported');
    const headDim = h.int('head_dim', 256);
    // without layer_types, every sliding_window_pattern-th layer (default 6th) is global
    const layerTypes = h.layerTypes(numLayers, (l) => ((l + 1) % h.int('sliding_window_pattern', 6) === 0 ? 'full' : 'sliding'));
    return {
      architecture: 'gemma3', modelType: 'gemma3_text',
      vocabSize: h.int('vocab_size', 262_208), hiddenSize, intermediateSize: h.int('intermediate_size'),
      numLayers, numHeads, numKvHeads: h.kvHeads(numHeads), headDim,
      maxPositions: h.int('max_position_embeddings', 131_072), normEps: h.epsilon('rms_norm_eps', 1e-6),
      ropeTheta: global.theta, ropeScaling: global.scaling,
      attentionBias: h.bool('attention_bias', false), mlpBias: false,
      tieWordEmbeddings: tied,
      bosTokenId: h.tokenId('bos_token_id'), eosTokenId: h.eos(), ...h.pad(),
      queryPreAttnScalar: h.num('query_pre_attn_scalar', 256),
      layerTypes, slidingWindow: h.slidingWindow(4096), ropeLocalTheta: local.theta,
    };
  },

  toHf: (c) => ({
    architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', ...llamaStyleHf(c), hidden_activation: 'gelu_pytorch_tanh',
    attention_bias: c.attentionBias, query_pre_attn_scalar: c.queryPreAttnScalar, sliding_window: c.slidingWindow,
    layer_types: layerTypesToHf(c.layerTypes!),
    rope_parameters: {
      full_attention: { rope_type: 'default', rope_theta: c.ropeTheta, ...(ropeScalingToHf(c.ropeScaling) ?? {}) },
      sliding_attention: { rope_type: 'default', rope_theta: c.ropeLocalTheta },
    },
    final_logit_softcapping: null, attn_logit_softcapping: null,
  }),

  recipe(c) {
    const scale = (c.queryPreAttnScalar ?? c.headDim) ** -0.5;
    return llamaRecipe(c, (l) => {
      const p = `model.layers.${l}`;
      const sliding = c.layerTypes?.[l] === 'sliding';
      const b = llamaBlock(c, l, {
        postAttnNorm: `${p}.post_attention_layernorm`, mlpNorm: `${p}.pre_feedforward_layernorm`, postMlpNorm: `${p}.post_feedforward_layernorm`,
        qNorm: `${p}.self_attn.q_norm`, kNorm: `${p}.self_attn.k_norm`,
        attention: {
          scale, window: sliding ? c.slidingWindow ?? null : null,
          rope: sliding ? { theta: c.ropeLocalTheta ?? 10_000, scaling: null } : { theta: c.ropeTheta, scaling: c.ropeScaling ?? null },
        },
      });
      b.linears.o = { ...b.linears.o!, bias: c.attentionBias };
      return b;
    }, { norm: { kind: 'rms', offset: 1, eps: c.normEps }, embedScale: Math.sqrt(c.hiddenSize), mlp: { gated: true, activation: 'gelu_tanh' } });
  },

  normaliseName(name) {
    if (/^(model\.)?(vision_tower|multi_modal_projector)\./.test(name)) return null;
    if (name.startsWith('language_model.model.')) return name.slice('language_model.'.length);
    if (name.startsWith('model.language_model.')) return `model.${name.slice('model.language_model.'.length)}`;
    return name;
  },
  loraTargets: LLAMA_LORA_TARGETS,
  presetTargets: (names) => [...names],
  // llama.cpp applies the √hidden embedding scale itself and multiplies its norms by w: the converter writes 1 + w.
  // Its Gemma 3 reads the sliding layers as a period p (layer l slides when l % p < p - 1; one scalar, not a list),
  // the local RoPE base from rope.freq_base_swa, and scales scores by head_dim^-1/2 (hidden/heads^-1/2 at 62
  // layers, the 27B): a config outside that would run wrong in llama.cpp, so it is refused.
  gguf: (c) => {
    const g = llamaGguf('gemma3', { normShift: 1 });
    const types = c.layerTypes ?? [];
    const firstFull = types.indexOf('full');
    const period = firstFull < 0 ? 0 : firstFull + 1;
    if (types.some((t, l) => (t === 'sliding') !== (period === 0 || l % period < period - 1))) {
      throw new Error(`GGUF export: llama.cpp's gemma3 needs sliding layers in a period (every p-th layer global); layer_types ${types.map((t) => t[0]).join('')} is not one`);
    }
    const llamaScale = c.numLayers === 62 ? c.hiddenSize / c.numHeads : c.headDim;
    if ((c.queryPreAttnScalar ?? c.headDim) !== llamaScale) {
      throw new Error(`GGUF export: llama.cpp's gemma3 scales scores by ${llamaScale}^-1/2 at ${c.numLayers} layers, this model by query_pre_attn_scalar ${c.queryPreAttnScalar}^-1/2`);
    }
    const sliding = firstFull !== 0;
    return {
      ...g,
      computed: sliding ? [['attention.sliding_window', c.slidingWindow ?? 0, 'u32'], ['attention.sliding_window_pattern', period, 'u32'], ['rope.freq_base_swa', c.ropeLocalTheta ?? 10_000, 'f32']] : [],
      block: {
        ...g.block, ...QK_NORM_GGUF, post_attention_layernorm: 'post_attention_norm', pre_feedforward_layernorm: 'ffn_norm',
        post_feedforward_layernorm: 'post_ffw_norm',
      },
    };
  },
  // Layers 0 and 2 sliding (window 3, so the window bites at the tests' lengths), layer 1 global; head_dim 16.
  tiny: (over: Partial<ModelConfig> = {}) => tinyLlamaStyle('gemma3', 'gemma3_text', {
    headDim: 16, numLayers: 3, tieWordEmbeddings: true, queryPreAttnScalar: 24, layerTypes: ['sliding', 'full', 'sliding'],
    slidingWindow: 3, ropeLocalTheta: 10_000, ...over,
  }),
};
