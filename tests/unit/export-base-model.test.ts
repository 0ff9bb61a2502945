// The base model the export's model card names (issue 15): a hub id stays as loaded; the built-in model, which
// the page calls "built-in model" or "default model", becomes its folder in this repository, which must hold
// a loadable model (config, weights, tokenizer) so the card's from_pretrained snippet runs from the repo root.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseModelId, BUILT_IN_PATH } from '../../src/io/validate';

describe('base model id in exports', () => {
  it('names the built-in model by its folder and leaves hub ids and other names as they are', () => {
    expect(baseModelId('built-in model')).toBe(BUILT_IN_PATH);
    expect(baseModelId('default model')).toBe(BUILT_IN_PATH);
    expect(baseModelId('HuggingFaceTB/SmolLM2-135M-Instruct')).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(baseModelId('my-model-folder')).toBe('my-model-folder');
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(BUILT_IN_PATH, f)), f).toBe(true);
  });
});
