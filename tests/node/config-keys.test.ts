// Every config key that changes the maths is applied or refused, by name. For each model type the descriptors load,
// transformers says which keys matter (tests/oracle/config_keys.py: the keys of its config class, and every key its
// modeling code read off the config while building and running the parity test's tiny models of that type, a
// training step included), and the descriptor says what it reads and what it refuses (recordConfigKeys around
// configFromHf of the class's own default config and of each tiny config). A key in neither must be listed below as
// known not to alter the forward pass, with the reason: a key a future transformers adds, or starts reading, fails
// here until it is read, refused or explained.
import { describe, expect, it } from 'vitest';
import { configFromHf, SUPPORTED_MODEL_TYPES } from '../../src/model/arch';
import { recordConfigKeys } from '../../src/model/arch/hf-config';
import { FAMILIES } from '../helpers/hf-families';
import { transformersConfigKeys } from '../helpers/transformers';

/**
 * Keys known not to alter the forward pass (inference or a training step), and why; `only` where that holds for
 * some model types only (elsewhere the descriptor must read or refuse the key).
 */
const HARMLESS: Record<string, { why: string; only?: readonly string[] }> = {
  model_type: { why: 'picks the descriptor (configFromHf); each model type a descriptor lists is read as that family' },
  architectures: { why: 'the transformers class names; model_type picks the family and the studio builds its causal LM' },
  _name_or_path: { why: 'where the config was loaded from' },
  name_or_path: { why: 'where the config was loaded from' },
  transformers_version: { why: 'the version that wrote the file' },
  dtype: { why: 'the precision the weights were saved in: the loader reads each tensor\'s dtype from its safetensors header' },
  use_cache: { why: 'whether forward returns its KV cache, not what it computes' },
  output_attentions: { why: 'what forward returns, not what it computes' },
  output_hidden_states: { why: 'what forward returns, not what it computes' },
  return_dict: { why: 'what forward returns, not what it computes' },
  id2label: { why: 'labels of a classification head; the causal LM has none' },
  label2id: { why: 'labels of a classification head; the causal LM has none' },
  problem_type: { why: 'the loss of a classification head; the causal LM has none' },
  chunk_size_feed_forward: { why: 'runs a feed-forward over chunks of the sequence: the same values (and no modeling file of these families calls it)' },
  is_encoder_decoder: { why: 'generate()\'s choice of an encoder-decoder loop; these classes are decoder-only whatever it says' },
  initializer_range: { why: 'the spread of a new model\'s random init; a checkpoint\'s weights replace it' },
  gradient_checkpointing: { why: 'recomputes activations in the backward: the same values' },
  base_model_ep_plan: { why: 'class attribute: how to shard the model over devices' },
  base_model_fsdp_plan: { why: 'class attribute: how to shard the model over devices' },
  base_model_pp_plan: { why: 'class attribute: how to shard the model over devices' },
  base_model_tp_plan: { why: 'class attribute: how to shard the model over devices' },
  sub_configs: { why: 'class attribute: which keys hold nested configs (text_config and the like are read or refused)' },
  is_heterogeneous: { why: 'derived from per_layer_config, which is refused' },
  vision_aspect_ratio: { why: 'default of an image model\'s forward argument; a text model\'s forward takes none' },
  vision_feature_layer: { why: 'default of an image model\'s forward argument; a text model\'s forward takes none' },
  vision_feature_select_strategy: { why: 'default of an image model\'s forward argument; a text model\'s forward takes none' },
  pretraining_tp: { why: 'transformers 5\'s Llama does not read it (4.x sliced the same matmuls for tensor parallelism: the same values)', only: ['llama'] },
  _sliding_window_pattern: { why: 'transformers\' record of sliding_window_pattern, recomputed from that key (read) when it loads; layer_types (read) decides', only: ['gemma3_text'] },
  vision_config: { why: 'the vision tower, dropped: only the text model is tuned, on text', only: ['gemma3'] },
  mm_tokens_per_image: { why: 'the image path (dropped with the vision tower)', only: ['gemma3'] },
  boi_token_index: { why: 'the image path (dropped with the vision tower)', only: ['gemma3'] },
  eoi_token_index: { why: 'the image path (dropped with the vision tower)', only: ['gemma3'] },
  image_token_index: { why: 'the image path (dropped with the vision tower)', only: ['gemma3'] },
  pad_token_id: { why: 'GPT-2\'s embedding has no padding_idx (the Llama-style families read it: that row gets no gradient)', only: ['gpt2'] },
  reorder_and_upcast_attn: { why: 'computes the scores in float32, as the studio always does', only: ['gpt2'] },
  output_cross_attentions: { why: 'what forward returns; cross-attention itself (add_cross_attention) is refused', only: ['gpt2'] },
  summary_activation: { why: 'GPT2DoubleHeadsModel\'s multiple-choice head, not the LM', only: ['gpt2'] },
  summary_first_dropout: { why: 'GPT2DoubleHeadsModel\'s multiple-choice head, not the LM', only: ['gpt2'] },
  summary_proj_to_labels: { why: 'GPT2DoubleHeadsModel\'s multiple-choice head, not the LM', only: ['gpt2'] },
  summary_type: { why: 'GPT2DoubleHeadsModel\'s multiple-choice head, not the LM', only: ['gpt2'] },
  summary_use_proj: { why: 'GPT2DoubleHeadsModel\'s multiple-choice head, not the LM', only: ['gpt2'] },
  // GPT-2's published configs set 0.1 for all three, so refusing them would refuse every GPT-2. The Llama-style
  // families' attention_dropout (0 in every released config) is refused when set, since there it is a choice.
  attn_pdrop: { why: 'dropout: none at inference; in training the studio keeps the base model\'s dropouts off (LoRA dropout is its regulariser), as transformers in eval()', only: ['gpt2'] },
  embd_pdrop: { why: 'dropout: none at inference; in training the studio keeps the base model\'s dropouts off (LoRA dropout is its regulariser), as transformers in eval()', only: ['gpt2'] },
  resid_pdrop: { why: 'dropout: none at inference; in training the studio keeps the base model\'s dropouts off (LoRA dropout is its regulariser), as transformers in eval()', only: ['gpt2'] },
};
const harmless = (key: string, modelType: string): boolean => key in HARMLESS && (!HARMLESS[key].only || HARMLESS[key].only!.includes(modelType));

