// TRL + Axolotl training kit: the files carry the run's values, read back by independent parsers.
//  - train.jsonl parses line by line to exactly the records' messages (quotes, newlines, non-ASCII);
//  - axolotl.yaml, read by PyYAML (what Axolotl uses), has every hyper-parameter with the right value AND type
//    (floats like 1e-8 must not come back as strings);
//  - train_trl.py compiles (py_compile) and, run against stub trl/peft/datasets modules that record their
//    arguments, builds LoraConfig, SFTConfig and SFTTrainer with the run's values.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { axolotlConfig, exportTrainingKit, type TrainingKitInput } from '../../src/export/trl';
import { PRESETS } from '../../src/train/presets';
import { venvPython } from '../helpers/torch';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const STUBS: Record<string, string> = {
  'datasets.py': `import json, os
def load_dataset(kind, data_files=None, split=None):
    rows = [json.loads(l) for l in open(data_files, encoding="utf-8")]
    _record("load_dataset", {"kind": kind, "data_files": data_files, "split": split, "rows": len(rows)})
    return rows
def _record(name, value):
    path = os.environ["CAPTURE"]
    got = json.load(open(path)) if os.path.exists(path) else {}
    got[name] = value
    json.dump(got, open(path, "w"))
`,
  'peft.py': `from datasets import _record
class LoraConfig:
    def __init__(self, **kw):
        _record("LoraConfig", kw)
`,
  'trl.py': `from datasets import _record
class SFTConfig:
    def __init__(self, **kw):
        _record("SFTConfig", kw)
        self.output_dir = kw["output_dir"]
class SFTTrainer:
    def __init__(self, model, args, train_dataset, peft_config):
        _record("SFTTrainer", {"model": model, "rows": len(train_dataset)})
    def train(self):
        _record("train", True)
    def save_model(self, out):
        _record("save_model", out)
`,
};

const records: TrainingKitInput['records'] = [
  { messages: [{ role: 'system', content: 'Be "brief".' }, { role: 'user', content: 'Say hi\nin two lines' }, { role: 'assistant', content: 'Hi!\nBye.' }] },
  { messages: [{ role: 'user', content: 'Ünïcødé — 日本語 \\ backslash' }, { role: 'assistant', content: "It's fine: {% not a template %}" }] },
];

const thorough = PRESETS.thorough;
const input: TrainingKitInput = {
  baseModel: 'HuggingFaceTB/SmolLM2-135M-Instruct',
  records,
  run: { lora: { ...thorough.lora, dropout: 0.07 }, train: { ...thorough.train, lr: 2e-4, eps: 1e-8, maxSteps: 123, seed: 7, warmupSteps: 5 }, packing: true, assistantOnly: true },
  outputDir: 'out/run-1',
};

describe('TRL and Axolotl training kit', () => {
  it('writes the dataset as messages JSONL and configs with the same hyper-parameters', () => {
    const files = exportTrainingKit(input);
    expect([...files.keys()]).toEqual(['train.jsonl', 'train_trl.py', 'axolotl.yaml']);
    const dir = mkdtempSync(join(tmpdir(), 'trl-kit-'));
    dirs.push(dir);
    for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);

    // JSONL
    const lines = new TextDecoder().decode(files.get('train.jsonl')!).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(records.map((r) => ({ messages: r.messages })));

    const { lora, train } = input.run;
    // Axolotl YAML through PyYAML
    const yamlJson = execFileSync(venvPython(), ['-c',
      'import json, sys, yaml; c = yaml.safe_load(open(sys.argv[1])); print(json.dumps({"c": c, "types": {k: type(v).__name__ for k, v in c.items()}}))',
      join(dir, 'axolotl.yaml')], { encoding: 'utf8' });
    const { c: ax, types } = JSON.parse(yamlJson) as { c: Record<string, unknown>; types: Record<string, string> };
    expect(ax).toEqual(axolotlConfig(input));
    expect(ax).toMatchObject({
      base_model: input.baseModel, adapter: 'lora', lora_r: lora.rank, lora_alpha: lora.alpha, lora_dropout: lora.dropout,
      lora_target_modules: lora.targetModules, peft_use_rslora: lora.useRslora, learning_rate: train.lr, lr_scheduler: train.schedule,
      warmup_steps: train.warmupSteps, num_epochs: train.epochs, max_steps: train.maxSteps, micro_batch_size: train.batchSize,
      gradient_accumulation_steps: train.gradAccumSteps, sequence_len: train.maxSeqLength, weight_decay: train.weightDecay,
      max_grad_norm: train.maxGradNorm, adam_epsilon: train.eps, seed: train.seed, sample_packing: true, train_on_inputs: false,
      datasets: [{ path: 'train.jsonl', type: 'chat_template', field_messages: 'messages', roles_to_train: ['assistant'] }],
    });
    expect(types).toMatchObject({ learning_rate: 'float', adam_epsilon: 'float', lora_dropout: 'float', weight_decay: 'float', lora_r: 'int', peft_use_rslora: 'bool' });

    // TRL script: compiles, and builds its objects with the run's values
    execFileSync(venvPython(), ['-m', 'py_compile', join(dir, 'train_trl.py')]);
    for (const [name, text] of Object.entries(STUBS)) writeFileSync(join(dir, name), text);
    const capture = join(dir, 'capture.json');
    execFileSync(venvPython(), ['train_trl.py'], { cwd: dir, env: { ...process.env, PYTHONPATH: dir, CAPTURE: capture } });
    const got = JSON.parse(readFileSync(capture, 'utf8'));
    expect(got.load_dataset).toEqual({ kind: 'json', data_files: 'train.jsonl', split: 'train', rows: records.length });
    expect(got.LoraConfig).toEqual({
      r: lora.rank, lora_alpha: lora.alpha, lora_dropout: lora.dropout, target_modules: lora.targetModules,
      use_rslora: lora.useRslora, bias: 'none', task_type: 'CAUSAL_LM',
    });
    expect(got.SFTConfig).toMatchObject({
      output_dir: 'out/run-1', learning_rate: train.lr, lr_scheduler_type: train.schedule, warmup_steps: train.warmupSteps,
      num_train_epochs: train.epochs, max_steps: train.maxSteps, per_device_train_batch_size: train.batchSize,
      gradient_accumulation_steps: train.gradAccumSteps, max_length: train.maxSeqLength, weight_decay: train.weightDecay,
      max_grad_norm: train.maxGradNorm, adam_beta1: train.beta1, adam_beta2: train.beta2, adam_epsilon: train.eps,
      seed: train.seed, assistant_only_loss: true, packing: true,
    });
    expect(got.SFTTrainer).toEqual({ model: input.baseModel, rows: records.length });
    expect(got.save_model).toBe('out/run-1');
  });

  it('maps epochs-only runs and the constant schedule', () => {
    const run = { ...input.run, train: { ...input.run.train, maxSteps: 0, schedule: 'constant' as const }, assistantOnly: false, packing: false };
    const ax = axolotlConfig({ ...input, run });
    expect(ax.max_steps).toBeUndefined();
    expect(ax.lr_scheduler).toBe('constant_with_warmup');
    expect(ax.train_on_inputs).toBe(true);
    const script = new TextDecoder().decode(exportTrainingKit({ ...input, run }).get('train_trl.py')!);
    expect(script).toContain('max_steps=-1,');
    expect(script).toContain('assistant_only_loss=False,');
    expect(script).not.toContain('{% generation %}');
    expect(() => exportTrainingKit({ ...input, records: [] })).toThrow(/no records/);
  });
});
