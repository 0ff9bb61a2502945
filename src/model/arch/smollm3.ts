// SmolLM3 (model_type smollm3): the Llama block, with RoPE applied only on the layers no_rope_layers marks 1 (by
// default every fourth layer has none: no_rope_layer_interval 4), tied embeddings. Sliding windows (off in the
// released models) as transformers' SmolLM3 reads them: with use_sliding_window, the layers layer_types marks, or
// else the RoPE-less ones, see the last sliding_window keys (no default: a sliding layer needs one).
import type { LayerType } from '../config';
import { HfConfig, layerTypesToHf, ropeScalingToHf } from './hf-config';
import { llama, LLAMA_LORA_TARGETS, llamaBlock, llamaGguf, llamaRecipe, llamaStyleHf, refuseWindowInGguf, tinyLlamaStyle, windowFields } from './llama';
import type { ArchitectureDescriptor } from './types';

export const smollm3: ArchitectureDescriptor = {
  family: 'smollm3',
  modelTypes: ['smollm3'],

  fromHf(json, fileName) {
    const h = new HfConfig(json, fileName);
    // Llama's reader refuses window keys (transformers' Llama has none): SmolLM3's own are read below.
    const { sliding_window: _w, layer_types: _t, use_sliding_window: _u, ...rest } = json;
    const base = llama.fromHf({ ...rest, model_type: 'llama', tie_word_embeddings: json.tie_word_embeddings !== false }, fileName);
    const interval = h.int('no_rope_layer_interval', 4);
    const given = h.value('no_rope_layers');
    if (given != null && (!Array.isArray(given) || given.length !== base.numLayers || given.some((v) => v !== 0 && v !== 1))) {
      h.fail(`no_rope_layers must list 0 or 1 for each of the ${base.numLayers} layers`);
    }
    const ropeLayers = Array.isArray(given) ? given.map((v) => v === 1) : Array.from({ length: base.numLayers }, (_, l) => (l + 1) % interval !== 0);
    const on = h.bool('use_sliding_window', false);
    const window = h.value('sliding_window') == null ? null : h.slidingWindow();
    const types = h.layerTypes(base.numLayers, (l): LayerType => (on && window !== null && !ropeLayers[l] ? 'sliding' : 'full'));
    if (types.includes('sliding') && window === null) h.fail('layer_types marks sliding_attention layers but sliding_window is null');
    // transformers' eager and SDPA masks would slide them, its flash-attention path would not
    if (types.includes('sliding') && !on) h.fail('layer_types marks sliding_attention layers while use_sliding_window is false');
    return { ...base, architecture: 'smollm3', modelType: 'smollm3', ropeLayers, ...windowFields(types, window) };
  },

  toHf: (c) => ({
    architectures: ['SmolLM3ForCausalLM'], model_type: 'smollm3', ...llamaStyleHf(c), hidden_act: 'silu', rope_theta: c.ropeTheta,
    rope_scaling: ropeScalingToHf(c.ropeScaling), attention_bias: c.attentionBias, mlp_bias: c.mlpBias,
    no_rope_layers: c.ropeLayers!.map((r) => (r ? 1 : 0)),
    use_sliding_window: c.layerTypes?.includes('sliding') ?? false, sliding_window: c.slidingWindow ?? null,
    layer_types: layerTypesToHf(c.layerTypes ?? Array<LayerType>(c.numLayers).fill('full')),
  }),

  recipe: (c) => llamaRecipe(c, (l) => {
    const b = llamaBlock(c, l);
    return c.ropeLayers?.[l] === false ? { ...b, attention: { ...b.attention, rope: null } } : b;
  }),
  normaliseName: (name) => name,
  loraTargets: LLAMA_LORA_TARGETS,
  presetTargets: (names) => [...names],
  // llama.cpp's SmolLM3 leaves RoPE out of every fourth layer itself (its no_rope_layer_interval, fixed at 4, no
  // key): any other no_rope_layers would run wrong there, so it is refused.
  gguf: (c) => {
    if (c.ropeLayers?.some((rope, l) => rope !== ((l + 1) % 4 !== 0))) {
      throw new Error(`GGUF export: llama.cpp's smollm3 leaves RoPE out of every fourth layer only; no_rope_layers ${c.ropeLayers.map(Number).join('')} differs`);
    }
    refuseWindowInGguf(c, 'smollm3');
    return llamaGguf('smollm3', { ropePermute: true });
  },
  // Layer 1 without RoPE.
  tiny: (over = {}) => tinyLlamaStyle('smollm3', 'smollm3', { tieWordEmbeddings: true, ropeLayers: [true, false], ...over }),
};
