// "Take this run to a cluster": the curated dataset plus ready configs for TRL and Axolotl that repeat the
// studio's run (same LoRA and trainer hyper-parameters), as files (name → bytes):
//   train.jsonl     one {"messages": [{"role", "content"}, ...]} per line (TRL's and Axolotl's conversational form)
//   train_trl.py    SFTTrainer + SFTConfig + PEFT LoraConfig with every value written out; runs as shipped
//                   (`python train_trl.py`, checked unmodified in real TRL 1.13 by tests/node/export-trl-run.test.ts)
//   axolotl.yaml    the same run for Axolotl (adapter: lora, chat_template dataset, roles_to_train); not checked
//                   against Axolotl's schema (no Axolotl package here)
//   model/          the base model's folder, when it is a local one small enough to carry (the built-in model)
// The base model: a Hub repository id is named as it is; a local folder travels in model/ and the script loads
// it from beside itself; a folder too large to carry is asked for (`--model PATH`, the error names the folder).
// Mapping of our TrainConfig: lr → learning_rate; schedule linear | cosine | constant → lr_scheduler_type
// linear | cosine | constant_with_warmup (ours warms up in every schedule, as these do); maxSteps 0 → max_steps
// -1 (epochs decide); batchSize → per-device micro-batch; maxSeqLength → max_length / sequence_len; AdamW betas,
// eps, weight decay, clipping and seed as they are; bf16 mixed precision only where the GPU has it (the studio
// trains LoRA in f32; transformers refuses bf16 on a CPU).
// Assistant-only loss: each assistant turn becomes one TRL prompt/completion row (the conversation before it,
// the turn), and TRL's completion_only_loss counts the completion's tokens. Chosen over `assistant_only_loss`,
// which needs {% generation %} markers: TRL 1.13 patches only the templates it knows (Qwen, Llama 3, Gemma, ...)
// and refuses the rest (the built-in model's, SmolLM2's), while prompt/completion works with any template. What it
// costs: TRL's completion also counts the newline some templates write after the end-of-turn token (ours stops
// at end-of-turn), and a conversation with k assistant turns is k rows (the same tokens are trained, in more rows).
// Axolotl masks by roles_to_train.
// Not here: the data's curation (src/data), the model card (card.ts), zipping (zip.ts).
import type { ChatMessage } from '../data/types';
import type { RunConfig } from '../train/presets';
import type { ExportFiles } from './merged';

/** Where the kit's script finds the base model. */
export type KitModel =
  /** A Hugging Face Hub repository id, loaded as it is. */
  | { hub: string }
  /** A local folder by its name, and its files to carry in model/ (null: too large; the script asks for its path). */
  | { folder: string; files: ExportFiles | null };

export interface TrainingKitInput {
  model: KitModel;
  records: { messages: ChatMessage[] }[];
  run: Pick<RunConfig, 'lora' | 'train' | 'packing' | 'assistantOnly'>;
  /** Where TRL/Axolotl write the adapter, relative to the kit (default 'outputs/lora'). */
  outputDir?: string;
}

/** The kit's folder for a carried base model. */
export const KIT_MODEL_DIR = 'model';

const SCHEDULER = { linear: 'linear', cosine: 'cosine', constant: 'constant_with_warmup' } as const;

/** PEFT LoraConfig keyword arguments. */
function peftLoraArgs(input: TrainingKitInput): Record<string, unknown> {
  const { lora } = input.run;
  return {
    r: lora.rank, lora_alpha: lora.alpha, lora_dropout: lora.dropout, target_modules: [...lora.targetModules],
    use_rslora: lora.useRslora, bias: 'none', task_type: 'CAUSAL_LM',
  };
}

/** TRL SFTConfig keyword arguments (output_dir and bf16 are decided when the script runs). */
function sftConfigArgs(input: TrainingKitInput): Record<string, unknown> {
  const { train, packing, assistantOnly } = input.run;
  return {
    learning_rate: train.lr,
    lr_scheduler_type: SCHEDULER[train.schedule],
    warmup_steps: train.warmupSteps,
    num_train_epochs: train.epochs,
    max_steps: train.maxSteps > 0 ? train.maxSteps : -1,
    per_device_train_batch_size: train.batchSize,
    gradient_accumulation_steps: train.gradAccumSteps,
    max_length: train.maxSeqLength,
    weight_decay: train.weightDecay,
    max_grad_norm: train.maxGradNorm,
    optim: 'adamw_torch',
    adam_beta1: train.beta1,
    adam_beta2: train.beta2,
    adam_epsilon: train.eps,
    seed: train.seed,
    completion_only_loss: assistantOnly,
    packing,
    logging_steps: 1,
    report_to: 'none',
  };
}

