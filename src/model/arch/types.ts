// What a model family descriptor says, and the recipe every consumer reads from it.
//
// A descriptor (one file per family in this folder) owns everything that differs between families: the
// config.json mapping both ways, the block recipe (which norms where and of what kind, the MLP, attention options
// per layer, embedding scale), the module names LoRA targets, and llama.cpp's names and conventions (GgufArch). The transformer, the HF
// loader, init, the memory estimate, the ONNX and GGUF exports, presets, the tiny-model maker and the parity tests
// read the recipe (weightShapes derives the weight table from it), so none of them branches on a family's name.
// Not here: the kernels (src/ops), the maths of a step (src/model/transformer.ts).
import type { RopeScaling } from '../../ops/rope';
import type { Architecture, ModelConfig } from '../config';
import type { GluActivation } from '../../ops/glu';

/** A linear layer: `${name}.weight` is [out, in] (HF Linear) or [in, out] (Conv1D), `${name}.bias` [out] when bias. */
export interface LinearRecipe { name: string; inF: number; outF: number; bias: boolean }

/**
 * The linears of one block by role. Attention: q, k, v (or qkv fused, GPT-2's c_attn, split by columns q | k | v)
 * and o. MLP: up and down, plus gate when the MLP is gated (act(gate) * up).
 */
export type LinearRole = 'q' | 'k' | 'v' | 'qkv' | 'o' | 'gate' | 'up' | 'down';

interface AttentionRecipe {
  /** Scores are q·k × scale (1/√headDim, or Gemma 3's query_pre_attn_scalar^-1/2). */
  scale: number;
  /** Sliding window: query i sees keys j with i - j < window; null = every earlier key. */
  window: number | null;
  /** Rotary embedding of q and k (null: none, GPT-2's learned positions instead). */
  rope: { theta: number; scaling: RopeScaling | null } | null;
}

export interface BlockRecipe {
  /** Norm module paths (weights `${path}.weight`, and `.bias` for LayerNorm). */
  attnNorm: string;
  /** Norm of the attention output before the residual add (Gemma 3's post_attention_layernorm), or null. */
  postAttnNorm: string | null;
  mlpNorm: string;
  /** Norm of the MLP output before the residual add (Gemma 3's post_feedforward_layernorm), or null. */
  postMlpNorm: string | null;
  /** RMSNorm over each head's head_dim on q and on k before RoPE (Qwen3, Gemma 3), or null. */
  qNorm: string | null;
  kNorm: string | null;
  linears: Partial<Record<LinearRole, LinearRecipe>>;
  attention: AttentionRecipe;
}

export interface ModelRecipe {
  /** 'rms' (with weight offset 0, or 1 for Gemma's x·(1 + w)) or 'layer' (LayerNorm with bias). */
  norm: { kind: 'rms' | 'layer'; offset: 0 | 1; eps: number };
  /** Token embedding [V, C]; rows are multiplied by embedScale (Gemma 3: √hidden) as they are gathered. */
  embed: string;
  embedScale: number;
  /** Learned position embedding [maxPositions, C] added to the token rows (GPT-2), or null. */
  positions: string | null;
  /** Linear weights stored [in, out] (GPT-2's Conv1D) instead of [out, in]. */
  conv1d: boolean;
  /** The MLP: gated (act(gate) * up, then down) or plain (act(up), then down). */
  mlp: { gated: boolean; activation: GluActivation };
  finalNorm: string;
  /** The LM head [V, C]: the embedding itself when tied. */
  head: string;
  blocks: BlockRecipe[];
}

/** A numeric field of the config (optional ones too: a family names only fields its configs set). */
type NumericField = Exclude<{ [K in keyof ModelConfig]-?: NonNullable<ModelConfig[K]> extends number ? K : never }[keyof ModelConfig], undefined>;

/**
 * What llama.cpp calls the family, as convert_hf_to_gguf.py encodes it in its Model subclass: the GGUF architecture
 * name, the Hugging Face → GGUF tensor names (llama.cpp's tensor_mapping.py), the hyper-parameter keys
 * (`<name>.<key>`), and the weight conventions that differ. Read by the GGUF model and LoRA writers (src/export).
 */
export interface GgufArch {
  /** general.architecture, and the prefix of the hyper-parameter keys. */
  name: string;
  /** Whole-model tensors: HF parameter name → GGUF tensor name. */
  global: Record<string, string>;
  /** HF layer prefixes before the block index ('model.layers.' → 'model.layers.3.…'). */
  layerPrefixes: string[];
  /** Per-block modules: HF module path inside a block → GGUF short name (blk.N.<short>.weight|bias). */
  block: Record<string, string>;
  /** `<name>.<key>` hyper-parameters taken from the config (u32 for integers, f32 for floats). */
  hparams: [key: string, field: NumericField, type: 'u32' | 'f32'][];
  /** `<name>.<key>` hyper-parameters computed from the config rather than copied from one field. */
  computed: [key: string, value: number, type: 'u32' | 'f32'][];
  /** q/k rows go from HF's rotate-half RoPE layout to ggml's interleaved one (LlamaModel.permute). */
  ropePermute: boolean;
  /** RoPE keys and llama3 rope_freqs are written (families with rotary positions). */
  rope: boolean;
  /** Weights stored [in, out] (GPT-2 Conv1D) are transposed to [out, in], llama.cpp's layout for every matmul. */
  conv1d: boolean;
  /** Added to every norm weight (Gemma: 1; llama.cpp multiplies by w where Gemma multiplies by 1 + w). */
  normShift: number;
}

export interface ArchitectureDescriptor {
  family: Architecture;
  /** config.json model_type values this family loads. */
  modelTypes: readonly string[];
  /** config.json (a parsed object) → ModelConfig; throws one line naming the file and the field. */
  fromHf(json: Record<string, unknown>, fileName: string): ModelConfig;
  /** ModelConfig → config.json that transformers loads as the same model (tiny models, parity tests). */
  toHf(config: ModelConfig): Record<string, unknown>;
  recipe(config: ModelConfig): ModelRecipe;
  /** A checkpoint tensor name → the name the recipe uses; null for non-parameters (GPT-2's mask buffers). */
  normaliseName(name: string): string | null;
  /** Short module names LoRA can target (PEFT's target_modules suffixes), and how a Llama-named preset maps onto them. */
  loraTargets: readonly string[];
  presetTargets(llamaNames: readonly string[]): string[];
  /** llama.cpp's names and conventions for this config (Llama and Qwen2 are two llama.cpp architectures). */
  gguf(config: ModelConfig): GgufArch;
  /** A tiny config of this family for tests (vocab 97, hidden 32, 2 layers unless overridden). */
  tiny(over?: Partial<ModelConfig>): ModelConfig;
}
