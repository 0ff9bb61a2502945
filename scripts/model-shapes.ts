// The shapes of public models (their config.json values, the fields the studio reads) and random weights for them:
// what the real-size measurements (scripts/scale.ts), the benchmark (bench/) and the tests at real sizes build, with
// weights drawn locally (never downloaded), rounded to bf16 as the checkpoints ship.
// Pure (runs in a page too). Not here: building models from them (each user does), writing checkpoints
// (tests/helpers/random-checkpoint.ts), the measurements.
import { f32ToBf16 } from '../src/ops/half';

const llama = (o: Record<string, unknown>) => ({ model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_act: 'silu', rms_norm_eps: 1e-5, max_position_embeddings: 8192, ...o });
const qwen3 = (o: Record<string, unknown>) => ({ model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 40960, vocab_size: 151936, head_dim: 128, tie_word_embeddings: true, ...o });
const llama32 = { vocab_size: 128256, rope_theta: 500000, tie_word_embeddings: true, head_dim: 64, rope_scaling: null };

/** config.json values of each model (the fields the studio reads). */
export const MODELS: { name: string; hf: Record<string, unknown> }[] = [
  { name: 'SmolLM2-135M', hf: llama({ vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rope_theta: 100000, tie_word_embeddings: true }) },
  { name: 'Gemma-3-270M', hf: {
    model_type: 'gemma3_text', architectures: ['Gemma3ForCausalLM'], vocab_size: 262144, hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18,
    num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', rms_norm_eps: 1e-6, max_position_embeddings: 32768,
    rope_theta: 1000000, rope_local_base_freq: 10000, sliding_window: 512, query_pre_attn_scalar: 256, tie_word_embeddings: true,
    layer_types: Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 === 0 ? 'full_attention' : 'sliding_attention')),
  } },
  { name: 'Qwen2.5-0.5B', hf: { model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 32768, tie_word_embeddings: true } },
  { name: 'Qwen3-0.6B', hf: qwen3({ hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8 }) },
  { name: 'Llama-3.2-1B', hf: llama({ ...llama32, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8 }) },
  { name: 'Qwen3-1.7B', hf: qwen3({ hidden_size: 2048, intermediate_size: 6144, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8 }) },
  { name: 'Llama-3.2-3B', hf: llama({ ...llama32, head_dim: 128, hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 28, num_attention_heads: 24, num_key_value_heads: 8 }) },
];

/** bf16 bits of n values drawn uniform with the given standard deviation (xorshift32), drawn in f32 chunks so no f32 copy of a whole tensor is held. */
export function randomBf16(n: number, seed: number, std: number): Uint16Array {
  const out = new Uint16Array(n);
  const chunk = new Float32Array(1 << 20);
  let s = seed >>> 0 || 1;
  for (let at = 0; at < n; at += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, n - at));
    for (let i = 0; i < part.length; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      part[i] = (s / 2 ** 32 - 0.5) * 3.4641 * std;
    }
    out.set(f32ToBf16(part), at);
  }
  return out;
}

/** A model's config.json values by name (MODELS). */
export function modelShape(name: string): Record<string, unknown> {
  const m = MODELS.find((x) => x.name === name);
  if (!m) throw new Error(`no model shape ${name}: one of ${MODELS.map((x) => x.name).join(', ')}`);
  return m.hf;
}
