// GPT-2 (model_type gpt2): x = wte[ids] + wpe[pos] → LayerNorm → c_attn (q | k | v fused) → causal attention →
// c_proj → +x → LayerNorm → c_fc → GELU (tanh) → c_proj → +x → LayerNorm → wteᵀ. Conv1D weights are [in, out];
// every linear has a bias. Checkpoints name tensors 'h.0...' (base model) or 'transformer.h.0...' (LM head model):
// both are read under 'transformer.'; the causal-mask buffers attn.bias / attn.masked_bias are not parameters.
// Options that change the attention (no 1/√d scaling, 1/layer scaling, cross-attention, a window) are refused.
import type { ModelConfig } from '../config';
import { HfConfig } from './hf-config';
import type { ArchitectureDescriptor } from './types';

/** Presets name Llama's modules; GPT-2's equivalents. */
const FROM_LLAMA: Record<string, string[]> = {
  q_proj: ['c_attn'], k_proj: ['c_attn'], v_proj: ['c_attn'], o_proj: ['attn.c_proj'],
  gate_proj: ['c_fc'], up_proj: ['c_fc'], down_proj: ['mlp.c_proj'],
};

export const gpt2: ArchitectureDescriptor = {
  family: 'gpt2',
  modelTypes: ['gpt2'],

  fromHf(json, fileName) {
    const h = new HfConfig(json, fileName);
    const act = h.value('activation_function') ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') h.fail(`GPT-2 activation_function ${JSON.stringify(act)} is not supported (only gelu_new, the tanh GELU)`);
    const hiddenSize = h.int('n_embd'), numHeads = h.int('n_head');
    if (hiddenSize % numHeads !== 0) h.fail(`n_embd ${hiddenSize} is not divisible by n_head ${numHeads}`);
    h.refuse('scale_attn_weights', 'scores without the 1/√head_dim scale are not implemented', (v) => v == null || v === true);
    h.refuse('scale_attn_by_inverse_layer_idx', 'scores scaled by 1/(layer + 1) are not implemented');
    h.refuse('add_cross_attention', 'cross-attention blocks belong to an encoder-decoder model');
    // transformers' GPT-2 mask has no window, but its KV cache builds sliding layers from these keys when set
    h.refuse('sliding_window', 'GPT-2 has no sliding window');
    h.refuse('layer_types', 'GPT-2 has no sliding window');
    return {
      architecture: 'gpt2', modelType: 'gpt2',
      vocabSize: h.int('vocab_size'), hiddenSize, intermediateSize: h.value('n_inner') == null ? 4 * hiddenSize : h.int('n_inner'),
      numLayers: h.layers('n_layer'), numHeads, numKvHeads: numHeads, headDim: hiddenSize / numHeads,
      maxPositions: h.int('n_positions', h.value('n_ctx') as number | undefined), normEps: h.epsilon('layer_norm_epsilon', 1e-5),
      ropeTheta: 0, attentionBias: true, mlpBias: true, tieWordEmbeddings: h.bool('tie_word_embeddings', true),
      bosTokenId: h.tokenId('bos_token_id'), eosTokenId: h.eos(),
    };
  },

  toHf: (c) => ({
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: c.vocabSize, n_embd: c.hiddenSize, n_layer: c.numLayers,
    n_head: c.numHeads, n_inner: c.intermediateSize, n_positions: c.maxPositions, n_ctx: c.maxPositions,
    layer_norm_epsilon: c.normEps, activation_function: 'gelu_new', tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0,
  }),

  recipe(c) {
    const C = c.hiddenSize, F = c.intermediateSize;
    return {
      norm: { kind: 'layer', offset: 0, eps: c.normEps }, embed: 'transformer.wte.weight', embedScale: 1,
      positions: 'transformer.wpe.weight', conv1d: true, mlp: { gated: false, activation: 'gelu_tanh' },
      finalNorm: 'transformer.ln_f', head: c.tieWordEmbeddings ? 'transformer.wte.weight' : 'lm_head.weight',
      blocks: Array.from({ length: c.numLayers }, (_, l) => {
        const p = `transformer.h.${l}`;
        return {
          attnNorm: `${p}.ln_1`, postAttnNorm: null, mlpNorm: `${p}.ln_2`, postMlpNorm: null, qNorm: null, kNorm: null,
          linears: {
            qkv: { name: `${p}.attn.c_attn`, inF: C, outF: 3 * C, bias: true },
            o: { name: `${p}.attn.c_proj`, inF: C, outF: C, bias: true },
            up: { name: `${p}.mlp.c_fc`, inF: C, outF: F, bias: true },
            down: { name: `${p}.mlp.c_proj`, inF: F, outF: C, bias: true },
          },
          attention: { scale: 1 / Math.sqrt(c.headDim), window: null, rope: null },
        };
      }),
    };
  },

  normaliseName(name) {
    if (/\.attn\.(bias|masked_bias)$/.test(name)) return null; // causal-mask buffers, not parameters
    if (name === 'lm_head.weight' || name.startsWith('transformer.')) return name;
    return `transformer.${name}`;
  },

  loraTargets: ['c_attn', 'attn.c_proj', 'c_fc', 'mlp.c_proj'],
  presetTargets: (names) => [...new Set(names.flatMap((t) => FROM_LLAMA[t] ?? [t]))],
  gguf: () => ({
    name: 'gpt2',
    global: {
      'transformer.wte.weight': 'token_embd.weight', 'transformer.wpe.weight': 'position_embd.weight',
      'transformer.ln_f.weight': 'output_norm.weight', 'transformer.ln_f.bias': 'output_norm.bias', 'lm_head.weight': 'output.weight',
    },
    layerPrefixes: ['transformer.h.', 'h.'],
    block: { ln_1: 'attn_norm', ln_2: 'ffn_norm', 'attn.c_attn': 'attn_qkv', 'attn.c_proj': 'attn_output', 'mlp.c_fc': 'ffn_up', 'mlp.c_proj': 'ffn_down' },
    hparams: [
      ['context_length', 'maxPositions', 'u32'], ['embedding_length', 'hiddenSize', 'u32'], ['block_count', 'numLayers', 'u32'],
      ['feed_forward_length', 'intermediateSize', 'u32'], ['attention.head_count', 'numHeads', 'u32'],
      ['attention.layer_norm_epsilon', 'normEps', 'f32'],
    ],
    computed: [], ropePermute: false, rope: false, conv1d: true, normShift: 0,
  }),
  tiny: (over: Partial<ModelConfig> = {}) => ({
    architecture: 'gpt2', modelType: 'gpt2',
    vocabSize: 97, hiddenSize: 32, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 4, headDim: 8, maxPositions: 64,
    normEps: 1e-5, ropeTheta: 0, attentionBias: true, mlpBias: true, tieWordEmbeddings: true, bosTokenId: null, eosTokenId: null,
    ...over,
  }),
};