/** The Axolotl config as an object (written as YAML by exportTrainingKit). */
export function axolotlConfig(input: TrainingKitInput): Record<string, unknown> {
  const { lora, train, packing, assistantOnly } = input.run;
  const config: Record<string, unknown> = {
    base_model: 'hub' in input.model ? input.model.hub : input.model.files ? `./${KIT_MODEL_DIR}` : input.model.folder,
    datasets: [{
      path: 'train.jsonl', ds_type: 'json', type: 'chat_template', field_messages: 'messages',
      roles_to_train: assistantOnly ? ['assistant'] : ['system', 'user', 'assistant'], train_on_eos: 'turn',
    }],
    chat_template: 'tokenizer_default',
    val_set_size: 0,
    output_dir: input.outputDir ?? 'outputs/lora',
    adapter: 'lora',
    lora_r: lora.rank,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    lora_target_modules: [...lora.targetModules],
    peft_use_rslora: lora.useRslora,
    sequence_len: train.maxSeqLength,
    sample_packing: packing,
    micro_batch_size: train.batchSize,
    gradient_accumulation_steps: train.gradAccumSteps,
    num_epochs: train.epochs,
    optimizer: 'adamw_torch',
    adam_beta1: train.beta1,
    adam_beta2: train.beta2,
    adam_epsilon: train.eps,
    learning_rate: train.lr,
    lr_scheduler: SCHEDULER[train.schedule],
    warmup_steps: train.warmupSteps,
    weight_decay: train.weightDecay,
    max_grad_norm: train.maxGradNorm,
    seed: train.seed,
    train_on_inputs: !assistantOnly,
    logging_steps: 1,
  };
  if (train.maxSteps > 0) config.max_steps = train.maxSteps;
  return config;
}

// ---- writers ----

/** A number as both Python and YAML 1.1 (PyYAML) read it: floats always with a '.', so '1e-8' is not a string. */
function numberText(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`export: ${x} is not a finite number`);
  const s = String(x);
  return /e/.test(s) && !/\./.test(s) ? s.replace('e', '.0e') : s;
}

/** A JSON-like value as a Python literal. */
function pythonLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return numberText(v);
  if (typeof v === 'string') return JSON.stringify(v); // JSON string escapes are valid Python escapes
  if (Array.isArray(v)) return `[${v.map(pythonLiteral).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${pythonLiteral(x)}`).join(', ')}}`;
}

function yamlScalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return numberText(v);
  if (typeof v === 'string') return JSON.stringify(v); // a double-quoted YAML scalar
  throw new Error('yamlScalar: not a scalar');
}

/** Block YAML for mappings of scalars, lists of scalars (flow style) and lists of mappings. */
export function toYaml(obj: Record<string, unknown>, indent = ''): string {
  let out = '';
  for (const [key, v] of Object.entries(obj)) {
    if (Array.isArray(v) && v.some((x) => x !== null && typeof x === 'object')) {
      out += `${indent}${key}:\n`;
      for (const item of v) {
        const body = toYaml(item as Record<string, unknown>, `${indent}    `);
        out += `${indent}  - ${body.slice(indent.length + 4)}`;
      }
    } else if (Array.isArray(v)) {
      out += `${indent}${key}: [${v.map(yamlScalar).join(', ')}]\n`;
    } else if (v !== null && typeof v === 'object') {
      out += `${indent}${key}:\n${toYaml(v as Record<string, unknown>, `${indent}  `)}`;
    } else {
      out += `${indent}${key}: ${yamlScalar(v)}\n`;
    }
  }
  return out;
}

function kwargs(args: Record<string, unknown>): string {
  return Object.entries(args).map(([k, v]) => `    ${k}=${pythonLiteral(v)},`).join('\n');
}

/** The script's BASE_MODEL line (with why) and, for a folder it does not carry, the refusal naming it. */
function baseModelLines(model: KitModel): { line: string; missing: string } {
  if ('hub' in model) return { line: `# The base model, a Hugging Face Hub repository.\nBASE_MODEL = ${pythonLiteral(model.hub)}`, missing: '' };
  if (model.files) return { line: `# The base model: the studio's folder ${pythonLiteral(model.folder)}, carried in the kit's ${KIT_MODEL_DIR}/ folder.\nBASE_MODEL = str(HERE / ${pythonLiteral(KIT_MODEL_DIR)})`, missing: '' };
  return {
    line: `# The base model: the studio's local folder ${pythonLiteral(model.folder)}, too large to carry in the kit; --model names it.\nBASE_MODEL = None`,
    missing: `if opts.model is None:\n    cli.error(${pythonLiteral(`this kit was made for the local model folder "${model.folder}", which it does not carry: pass its path, python train_trl.py --model /path/to/${model.folder}`)})\n`,
  };
}

