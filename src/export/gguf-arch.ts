// What llama.cpp calls each model family, as plain data: one entry per family, read by the GGUF model writer
// (gguf-model.ts) and the GGUF LoRA writer (gguf.ts). Each entry holds the facts convert_hf_to_gguf.py encodes
// in its Model subclass: the GGUF architecture name, the Hugging Face → GGUF tensor names (llama.cpp's
// tensor_mapping.py), the hyper-parameter keys (`<arch>.<key>`), and the weight conventions that differ.
// Meant to move into the per-architecture descriptors (src/model/arch/*) as they land; a new family is one more
// entry, e.g. qwen3 = qwen2 plus 'self_attn.q_norm' → 'attn_q_norm', 'self_attn.k_norm' → 'attn_k_norm';
// gemma3 = four norms ('post_attention_layernorm' → 'post_attention_norm', 'pre_feedforward_layernorm' →
// 'ffn_norm', 'post_feedforward_layernorm' → 'post_ffw_norm'), normShift 1 (Gemma's RMSNorm multiplies by
// 1 + w; llama.cpp's by w, so the converter writes w + 1), and llama.cpp applies the √hidden embedding scale
// itself.
// Not here: the tokenizer's pre-tokenizer name (a property of tokenizer.json, not of the family: the built-in
// model is arch llama with GPT-2's regex; see preTokenizerName in gguf-model.ts).
import type { ModelConfig } from '../model/config';

type NumericField = Exclude<{ [K in keyof ModelConfig]-?: ModelConfig[K] extends number ? K : never }[keyof ModelConfig], undefined>;

export interface GgufArch {
  /** general.architecture, and the prefix of the hyper-parameter keys. */
  name: string;
  /** Hugging Face model_type values written as this family. */
  modelTypes: string[];
  /** Whole-model tensors: HF parameter name → GGUF tensor name. */
  global: Record<string, string>;
  /** HF layer prefix before the block index ('model.layers.' → 'model.layers.3.…'). */
  layerPrefixes: string[];
  /** Per-block modules: HF module path inside a block → GGUF short name (blk.N.<short>.weight|bias). */
  block: Record<string, string>;
  /** `<arch>.<key>` hyper-parameters taken from the config (u32 for integers, f32 for floats). */
  hparams: [key: string, field: NumericField, type: 'u32' | 'f32'][];
  /** q/k rows go from HF's rotate-half RoPE layout to ggml's interleaved one (LlamaModel.permute). */
  ropePermute: boolean;
  /** RoPE keys and llama3 rope_freqs are written (families with rotary positions). */
  rope: boolean;
  /** Weights stored [in, out] (GPT-2 Conv1D) are transposed to [out, in], llama.cpp's layout for every matmul. */
  conv1d: boolean;
  /** Added to every norm weight (Gemma: 1). */
  normShift: number;
}

const LLAMA_BLOCK = {
  input_layernorm: 'attn_norm', post_attention_layernorm: 'ffn_norm',
  'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
};
const LLAMA_GLOBAL = { 'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight' };
const LLAMA_HPARAMS: GgufArch['hparams'] = [
  ['context_length', 'maxPositions', 'u32'], ['embedding_length', 'hiddenSize', 'u32'], ['block_count', 'numLayers', 'u32'],
  ['feed_forward_length', 'intermediateSize', 'u32'], ['attention.head_count', 'numHeads', 'u32'],
  ['attention.head_count_kv', 'numKvHeads', 'u32'], ['attention.key_length', 'headDim', 'u32'],
  ['attention.value_length', 'headDim', 'u32'], ['rope.dimension_count', 'headDim', 'u32'],
  ['rope.freq_base', 'ropeTheta', 'f32'], ['attention.layer_norm_rms_epsilon', 'normEps', 'f32'], ['vocab_size', 'vocabSize', 'u32'],
];

export const GGUF_ARCHES: GgufArch[] = [
  {
    name: 'llama', modelTypes: ['llama', 'mistral'], global: LLAMA_GLOBAL, layerPrefixes: ['model.layers.'], block: LLAMA_BLOCK,
    hparams: LLAMA_HPARAMS, ropePermute: true, rope: true, conv1d: false, normShift: 0,
  },
  {
    name: 'qwen2', modelTypes: ['qwen2'], global: LLAMA_GLOBAL, layerPrefixes: ['model.layers.'], block: LLAMA_BLOCK,
    hparams: LLAMA_HPARAMS, ropePermute: false, rope: true, conv1d: false, normShift: 0,
  },
  {
    name: 'gpt2', modelTypes: ['gpt2'],
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
    ropePermute: false, rope: false, conv1d: true, normShift: 0,
  },
];

/** The family of a Hugging Face model_type. */
export function ggufArch(modelType: string): GgufArch {
  const arch = GGUF_ARCHES.find((a) => a.modelTypes.includes(modelType));
  if (!arch) throw new Error(`GGUF export: no llama.cpp architecture for model_type ${modelType} (supported: ${GGUF_ARCHES.flatMap((a) => a.modelTypes).join(', ')})`);
  return arch;
}

/** HF parameter name → GGUF tensor name and its block short name ('model.layers.3.self_attn.q_proj.weight' →
 *  { name: 'blk.3.attn_q.weight', short: 'attn_q' }); null for a name the family does not map. */
export function ggufParamName(arch: GgufArch, hfName: string): { name: string; short: string | null } | null {
  if (arch.global[hfName]) return { name: arch.global[hfName], short: null };
  for (const prefix of arch.layerPrefixes) {
    if (!hfName.startsWith(prefix)) continue;
    const m = /^(\d+)\.(.+)\.(weight|bias)$/.exec(hfName.slice(prefix.length));
    const short = m && arch.block[m[2]];
    if (m && short) return { name: `blk.${m[1]}.${short}.${m[3]}`, short };
  }
  return null;
}
