// The families added with the descriptors (src/model/arch): Qwen3, Gemma 3 and SmolLM3 configs as their model
// repositories publish them map to the parameter counts transformers builds from the same configs (counted on the
// meta device with transformers 5.18: Qwen3-0.6B 596,049,920; gemma-3-270m 268,098,176; gemma-3-1b 999,885,952;
// SmolLM3-3B 3,075,098,624), with the per-layer options each family has; transformers v5's rope_parameters and
// Gemma 3's multimodal text_config read the same; sliding windows of Mistral, Qwen2, Qwen3 and SmolLM3 applied as
// transformers reads them; what a descriptor cannot compute is refused, and so is a checkpoint tensor no recipe
// consumes (a Llama checkpoint carrying q_norm).
import { describe, expect, test } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { configFromHf, loadHfModel, parameterCount } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { parseSafetensors, readTensorF32, writeSafetensors } from '../../src/io/safetensors';
import { descriptorOf, DESCRIPTORS, recipeOf, SUPPORTED_MODEL_TYPES } from '../../src/model/arch';
import { llama } from '../../src/model/arch/llama';
import { qwen3 } from '../../src/model/arch/qwen3';
import { smollm3 } from '../../src/model/arch/smollm3';

const QWEN3_06B = {"model_type": "qwen3", "vocab_size": 151936, "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 40960, "rms_norm_eps": 1e-06, "rope_theta": 1000000, "tie_word_embeddings": true, "attention_bias": false, "use_sliding_window": false, "bos_token_id": 151643, "eos_token_id": 151645};
const GEMMA3_270M = {"model_type": "gemma3_text", "vocab_size": 262144, "hidden_size": 640, "intermediate_size": 2048, "num_hidden_layers": 18, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256, "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000, "rope_local_base_freq": 10000, "query_pre_attn_scalar": 256, "sliding_window": 512, "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"], "hidden_activation": "gelu_pytorch_tanh", "rope_scaling": null, "final_logit_softcapping": null, "attn_logit_softcapping": null, "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0};
const GEMMA3_1B = {"model_type": "gemma3_text", "vocab_size": 262144, "hidden_size": 1152, "intermediate_size": 6912, "num_hidden_layers": 26, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256, "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000, "rope_local_base_freq": 10000, "query_pre_attn_scalar": 256, "sliding_window": 512, "sliding_window_pattern": 6, "hidden_activation": "gelu_pytorch_tanh", "rope_scaling": null, "final_logit_softcapping": null, "attn_logit_softcapping": null, "bos_token_id": 2, "eos_token_id": [1, 106], "pad_token_id": 0};
const SMOLLM3_3B = {"model_type": "smollm3", "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36, "num_attention_heads": 16, "num_key_value_heads": 4, "max_position_embeddings": 65536, "rms_norm_eps": 1e-06, "rope_theta": 5000000, "tie_word_embeddings": true, "no_rope_layer_interval": 4, "use_sliding_window": false, "bos_token_id": null, "eos_token_id": 128012, "pad_token_id": 128004};

describe('new families: config.json → ModelConfig → recipe', () => {
  test('parameter counts equal transformers\' for the published configs', () => {
    expect(parameterCount(configFromHf(QWEN3_06B))).toBe(596_049_920);
    expect(parameterCount(configFromHf(GEMMA3_270M))).toBe(268_098_176);
    expect(parameterCount(configFromHf(GEMMA3_1B))).toBe(999_885_952);
    expect(parameterCount(configFromHf(SMOLLM3_3B))).toBe(3_075_098_624);
  });

  test('Qwen3: q/k norms over head_dim 128 (q wider than hidden), tied, no biases', () => {
    const c = configFromHf(QWEN3_06B);
    expect(c).toMatchObject({ architecture: 'qwen3', headDim: 128, numHeads: 16, hiddenSize: 1024, tieWordEmbeddings: true, attentionBias: false });
    const b = recipeOf(c).blocks[0];
    expect(b.qNorm).toBe('model.layers.0.self_attn.q_norm');
    expect(b.linears.q).toMatchObject({ inF: 1024, outF: 2048, bias: false });
    expect(b.attention).toEqual({ scale: 1 / Math.sqrt(128), window: null, rope: { theta: 1000000, scaling: null } });
  });

  test('Gemma 3: local/global layers with their own RoPE bases and window, four norms, offset norms, scaled embeddings', () => {
    for (const json of [GEMMA3_270M, GEMMA3_1B]) {
      const c = configFromHf(json);
      const r = recipeOf(c);
      expect(c.layerTypes!.map((t) => t[0]).join('')).toBe('sssssfsssssfsssssf' + (c.numLayers === 26 ? 'sssssfss' : ''));
      expect(r.norm).toEqual({ kind: 'rms', offset: 1, eps: 1e-6 });
      expect(r.embedScale).toBe(Math.sqrt(c.hiddenSize));
      expect(r.mlp).toEqual({ gated: true, activation: 'gelu_tanh' });
      expect(r.blocks[0].attention).toEqual({ scale: 1 / 16, window: 512, rope: { theta: 10000, scaling: null } });
      expect(r.blocks[5].attention).toEqual({ scale: 1 / 16, window: null, rope: { theta: 1000000, scaling: null } });
      expect([r.blocks[0].postAttnNorm, r.blocks[0].mlpNorm, r.blocks[0].postMlpNorm]).toEqual(
        ['model.layers.0.post_attention_layernorm', 'model.layers.0.pre_feedforward_layernorm', 'model.layers.0.post_feedforward_layernorm']);
    }
  });

  test('Gemma 3: transformers v5 rope_parameters per layer type, and the multimodal config\'s text_config, read the same', () => {
    const v4 = configFromHf(GEMMA3_1B);
    const { rope_theta: _t, rope_local_base_freq: _l, rope_scaling: _s, ...rest } = GEMMA3_1B as Record<string, unknown>;
    const v5 = configFromHf({ ...rest, rope_parameters: { full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1000000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } } });
    expect(v5).toEqual({ ...v4, ropeScaling: { type: 'linear', factor: 8 } });
    const { model_type: _m, ...text } = GEMMA3_1B as Record<string, unknown>;
    expect(configFromHf({ model_type: 'gemma3', text_config: { ...text, model_type: 'gemma3_text' }, vision_config: {} })).toEqual(v4);
  });

  test('llama3 RoPE: a top-level original_max_position_embeddings wins over rope_scaling\'s, as transformers\' model builds it', () => {
    const json = {
      model_type: 'llama', vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4, max_position_embeddings: 1024,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 400 },
    };
    expect(configFromHf(json).ropeScaling).toMatchObject({ originalMaxPositions: 400 });
    expect(configFromHf({ ...json, original_max_position_embeddings: 200 }).ropeScaling).toMatchObject({ originalMaxPositions: 200 });
  });

  test('SmolLM3: RoPE off on every fourth layer (no_rope_layers)', () => {
    const r = recipeOf(configFromHf(SMOLLM3_3B));
    expect(r.blocks.slice(0, 8).map((b) => (b.attention.rope ? 1 : 0))).toEqual([1, 1, 1, 0, 1, 1, 1, 0]);
  });

  test.each([
    [{ ...QWEN3_06B, model_type: 'phi3' }, new RegExp(`unsupported architecture phi3 \\(supported model types: ${SUPPORTED_MODEL_TYPES.join(', ')}\\)`)],
    [{ ...QWEN3_06B, use_sliding_window: true, sliding_window: null, layer_types: Array(28).fill('sliding_attention') }, /layer_types marks sliding_attention layers but there is no window/],
    [{ ...QWEN3_06B, attention_dropout: 0.1 }, /attention_dropout = 0.1 is not supported \(dropout on attention probabilities is not applied in training here/],
    [{ ...QWEN3_06B, is_causal: false }, /is_causal = false is not supported \(bidirectional attention/],
    [{ ...QWEN3_06B, quantization_config: { quant_method: 'fp8' } }, /quantization_config = \{"quant_method":"fp8"\} is not supported \(quantized weights are not read/],
    [{ ...QWEN3_06B, partial_rotary_factor: 0.5 }, /partial_rotary_factor = 0.5 is not supported/],
    [{ ...QWEN3_06B, rope_parameters: { rope_type: 'default', rope_theta: 1e6, partial_rotary_factor: 0.5 } }, /rope_parameters.partial_rotary_factor 0.5 is not supported/],
    [{ ...GEMMA3_1B, final_logit_softcapping: 30 }, /final_logit_softcapping = 30 is not supported/],
    [{ ...GEMMA3_1B, layer_types: ['sliding_attention'] }, /layer_types has 1 entries for 26 layers/],
    [{ ...GEMMA3_1B, hidden_activation: 'silu' }, /hidden_activation "silu" is not supported/],
    [{ model_type: 'gemma3' }, /gemma3 config without a text_config/],
    [{ ...SMOLLM3_3B, no_rope_layers: [1, 0] }, /no_rope_layers must list 0 or 1 for each of the 36 layers/],
    [{ ...SMOLLM3_3B, sliding_window: 8, layer_types: Array(36).fill('sliding_attention') }, /layer_types marks sliding_attention layers while use_sliding_window is false/],
    [{ ...GEMMA3_1B, text_config: {} }, /text_config = \{\} is not supported \(a nested model config is not read for this model type\)/],
  ])('refuses %#', (json, message) => expect(() => configFromHf(json)).toThrow(message));

  test('every descriptor round-trips its tiny config through config.json, windows included', () => {
    const windowed = [
      llama.tiny({ modelType: 'mistral', layerTypes: ['sliding', 'sliding'], slidingWindow: 3 }),
      llama.tiny({ modelType: 'qwen2', layerTypes: ['full', 'sliding'], slidingWindow: 3 }),
      qwen3.tiny({ layerTypes: ['sliding', 'full'], slidingWindow: 5 }),
      smollm3.tiny({ layerTypes: ['full', 'sliding'], slidingWindow: 4 }),
    ];
    for (const tiny of [...DESCRIPTORS.map((d) => d.tiny()), llama.tiny({ modelType: 'mistral' }), ...windowed]) {
      expect(configFromHf(JSON.parse(JSON.stringify(descriptorOf(tiny).toHf(tiny)))), tiny.modelType).toEqual(tiny);
    }
  });
});

// transformers 5.18's rules (models/{mistral,qwen2,qwen3,smollm3}/configuration_*.py and modeling_*.py): which
// layers slide, and the window a sliding layer's mask uses (masking_utils.sliding_window_overlay: key j is seen
// from query i when j > i - window). The parity test holds the result to transformers' own modeling code.
describe('sliding windows: applied as transformers reads them, or refused by name', () => {
  const small = { vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2 };
  const windows = (json: Record<string, unknown>) => recipeOf(configFromHf(json)).blocks.map((b) => b.attention.window);

  test.each([
    ['Mistral: sliding_window on every layer', { model_type: 'mistral', sliding_window: 4 }, [4, 4, 4]],
    ['Mistral: the config class\'s default window, 4096', { model_type: 'mistral' }, [4096, 4096, 4096]],
    ['Mistral: null is none', { model_type: 'mistral', sliding_window: null }, [null, null, null]],
    ['Qwen2: a window without use_sliding_window is none', { model_type: 'qwen2', sliding_window: 4, max_window_layers: 0 }, [null, null, null]],
    ['Qwen2: layers from max_window_layers on', { model_type: 'qwen2', use_sliding_window: true, sliding_window: 4, max_window_layers: 1 }, [null, 4, 4]],
    ['Qwen2: the default window 4096 and max_window_layers 28 (no layer of 3 slides)', { model_type: 'qwen2', use_sliding_window: true }, [null, null, null]],
    ['Qwen2: layer_types before max_window_layers', { model_type: 'qwen2', use_sliding_window: true, sliding_window: 4, max_window_layers: 1, layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'] }, [4, null, 4]],
    ['Qwen3: as Qwen2', { model_type: 'qwen3', use_sliding_window: true, sliding_window: 2, max_window_layers: 2 }, [null, null, 2]],
    ['SmolLM3: the RoPE-less layers', { model_type: 'smollm3', use_sliding_window: true, sliding_window: 4, no_rope_layers: [1, 0, 1], pad_token_id: null }, [null, 4, null]],
    ['SmolLM3: no window without use_sliding_window', { model_type: 'smollm3', sliding_window: 4, no_rope_layers: [1, 0, 1], pad_token_id: null }, [null, null, null]],
  ])('%s', (_, json, expected) => expect(windows({ ...small, ...json })).toEqual(expected));

  test('a model without a sliding layer keeps its config as before (no window fields)', () => {
    for (const json of [{ model_type: 'qwen2', sliding_window: 4 }, { model_type: 'mistral', sliding_window: null }, { model_type: 'llama' }]) {
      const c = configFromHf({ ...small, ...json });
      expect('layerTypes' in c || 'slidingWindow' in c, json.model_type).toBe(false);
    }
  });

  test.each([
    [{ model_type: 'llama', sliding_window: 4 }, /sliding_window = 4 is not supported \(transformers' Llama has no sliding window: its mask ignores it while its KV cache drops keys past it\)/],
    [{ model_type: 'llama', layer_types: ['full_attention', 'full_attention', 'full_attention'] }, /layer_types = .* is not supported \(transformers' Llama has no sliding window/],
    [{ model_type: 'mistral', sliding_window: 4, layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'] }, /layer_types = .* is not supported \(transformers' Mistral slides every layer/],
    [{ model_type: 'qwen2', sliding_window: 4, layer_types: ['sliding_attention', 'full_attention', 'full_attention'] }, /layer_types marks sliding_attention layers but there is no window/],
    [{ model_type: 'qwen2', use_sliding_window: 'yes' }, /use_sliding_window must be true or false/],
    [{ model_type: 'qwen2', use_sliding_window: true, sliding_window: 0 }, /sliding_window must be a positive integer \(got 0\)/],
    [{ model_type: 'qwen2', use_sliding_window: true, max_window_layers: -1 }, /max_window_layers must be a whole number ≥ 0/],
    [{ model_type: 'mistral', sliding_window: 2 ** 32 + 1 }, /sliding_window must be a whole number from 1 to 2147483648 \(got 4294967297\)/],
    [{ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, sliding_window: 4 }, /sliding_window = 4 is not supported \(GPT-2 has no sliding window\)/],
    [{ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, scale_attn_weights: false }, /scale_attn_weights = false is not supported/],
    [{ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx = true is not supported/],
  ])('refuses %#', (json, message) => expect(() => configFromHf({ ...small, ...json })).toThrow(message));
});

describe('a checkpoint tensor no recipe consumes is refused, not ignored', () => {
  test('a Llama checkpoint carrying q_norm tensors', async () => {
    const files = buildTinyModel('llama-small', 1);
    const st = parseSafetensors(files.get('model.safetensors')!, 'model.safetensors');
    const tensors = [...st.tensors.keys()].map((name) => ({ name, ...readTensorF32(st, name) }));
    tensors.push({ name: 'model.layers.0.self_attn.q_norm.weight', shape: [8], data: new Float32Array(8).fill(1) });
    files.set('model.safetensors', writeSafetensors(tensors));
    await expect(loadHfModel(filesFromMap('llama-with-qk-norm', files))).rejects.toThrow(
      /tensor model\.layers\.0\.self_attn\.q_norm\.weight is not part of a llama model as the studio reads it/);
  });
});