describe('config keys: each is read, refused by name, or known not to alter the maths', () => {
  const cases = SUPPORTED_MODEL_TYPES.map((modelType) => ({
    modelType, configs: FAMILIES.filter((f) => f.config.model_type === modelType).map((f) => f.config),
  }));
  const keys = transformersConfigKeys(cases);
  const needed = new Set<string>();

  for (const { modelType, configs } of cases) {
    it(modelType, () => {
      const { declared, consulted, defaults } = keys[modelType];
      const read = new Set<string>(), refused = new Map<string, string>();
      // transformers' own default config of the type, as save_pretrained writes it, and the parity configs
      for (const json of [defaults, ...configs]) {
        const r = recordConfigKeys(() => configFromHf(json));
        r.read.forEach((k) => read.add(k));
        r.refused.forEach((why, k) => refused.set(k, why));
      }
      const all = [...new Set([...declared, ...consulted])].sort();
      const rest = all.filter((k) => !read.has(k) && !refused.has(k));
      rest.filter((k) => harmless(k, modelType)).forEach((k) => needed.add(k));
      console.log(`config keys ${modelType}: ${JSON.stringify({
        read: all.filter((k) => read.has(k)), refused: all.filter((k) => refused.has(k) && !read.has(k)), harmless: rest.filter((k) => harmless(k, modelType)),
      })}`);
      expect(rest.filter((k) => !harmless(k, modelType)), `${modelType}: keys transformers reads that the descriptor neither reads nor refuses`).toEqual([]);
    });
  }

  it('every key listed as harmless is one some model type needs (the list holds no stale reasons)', () => {
    expect(needed.size, 'the model types ran first').toBeGreaterThan(0);
    expect(Object.keys(HARMLESS).filter((k) => !needed.has(k))).toEqual([]);
  });
});
