// One typed model config for every supported architecture, mapped from Hugging Face's config.json.
//  - 'llama' covers Llama, Mistral, SmolLM/SmolLM2, TinyLlama and Qwen2/Qwen2.5 (Qwen2 = q/k/v bias).
//  - 'gpt2' is GPT-2: learned positions, LayerNorm, GELU (tanh), Conv1D weights stored [in, out].
// Weights are named as in Hugging Face checkpoints (e.g. 'model.layers.0.self_attn.q_proj.weight'); GPT-2
// names are normalised to the 'transformer.' prefix.

export type Architecture = 'llama' | 'gpt2';

/** RoPE frequency scaling as transformers' rope_scaling: 'linear' divides every frequency by factor;
 *  'llama3' (Llama 3.1/3.2) divides low frequencies by factor, keeps high ones, and blends in between. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

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
}
