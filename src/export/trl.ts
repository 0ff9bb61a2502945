// "Take this run to a cluster": the curated dataset plus ready configs for TRL and Axolotl that repeat the
// studio's run (same LoRA and trainer hyper-parameters), as files (name → bytes):
//   train.jsonl     one {"messages": [{"role", "content"}, ...]} per line (TRL's and Axolotl's conversational form)
//   train_trl.py    SFTTrainer + SFTConfig + PEFT LoraConfig with every value written out (TRL >= 0.20:
//                   max_length, assistant_only_loss)
//   axolotl.yaml    the same run for Axolotl (adapter: lora, chat_template dataset, roles_to_train)
// Mapping of our TrainConfig: lr → learning_rate; schedule linear | cosine | constant → lr_scheduler_type
// linear | cosine | constant_with_warmup (ours warms up in every schedule, as these do); maxSteps 0 → max_steps
// -1 (epochs decide); batchSize → per-device micro-batch; maxSeqLength → max_length / sequence_len; AdamW betas,
// eps, weight decay, clipping and seed as they are. Assistant-only loss: TRL's assistant_only_loss needs a chat
// template with {% generation %} markers (the script says so); Axolotl masks by roles_to_train.
// Not here: the data's curation (src/data), the model card (card.ts), zipping (zip.ts).
import type { ChatMessage } from '../data/types';
import type { RunConfig } from '../train/presets';
import type { ExportFiles } from './merged';

export interface TrainingKitInput {
  /** Hugging Face repo id (or path) of the base model. */
  baseModel: string;
  records: { messages: ChatMessage[] }[];
  run: Pick<RunConfig, 'lora' | 'train' | 'packing' | 'assistantOnly'>;
  /** Where TRL/Axolotl write the adapter (default 'outputs/lora'). */
  outputDir?: string;
}

const SCHEDULER = { linear: 'linear', cosine: 'cosine', constant: 'constant_with_warmup' } as const;

/** PEFT LoraConfig keyword arguments. */
function peftLoraArgs(input: TrainingKitInput): Record<string, unknown> {
  const { lora } = input.run;
  return {
    r: lora.rank, lora_alpha: lora.alpha, lora_dropout: lora.dropout, target_modules: [...lora.targetModules],
    use_rslora: lora.useRslora, bias: 'none', task_type: 'CAUSAL_LM',
  };
}

/** TRL SFTConfig keyword arguments. */
function sftConfigArgs(input: TrainingKitInput): Record<string, unknown> {
  const { train, packing, assistantOnly } = input.run;
  return {
    output_dir: input.outputDir ?? 'outputs/lora',
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
    assistant_only_loss: assistantOnly,
    packing,
    logging_steps: 1,
    report_to: 'none',
  };
}

/** The Axolotl config as an object (written as YAML by exportTrainingKit). */
export function axolotlConfig(input: TrainingKitInput): Record<string, unknown> {
  const { lora, train, packing, assistantOnly } = input.run;
  const config: Record<string, unknown> = {
    base_model: input.baseModel,
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

function trlScript(input: TrainingKitInput): string {
  const caveat = input.run.assistantOnly
    ? '# assistant_only_loss=True needs a chat template that marks assistant turns with {% generation %} ... {% endgeneration %};\n# TRL raises an error otherwise: use such a template or set it to False.\n'
    : '';
  return `# The studio's LoRA SFT run, for TRL on a GPU machine or a cluster.
#   pip install "trl>=0.20" peft datasets transformers accelerate
#   python train_trl.py        (several GPUs: accelerate launch train_trl.py)
# train.jsonl (beside this file) holds the curated conversations in {"messages": [...]} form.
${caveat}from datasets import load_dataset
from peft import LoraConfig
from trl import SFTConfig, SFTTrainer

BASE_MODEL = ${pythonLiteral(input.baseModel)}

train_dataset = load_dataset("json", data_files="train.jsonl", split="train")

peft_config = LoraConfig(
${kwargs(peftLoraArgs(input))}
)

args = SFTConfig(
${kwargs(sftConfigArgs(input))}
)

trainer = SFTTrainer(model=BASE_MODEL, args=args, train_dataset=train_dataset, peft_config=peft_config)
trainer.train()
trainer.save_model(args.output_dir)
`;
}

function axolotlYaml(input: TrainingKitInput): string {
  return `# The studio's LoRA SFT run, for Axolotl:  axolotl train axolotl.yaml   (train.jsonl beside this file)\n${toYaml(axolotlConfig(input))}`;
}

/** One conversation per line, messages only (ids, provenance and edit state stay in the studio). */
function messagesJsonl(records: { messages: ChatMessage[] }[]): string {
  return records.map((r) => JSON.stringify({ messages: r.messages.map((m) => ({ role: m.role, content: m.content })) })).join('\n') + (records.length ? '\n' : '');
}

export function exportTrainingKit(input: TrainingKitInput): ExportFiles {
  if (input.records.length === 0) throw new Error('training kit: the dataset has no records');
  const enc = new TextEncoder();
  return new Map([
    ['train.jsonl', enc.encode(messagesJsonl(input.records))],
    ['train_trl.py', enc.encode(trlScript(input))],
    ['axolotl.yaml', enc.encode(axolotlYaml(input))],
  ]);
}
