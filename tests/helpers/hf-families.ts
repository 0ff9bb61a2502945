// The tiny model of each architecture family the parity tests run, as the config.json a Hugging Face checkpoint
// of that family carries: the real model's head layout (GQA ratio, head_dim against hidden/heads, biases, tied
// embeddings, norms and attention options) at small widths, 2-3 layers, vocabularies of a few hundred. Sliding
// windows are 4 keys where a family has one, so they bite on the parity test's 11-token rows and 14-token greedy runs.
// The engine's ModelConfig comes from configFromHf(config) and the reference from transformers' from_config(config),
// so both read the same file as a user's checkpoint would be read.

export interface HfFamily {
  /** Test name. */
  name: string;
  config: Record<string, unknown>;
  /** LoRA target_modules (PEFT's names) for the LoRA cases. */
  loraTargets: string[];
}

const LLAMA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export const FAMILIES: HfFamily[] = [
  {
    // SmolLM2/TinyLlama layout: GQA 2:1, untied head
    name: 'llama',
    config: {
      architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 256, hidden_size: 32, intermediate_size: 64,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-6,
      rope_theta: 10000, hidden_act: 'silu', tie_word_embeddings: false, attention_bias: false, mlp_bias: false,
    },
    loraTargets: LLAMA_TARGETS,
  },
  {
    // Llama 3.2 1B layout: GQA 4:1, tied head, rope_theta 500000, llama3 rope_scaling (a small original context
    // so that all three frequency bands occur at head_dim 8)
    name: 'llama3',
    config: {
      architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 256, hidden_size: 64, intermediate_size: 128,
      num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 1024,
      rms_norm_eps: 1e-5, rope_theta: 500000, hidden_act: 'silu', tie_word_embeddings: true, attention_bias: false, mlp_bias: false,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 400 },
    },
    loraTargets: ['q_proj', 'k_proj', 'down_proj'],
  },
  {
    // Qwen2.5 0.5B layout: q/k/v biases, GQA 7:1, tied head; a sliding_window that use_sliding_window false turns off
    name: 'qwen2',
    config: {
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 256, hidden_size: 56, intermediate_size: 96,
      num_hidden_layers: 2, num_attention_heads: 7, num_key_value_heads: 1, max_position_embeddings: 64, rms_norm_eps: 1e-6,
      rope_theta: 1000000, hidden_act: 'silu', tie_word_embeddings: true, use_sliding_window: false, sliding_window: 4,
      max_window_layers: 0,
    },
    loraTargets: ['q_proj', 'v_proj', 'down_proj'],
  },
  {
    // Qwen2 with its window on: layer 0 full, layer 1 sliding (max_window_layers 1), untied head
    name: 'qwen2-sliding',
    config: {
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 256, hidden_size: 32, intermediate_size: 64,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-6,
      rope_theta: 1000000, hidden_act: 'silu', tie_word_embeddings: false, use_sliding_window: true, sliding_window: 4,
      max_window_layers: 1,
    },
    loraTargets: ['q_proj', 'k_proj', 'o_proj', 'up_proj'],
  },
  {
    // Mistral 7B v0.1 layout: GQA 4:1, untied head, a sliding window on every layer
    name: 'mistral',
    config: {
      architectures: ['MistralForCausalLM'], model_type: 'mistral', vocab_size: 256, hidden_size: 32, intermediate_size: 64,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, max_position_embeddings: 64, rms_norm_eps: 1e-5,
      rope_theta: 10000, hidden_act: 'silu', tie_word_embeddings: false, sliding_window: 4, bos_token_id: 1, eos_token_id: 2,
    },
    loraTargets: LLAMA_TARGETS,
  },
  {
    name: 'gpt2',
    config: {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: 256, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 64,
      n_ctx: 64, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true, bos_token_id: 255, eos_token_id: 255,
    },
    loraTargets: ['c_attn', 'c_proj', 'c_fc'],
  },
  {
    // Qwen3 0.6B layout: head_dim 2 x hidden/heads, q_norm/k_norm over head_dim, GQA 2:1, tied head; its window
    // (off in the released models) on layer 1 by layer_types
    name: 'qwen3',
    config: {
      architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', vocab_size: 300, hidden_size: 32, intermediate_size: 64,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 64,
      rms_norm_eps: 1e-6, rope_theta: 1000000, hidden_act: 'silu', tie_word_embeddings: true, attention_bias: false,
      use_sliding_window: true, sliding_window: 4, layer_types: ['full_attention', 'sliding_attention'],
    },
    loraTargets: LLAMA_TARGETS,
  },
  {
    // SmolLM3 3B layout: GQA 4:1, tied head, no RoPE on every fourth layer (here layer 1 of 2, as no_rope_layers says);
    // its window (off in the released models) on, so the RoPE-less layer 1 slides
    name: 'smollm3',
    config: {
      architectures: ['SmolLM3ForCausalLM'], model_type: 'smollm3', vocab_size: 256, hidden_size: 32, intermediate_size: 64,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, max_position_embeddings: 64, rms_norm_eps: 1e-6,
      rope_theta: 5000000, hidden_act: 'silu', tie_word_embeddings: true, no_rope_layers: [1, 0], use_sliding_window: true,
      sliding_window: 4, pad_token_id: null,
    },
    loraTargets: LLAMA_TARGETS,
  },
  {
    // Gemma 3 270M layout: 1 kv head, head_dim 2 x hidden/heads, sliding layers before a full one (window 4, so it
    // bites on 11-token rows), local and global RoPE bases as the Hub's configs spell them (rope_theta,
    // rope_local_base_freq), query_pre_attn_scalar differing from head_dim (as Gemma 3 27B's), tied head
    name: 'gemma3',
    config: {
      architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', vocab_size: 320, hidden_size: 64, intermediate_size: 128,
      num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 32, max_position_embeddings: 64,
      rms_norm_eps: 1e-6, rope_theta: 1000000, rope_local_base_freq: 10000, hidden_activation: 'gelu_pytorch_tanh',
      query_pre_attn_scalar: 24, sliding_window: 4, layer_types: ['sliding_attention', 'sliding_attention', 'full_attention'],
      final_logit_softcapping: null, attn_logit_softcapping: null, tie_word_embeddings: true,
      bos_token_id: 2, eos_token_id: 1, pad_token_id: 0,
    },
    loraTargets: LLAMA_TARGETS,
  },
  {
    // The newer per-layer-type rope_parameters spelling (transformers v5) with linear scaling on the global layers
    // (Gemma 3 4B+). Gemma 2-style soft-capping is refused by the engine (tests/unit/arch.test.ts): no Gemma 3 sets it.
    name: 'gemma3-rope-parameters',
    config: {
      architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', vocab_size: 320, hidden_size: 64, intermediate_size: 128,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 64,
      rms_norm_eps: 1e-6, hidden_activation: 'gelu_pytorch_tanh', query_pre_attn_scalar: 16, sliding_window: 4,
      layer_types: ['sliding_attention', 'full_attention'], final_logit_softcapping: null, attn_logit_softcapping: null,
      rope_parameters: {
        sliding_attention: { rope_type: 'default', rope_theta: 10000 },
        full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1000000 },
      },
      tie_word_embeddings: true, bos_token_id: 2, eos_token_id: 1, pad_token_id: 0,
    },
    loraTargets: ['q_proj', 'o_proj', 'up_proj'],
  },
];
