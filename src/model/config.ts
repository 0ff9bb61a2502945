// One typed model config for every supported architecture, mapped from Hugging Face's config.json by the
// family's descriptor (src/model/arch/<family>.ts says which fields it sets and what they mean there):
//  - 'llama' covers Llama, Mistral, SmolLM/SmolLM2, TinyLlama and Qwen2/Qwen2.5 (Qwen2 = q/k/v bias).
//  - 'gpt2' is GPT-2: learned positions, LayerNorm, GELU (tanh), Conv1D weights stored [in, out].
//  - 'qwen3' is Qwen3: the Llama block with RMSNorm on each head's q and k before RoPE.
//  - 'gemma3' is Gemma 3's text model: four norms per block, GeGLU, scaled embeddings, local/global layers.
//  - 'smollm3' is SmolLM3: the Llama block with RoPE left out of every fourth layer (no_rope_layers).
// Weights are named as in Hugging Face checkpoints (e.g. 'model.layers.0.self_attn.q_proj.weight'); GPT-2
// names are normalised to the 'transformer.' prefix, Gemma 3's multimodal checkpoints to the text model's.

import type { RopeScaling } from '../ops/rope';

/** The family: which descriptor in src/model/arch/ describes this model. */
export type Architecture = 'llama' | 'gpt2' | 'qwen3' | 'gemma3' | 'smollm3';

/** Attention kind of one layer: full causal, or a sliding window of `slidingWindow` keys (Gemma 3's local layers, Mistral, Qwen2/Qwen3 and SmolLM3 with their windows on). */
export type LayerType = 'full' | 'sliding';

export interface ModelConfig {
  architecture: Architecture;
  /** HF `model_type` (llama, mistral, qwen2, gpt2, ...), kept for export. */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  maxPositions: number;
  normEps: number;
  /** RoPE base (llama family only). */
  ropeTheta: number;
  /** RoPE scaling (llama family only); absent or null for none. */
  ropeScaling?: RopeScaling | null;
  /** q/k/v projections carry a bias (Qwen2). GPT-2 always has biases. */
  attentionBias: boolean;
  /** o_proj and MLP projections carry a bias (some llama variants; false for Llama/Qwen2). */
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  /** pad_token_id where the family's embedding takes it as torch's padding_idx (its row gets no gradient); absent otherwise. */
  padTokenId?: number;
  // Sliding windows (absent when no layer slides, so the configs and fingerprints of models without one are unchanged;
  // Gemma 3 always lists its layers):
  /** Per layer: 'sliding' layers see only the last slidingWindow keys (query i, key j: i - j < slidingWindow). */
  layerTypes?: LayerType[];
  slidingWindow?: number;
  // Gemma 3 only (absent elsewhere):
  /** Attention scores are scaled by queryPreAttnScalar^-1/2 instead of headDim^-1/2. */
  queryPreAttnScalar?: number;
  /** RoPE base of Gemma 3's sliding layers (unscaled). */
  ropeLocalTheta?: number;
  // SmolLM3 only:
  /** Per layer: whether q and k are rotated (SmolLM3's no_rope_layers, 1 = RoPE, 0 = none). */
  ropeLayers?: boolean[];
}