function trlScript(input: TrainingKitInput): string {
  const { line, missing } = baseModelLines(input.model);
  const { assistantOnly } = input.run;
  const rows = assistantOnly ? `

def assistant_turns(batch):
    """Each assistant turn as one prompt/completion row: the conversation before it, and the turn. TRL counts the
    loss on the completion only (completion_only_loss), with any chat template (no {% generation %} markers)."""
    rows = {"prompt": [], "completion": []}
    for messages in batch["messages"]:
        for i, message in enumerate(messages):
            if message["role"] == "assistant":
                rows["prompt"].append(messages[:i])
                rows["completion"].append([message])
    return rows


train_dataset = train_dataset.map(assistant_turns, batched=True, remove_columns=train_dataset.column_names)` : '';
  return `# The studio's LoRA SFT run, repeated in TRL (README.md says how to run it and what is checked).
#   pip install "trl>=1.13" peft datasets transformers accelerate
#   python train_trl.py [--model PATH_OR_HUB_ID] [--output-dir DIR]
#   accelerate launch train_trl.py        (several GPUs, data parallel)
# train.jsonl (beside this file) holds the curated conversations in {"messages": [...]} form.
import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
${line}

cli = argparse.ArgumentParser(description="Repeat the studio's LoRA SFT run in TRL.")
cli.add_argument("--model", default=BASE_MODEL, help="the base model: a local folder or a Hub repository id (default: %(default)s)")
cli.add_argument("--output-dir", default=str(HERE / ${pythonLiteral(input.outputDir ?? 'outputs/lora')}), help="where the adapter is saved (default: %(default)s)")
opts = cli.parse_args()
${missing}
# Imported after the arguments are read, so that a wrong call fails at once.
from datasets import load_dataset  # noqa: E402
from peft import LoraConfig  # noqa: E402
from transformers.utils import is_torch_bf16_gpu_available  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

train_dataset = load_dataset("json", data_files=str(HERE / "train.jsonl"), split="train")${rows}

peft_config = LoraConfig(
${kwargs(peftLoraArgs(input))}
)

args = SFTConfig(
    output_dir=opts.output_dir,
${kwargs(sftConfigArgs(input))}
    # bf16 mixed precision where the GPU computes in it; float32 elsewhere (a CPU, older GPUs).
    bf16=is_torch_bf16_gpu_available(),
)

trainer = SFTTrainer(model=opts.model, args=args, train_dataset=train_dataset, peft_config=peft_config)
trainer.train()
trainer.save_model(args.output_dir)
`;
}

function axolotlYaml(input: TrainingKitInput): string {
  const note = 'folder' in input.model && !input.model.files ? `# base_model: the path of the local folder "${input.model.folder}" (not carried in the kit).\n` : '';
  return `# The studio's LoRA SFT run, for Axolotl:  axolotl train axolotl.yaml   (train.jsonl beside this file)\n# Written for Axolotl's documented keys; not checked against its schema here.\n${note}${toYaml(axolotlConfig(input))}`;
}

/** One conversation per line, messages only (ids, provenance and edit state stay in the studio). */
function messagesJsonl(records: { messages: ChatMessage[] }[]): string {
  return records.map((r) => JSON.stringify({ messages: r.messages.map((m) => ({ role: m.role, content: m.content })) })).join('\n') + (records.length ? '\n' : '');
}

export function exportTrainingKit(input: TrainingKitInput): ExportFiles {
  if (input.records.length === 0) throw new Error('training kit: the dataset has no records');
  const enc = new TextEncoder();
  const files: ExportFiles = new Map([
    ['train.jsonl', enc.encode(messagesJsonl(input.records))],
    ['train_trl.py', enc.encode(trlScript(input))],
    ['axolotl.yaml', enc.encode(axolotlYaml(input))],
  ]);
  if ('files' in input.model && input.model.files) {
    for (const [name, bytes] of input.model.files) files.set(`${KIT_MODEL_DIR}/${name}`, bytes);
  }
  return files;
}
