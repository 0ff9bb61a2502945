// SmolLM3 (model_type smollm3): the Llama block, with RoPE applied only on the layers no_rope_layers marks 1 (by
// default every fourth layer has none: no_rope_layer_interval 4), tied embeddings. Sliding-window layers exist in
// the config (use_sliding_window) but are off in the released models; refused when on.
import { HfConfig, ropeScalingToHf } from './hf-config';
import { llama, LLAMA_LORA_TARGETS, llamaBlock, llamaGguf, llamaRecipe, llamaStyleHf, tinyLlamaStyle } from './llama';
import type { ArchitectureDescriptor } from './types';

export const smollm3: ArchitectureDescriptor = {
  family: 'smollm3',
  modelTypes: ['smollm3'],

  fromHf(json, fileName) {
    const h = new HfConfig(json, fileName);
    h.refuse('use_sliding_window', 'sliding-window SmolLM3 layers are not implemented');
    const base = llama.fromHf({ ...json, model_type: 'llama', tie_word_embeddings: json.tie_word_embeddings !== false }, fileName);
    const interval = h.int('no_rope_layer_interval', 4);
    const given = json.no_rope_layers;
    if (given != null && (!Array.isArray(given) || given.length !== base.numLayers || given.some((v) => v !== 0 && v !== 1))) {
      h.fail(`no_rope_layers must list 0 or 1 for each of the ${base.numLayers} layers`);
    }
    const ropeLayers = Array.isArray(given) ? given.map((v) => v === 1) : Array.from({ length: base.numLayers }, (_, l) => (l + 1) % interval !== 0);
    return { ...base, architecture: 'smollm3', modelType: 'smollm3', ropeLayers };
  },

  toHf: (c) => ({
    architectures: ['SmolLM3ForCausalLM'], model_type: 'smollm3', ...llamaStyleHf(c), hidden_act: 'silu', rope_theta: c.ropeTheta,
    rope_scaling: ropeScalingToHf(c.ropeScaling), attention_bias: c.attentionBias, mlp_bias: c.mlpBias, use_sliding_window: false,
    no_rope_layers: c.ropeLayers!.map((r) => (r ? 1 : 0)),
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
    return llamaGguf('smollm3', { ropePermute: true });
  },
  // Layer 1 without RoPE.
  tiny: (over = {}) => tinyLlamaStyle('smollm3', 'smollm3', { tieWordEmbeddings: true, ropeLayers: [true, false], ...over }),
};
