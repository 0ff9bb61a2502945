// TRL + Axolotl training kit: the files carry the run's values, read back by independent parsers.
//  - train.jsonl parses line by line to exactly the records' messages (quotes, newlines, non-ASCII);
//  - axolotl.yaml, read by PyYAML (what Axolotl uses), has every hyper-parameter with the right value AND type
//    (floats like 1e-8 must not come back as strings);
//  - train_trl.py compiles (py_compile) and, run against stub trl/peft/datasets modules that record their
//    arguments, builds LoraConfig, SFTConfig and SFTTrainer with the run's values, one prompt/completion row per
//    assistant turn, and no bf16 on a machine without a bf16 GPU.
// Real TRL runs the kit in export-trl-run.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { axolotlConfig, exportTrainingKit, type TrainingKitInput } from '../../src/export/trl';
import { PRESETS } from '../../src/train/presets';
import { venvPython } from '../helpers/torch';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const STUBS: Record<string, string> = {
  'datasets.py': `import json, os
class Rows(list):
    @property
    def column_names(self):
        return list(self[0].keys())
    def map(self, fn, batched, remove_columns):
        assert batched
        out = fn({k: [r[k] for r in self] for k in self.column_names})
        return Rows([dict(zip(out, v)) for v in zip(*out.values())])
def load_dataset(kind, data_files=None, split=None):
    rows = [json.loads(l) for l in open(data_files, encoding="utf-8")]
    _record("load_dataset", {"kind": kind, "data_files": os.path.basename(data_files), "split": split, "rows": len(rows)})
    return Rows(rows)
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
        _record("SFTTrainer", {"model": model, "rows": list(train_dataset)})
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
  model: { hub: 'HuggingFaceTB/SmolLM2-135M-Instruct' },
  records,
  run: { lora: { ...thorough.lora, dropout: 0.07 }, train: { ...thorough.train, lr: 2e-4, eps: 1e-8, maxSteps: 123, seed: 7, warmupSteps: 5 }, packing: true, assistantOnly: true },
  outputDir: 'out/run-1',
};

describe('TRL and Axolotl training kit', () => {
  it('writes the dataset as messages JSONL and configs with the same hyper-parameters', () => {
    const files = exportTrainingKit(input);
    expect([...files.keys()]).toEqual(['train.jsonl', 'train_trl.py', 'axolotl.yaml']);
    const dir = writeKit(files);

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
      base_model: 'HuggingFaceTB/SmolLM2-135M-Instruct', adapter: 'lora', lora_r: lora.rank, lora_alpha: lora.alpha, lora_dropout: lora.dropout,
      lora_target_modules: lora.targetModules, peft_use_rslora: lora.useRslora, learning_rate: train.lr, lr_scheduler: train.schedule,
      warmup_steps: train.warmupSteps, num_epochs: train.epochs, max_steps: train.maxSteps, micro_batch_size: train.batchSize,
      gradient_accumulation_steps: train.gradAccumSteps, sequence_len: train.maxSeqLength, weight_decay: train.weightDecay,
      max_grad_norm: train.maxGradNorm, adam_epsilon: train.eps, seed: train.seed, sample_packing: true, train_on_inputs: false,
      datasets: [{ path: 'train.jsonl', type: 'chat_template', field_messages: 'messages', roles_to_train: ['assistant'] }],
    });
    expect(types).toMatchObject({ learning_rate: 'float', adam_epsilon: 'float', lora_dropout: 'float', weight_decay: 'float', lora_r: 'int', peft_use_rslora: 'bool' });

    // TRL script: compiles, and builds its objects with the run's values
    execFileSync(venvPython(), ['-m', 'py_compile', join(dir, 'train_trl.py')]);
    const { dir: ran, got } = runStubbedIn(files);
    expect(got.load_dataset).toEqual({ kind: 'json', data_files: 'train.jsonl', split: 'train', rows: records.length });
    expect(got.LoraConfig).toEqual({
      r: lora.rank, lora_alpha: lora.alpha, lora_dropout: lora.dropout, target_modules: lora.targetModules,
      use_rslora: lora.useRslora, bias: 'none', task_type: 'CAUSAL_LM',
    });
    expect(got.SFTConfig).toMatchObject({
      output_dir: join(ran, 'out/run-1'), learning_rate: train.lr, lr_scheduler_type: train.schedule, warmup_steps: train.warmupSteps,
      num_train_epochs: train.epochs, max_steps: train.maxSteps, per_device_train_batch_size: train.batchSize,
      gradient_accumulation_steps: train.gradAccumSteps, max_length: train.maxSeqLength, weight_decay: train.weightDecay,
      max_grad_norm: train.maxGradNorm, adam_beta1: train.beta1, adam_beta2: train.beta2, adam_epsilon: train.eps,
      seed: train.seed, completion_only_loss: true, packing: true, bf16: false,
    });
    // Each assistant turn one row: the conversation before it as the prompt (system included), the turn as the completion.
    const [first, second] = records.map((r) => r.messages);
    expect(got.SFTTrainer).toEqual({
      model: 'HuggingFaceTB/SmolLM2-135M-Instruct',
      rows: [{ prompt: first.slice(0, 2), completion: [first[2]] }, { prompt: second.slice(0, 1), completion: [second[1]] }],
    });
    expect(got.save_model).toBe(join(ran, 'out/run-1'));
  });

  it('maps epochs-only runs, the constant schedule and all-token loss (messages rows, no completion mask)', () => {
    const run = { ...input.run, train: { ...input.run.train, maxSteps: 0, schedule: 'constant' as const }, assistantOnly: false, packing: false };
    const ax = axolotlConfig({ ...input, run });
    expect(ax.max_steps).toBeUndefined();
    expect(ax.lr_scheduler).toBe('constant_with_warmup');
    expect(ax.train_on_inputs).toBe(true);
    const got = runStubbed(exportTrainingKit({ ...input, run }));
    expect(got.SFTConfig).toMatchObject({ max_steps: -1, completion_only_loss: false, lr_scheduler_type: 'constant_with_warmup' });
    expect((got.SFTTrainer as { rows: unknown }).rows).toEqual(records.map((r) => ({ messages: r.messages })));
    expect(() => exportTrainingKit({ ...input, records: [] })).toThrow(/no records/);
  });

  it('a local base model: carried in model/ and loaded from beside the script, or asked for by name when not carried', () => {
    const weights = new Uint8Array([1, 2, 3]);
    const carried = exportTrainingKit({ ...input, model: { folder: 'public/models/default', files: new Map([['config.json', new TextEncoder().encode('{}')], ['model.safetensors', weights]]) } });
    expect([...carried.keys()]).toEqual(['train.jsonl', 'train_trl.py', 'axolotl.yaml', 'model/config.json', 'model/model.safetensors']);
    expect(carried.get('model/model.safetensors')).toEqual(weights);
    const { dir, got } = runStubbedIn(carried);
    expect((got.SFTTrainer as { model: string }).model).toBe(join(dir, 'model'));
    expect(axolotlConfig({ ...input, model: { folder: 'x', files: new Map() } }).base_model).toBe('./model');

    const far = exportTrainingKit({ ...input, model: { folder: 'my-7b', files: null } });
    expect([...far.keys()]).toEqual(['train.jsonl', 'train_trl.py', 'axolotl.yaml']);
    const refused = spawnSync(venvPython(), ['train_trl.py'], { cwd: writeKit(far), env: { ...process.env, PYTHONPATH: '' }, encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n').at(-1)).toBe('train_trl.py: error: this kit was made for the local model folder "my-7b", which it does not carry: pass its path, python train_trl.py --model /path/to/my-7b');
    expect((runStubbed(far, ['--model', '/models/my-7b']).SFTTrainer as { model: string }).model).toBe('/models/my-7b');
    expect(axolotlConfig({ ...input, model: { folder: 'my-7b', files: null } }).base_model).toBe('my-7b');
  });
});

/** The kit's files in a fresh folder. */
function writeKit(files: Map<string, Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), 'trl-kit-'));
  dirs.push(dir);
  for (const [name, bytes] of files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  return dir;
}

/** Runs the kit's train_trl.py against the stub modules; what they recorded. */
function runStubbedIn(files: Map<string, Uint8Array>, args: string[] = []): { dir: string; got: Record<string, unknown> } {
  const dir = writeKit(files);
  const stubs = mkdtempSync(join(tmpdir(), 'trl-stubs-'));
  dirs.push(stubs);
  for (const [name, text] of Object.entries(STUBS)) writeFileSync(join(stubs, name), text);
  const capture = join(stubs, 'capture.json');
  execFileSync(venvPython(), ['train_trl.py', ...args], { cwd: dir, env: { ...process.env, PYTHONPATH: stubs, CAPTURE: capture } });
  return { dir, got: JSON.parse(readFileSync(capture, 'utf8')) as Record<string, unknown> };
}

const runStubbed = (files: Map<string, Uint8Array>, args: string[] = []) => runStubbedIn(files, args).got;
