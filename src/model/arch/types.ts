// What a model family descriptor says, and the recipe every consumer reads from it.
//
// A descriptor (one file per family in this folder) owns everything that differs between families: the
// config.json mapping both ways, the block recipe (which norms where and of what kind, the MLP, attention options
// per layer, embedding scale), the module names LoRA targets, and llama.cpp's names. The transformer, the HF
// loader, init, the memory estimate, the ONNX and GGUF exports, presets, the tiny-model maker and the parity tests
// read the recipe (weightShapes derives the weight table from it), so none of them branches on a family's name.
// Not here: the kernels (src/ops), the maths of a step (src/model/transformer.ts).
import type { Architecture, ModelConfig, RopeScaling } from '../config';
import type { GluActivation } from '../../ops/glu';

/** A linear layer: `${name}.weight` is [out, in] (HF Linear) or [in, out] (Conv1D), `${name}.bias` [out] when bias. */
export interface LinearRecipe { name: string; inF: number; outF: number; bias: boolean }

/**
 * The linears of one block by role. Attention: q, k, v (or qkv fused, GPT-2's c_attn, split by columns q | k | v)
 * and o. MLP: up and down, plus gate when the MLP is gated (act(gate) * up).
 */
export type LinearRole = 'q' | 'k' | 'v' | 'qkv' | 'o' | 'gate' | 'up' | 'down';

export interface AttentionRecipe {
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

/** llama.cpp's names: general.architecture and the per-block tensor names of each module. */
export interface GgufNames {
  architecture: string;
  /** Module path within a block ('self_attn.q_proj') → llama.cpp's name ('attn_q'). */
  modules: Record<string, string>;
  /** Whether llama.cpp's converter permutes q/k rows for its RoPE layout (LlamaModel.permute): Llama only. */
  permuteQk: boolean;
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
  gguf(config: ModelConfig): GgufNames;
  /** A tiny config of this family for tests (vocab 97, hidden 32, 2 layers unless overridden). */
  tiny(over?: Partial<ModelConfig>): ModelConfig;
}
