// Model card: front matter that PyYAML (as the Hub does) reads back to the base model and library, and a body
// with the dataset version, every run hyper-parameter and the metrics; an imported adapter's card says where
// it came from and claims no data or settings it does not know.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { modelCard, type CardInput } from '../../src/export/card';
import { loraScale } from '../../src/model/lora';
import { PRESETS } from '../../src/train/presets';
import { venvPython } from '../helpers/torch';

const run = { ...PRESETS.thorough, lora: { ...PRESETS.thorough.lora, rank: 12, alpha: 20 } };
const input: CardInput = {
  kind: 'peft', baseModel: 'HuggingFaceTB/SmolLM2-135M-Instruct', license: 'apache-2.0',
  dataset: { name: 'support-chats', version: 7, records: 1234, tokens: 98765 },
  run,
  metrics: { 'Final train loss': 1.2345, 'Best validation loss': 1.5, 'Optimizer steps': 321, Note: 'a | pipe' },
  date: '2026-11-26T00:00:00.000Z',
};

describe('model card', () => {
  for (const kind of ['peft', 'merged', 'gguf', 'gguf-lora', 'onnx', 'kit'] as const) {
    it(`${kind}: front matter parses and the body states base, data, config and metrics`, () => {
      const card = modelCard({ ...input, kind });
      const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
      expect(m).not.toBeNull();
      const front = JSON.parse(execFileSync(venvPython(), ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: m![1], encoding: 'utf8' }));
      expect(front).toMatchObject({ base_model: input.baseModel, license: 'apache-2.0', pipeline_tag: 'text-generation' });
      expect(front.library_name).toBe({ peft: 'peft', merged: 'transformers', gguf: 'gguf', 'gguf-lora': 'gguf', onnx: 'transformers.js', kit: 'peft' }[kind]);
      const { lora, train } = run;
      expect(card).toContain('support-chats, version 7 (1234 conversations, 98765 tokens)');
      for (const [label, value] of [['LoRA rank (r)', lora.rank], ['LoRA alpha', lora.alpha], ['LoRA scale', loraScale(lora)], ['Learning rate', train.lr],
        ['Schedule', train.schedule], ['Batch size', train.batchSize], ['Gradient accumulation', train.gradAccumSteps], ['Max sequence length', train.maxSeqLength],
        ['Target modules', lora.targetModules.join(', ')], ['Final train loss', 1.2345], ['Optimizer steps', 321]] as const) {
        expect(card, label).toContain(`| ${label} | ${value} |`);
      }
      expect(card).toContain('| Note | a \\| pipe |');
    });
  }
  it('an imported adapter: its LoRA shape and origin, no dataset or training settings it does not have', () => {
    const card = modelCard({ ...input, kind: 'merged', dataset: null, run: { lora: run.lora, importedFrom: 'their-adapter.zip' }, metrics: {} });
    expect(card).toContain('trained elsewhere and imported');
    expect(card).toContain('- **Imported from:** their-adapter.zip');
    expect(card).toContain(`| LoRA rank (r) | ${run.lora.rank} |`);
    expect(card).not.toContain('**Dataset:**');
    expect(card).not.toContain('| Learning rate |');
    expect(card).toContain('AutoModelForCausalLM.from_pretrained("path/to/this/folder")');
  });

  it('says so when there are no metrics', () => {
    expect(modelCard({ ...input, metrics: {} })).toContain('No metrics were recorded');
  });
});
