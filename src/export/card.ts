// The README.md model card that goes into every export zip: Hugging Face front matter (base_model,
// library_name, tags, pipeline_tag, license) and sections on what the export is and how to load it, the
// training data (name, version, size), the full run config (LoRA + trainer) and the run's metrics.
// Pure text from plain inputs: the caller gathers the metrics and dataset version.
import type { RunConfig } from '../train/presets';
import { loraScale } from '../model/lora';
import { toYaml } from './trl';

/** 'gguf': the GGUF LoRA (with the base GGUF and an Ollama Modelfile); 'gguf-model': the merged GGUF model. */
export type ExportKind = 'peft' | 'merged' | 'gguf' | 'gguf-model' | 'onnx' | 'training-kit';

export interface CardInput {
  kind: ExportKind;
  /** Hugging Face repo id (or name) of the base model. */
  baseModel: string;
  /** Title of the card (default: '<base model> LoRA'). */
  title?: string;
  /** null for an adapter trained elsewhere (imported): its data is not known here. */
  dataset: { name: string; version: string | number; records: number; tokens?: number } | null;
  /** The run's settings; an imported adapter has only its LoRA shape (and `importedFrom`, the file it came in). */
  run: Pick<RunConfig, 'lora' | 'train' | 'packing' | 'assistantOnly'> | { lora: RunConfig['lora']; importedFrom: string };
  /** Named numbers or strings (final train loss, best validation loss, steps, tokens/s, ...), in display order. */
  metrics: Record<string, number | string>;
  license?: string;
  /** ISO date of the export (default: now). */
  date?: string;
}

const LIBRARY: Record<ExportKind, string> = { peft: 'peft', merged: 'transformers', gguf: 'gguf', 'gguf-model': 'gguf', onnx: 'transformers.js', 'training-kit': 'peft' };

function usage(input: CardInput): string {
  const base = JSON.stringify(input.baseModel);
  switch (input.kind) {
    case 'peft': return [
      '```python',
      'from peft import PeftModel',
      'from transformers import AutoModelForCausalLM, AutoTokenizer',
      `base = AutoModelForCausalLM.from_pretrained(${base})`,
      'model = PeftModel.from_pretrained(base, "path/to/this/folder")',
      `tokenizer = AutoTokenizer.from_pretrained(${base})`,
      '```',
    ].join('\n');
    case 'merged': return [
      '```python',
      'from transformers import AutoModelForCausalLM, AutoTokenizer',
      'model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")',
      'tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")',
      '```',
    ].join('\n');
    case 'gguf': return [
      'With Ollama (the Modelfile applies the adapter to the base model in this folder), then llama.cpp:',
      '```sh',
      'ollama create my-model -f Modelfile',
      'ollama run my-model',
      'llama-cli -m base-f16.gguf --lora adapter-f32.gguf -cnv   # the base-*.gguf in this folder',
      '```',
    ].join('\n');
    case 'gguf-model': return [
      'With Ollama (the Modelfile carries the chat template, stop tokens and sampling defaults), then llama.cpp:',
      '```sh',
      'ollama create my-model -f Modelfile',
      'ollama run my-model',
      'llama-cli -m model-f16.gguf -cnv       # the model-*.gguf in this folder: f16, q8_0 or q4_k_m',
      '```',
      'Q4_K_M (`studio export --format gguf --dtype Q4_K_M`, or Q4_K_M in the Export tab) is the file llama.cpp\'s',
      '`llama-quantize model-f16.gguf model-Q4_K_M.gguf Q4_K_M` writes from the f16 one: the same tensor types and bytes.',
    ].join('\n');
    case 'onnx': return [
      '```js',
      "import { pipeline } from '@huggingface/transformers';",
      "const generate = await pipeline('text-generation', 'path/to/this/folder');",
      '```',
    ].join('\n');
    case 'training-kit': return [
      '```sh',
      'python train_trl.py                # TRL (SFTTrainer + PEFT)',
      'axolotl train axolotl.yaml         # or Axolotl',
      '```',
    ].join('\n');
  }
}

function cell(v: unknown): string {
  const s = Array.isArray(v) ? v.join(', ') : String(v);
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(rows: [string, unknown][]): string {
  return ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`)].join('\n');
}

function trainingRows({ train, packing, assistantOnly }: Pick<RunConfig, 'train' | 'packing' | 'assistantOnly'>): [string, unknown][] {
  return [
    ['Learning rate', train.lr], ['Schedule', train.schedule], ['Warm-up steps', train.warmupSteps],
    ['Epochs', train.epochs], ['Max steps', train.maxSteps > 0 ? train.maxSteps : 'from epochs'],
    ['Batch size', train.batchSize], ['Gradient accumulation', train.gradAccumSteps], ['Max sequence length', train.maxSeqLength],
    ['Weight decay', train.weightDecay], ['Max grad norm', train.maxGradNorm], ['AdamW betas', [train.beta1, train.beta2]],
    ['AdamW eps', train.eps], ['Seed', train.seed], ['Packing', packing], ['Loss on assistant turns only', assistantOnly],
  ];
}

export function modelCard(input: CardInput): string {
  const { lora } = input.run;
  const trained = 'train' in input.run ? input.run : null;
  const front: Record<string, unknown> = {
    base_model: input.baseModel,
    library_name: LIBRARY[input.kind],
    pipeline_tag: 'text-generation',
    tags: ['lora', 'sft', 'webgpu-sft-studio', ...(input.kind === 'gguf' || input.kind === 'gguf-model' ? ['gguf', 'ollama'] : input.kind === 'onnx' ? ['onnx'] : [])],
  };
  if (input.license) front.license = input.license;
  const title = input.title ?? `${input.baseModel} LoRA`;
  const what: Record<ExportKind, string> = {
    peft: 'A PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json) for the base model.',
    merged: 'The base model with the LoRA adapter merged into its weights: a complete Hugging Face model.',
    gguf: 'A GGUF LoRA adapter for llama.cpp and Ollama, with the base model as GGUF and an Ollama Modelfile.',
    'gguf-model': 'The tuned model (LoRA merged) as one GGUF file for llama.cpp, Ollama and LM Studio, with an Ollama Modelfile.',
    onnx: 'The tuned model as ONNX in the layout transformers.js loads for text generation (onnxruntime-web).',
    'training-kit': 'The curated dataset and ready TRL and Axolotl configs that repeat this run at scale.',
  };
  const metrics = Object.entries(input.metrics);
  return `---\n${toYaml(front)}---\n
# ${title}

${what[input.kind]} ${trained ? 'Fine-tuned with supervised fine-tuning (SFT) in WebGPU SFT Studio, in the browser.' : 'The adapter was trained elsewhere and imported into WebGPU SFT Studio; its training data and settings are not recorded here.'}

- **Base model:** ${input.baseModel}
${input.dataset ? `- **Dataset:** ${input.dataset.name}, version ${input.dataset.version} (${input.dataset.records} conversations${input.dataset.tokens !== undefined ? `, ${input.dataset.tokens} tokens` : ''})` : ''}${'importedFrom' in input.run ? `- **Imported from:** ${input.run.importedFrom}` : ''}
- **Exported:** ${input.date ?? new Date().toISOString()}

## Usage

${usage(input)}

## Training configuration

${table([
    ['LoRA rank (r)', lora.rank], ['LoRA alpha', lora.alpha], ['LoRA scale', loraScale(lora)], ['LoRA dropout', lora.dropout],
    ['rsLoRA', lora.useRslora], ['Target modules', lora.targetModules],
    ...(trained ? trainingRows(trained) : []),
  ])}

## Metrics

${metrics.length ? table(metrics) : `No metrics were recorded ${trained ? 'for this run' : 'here'}.`}
`;
}
