// The README.md model card that goes into every export zip: Hugging Face front matter (base_model,
// library_name, tags, pipeline_tag, license) and sections on what the export is and how to load it, the
// training data (name, version, size), the full run config (LoRA + trainer) and the run's metrics.
// Pure text from plain inputs: the caller gathers the metrics and dataset version; each format's library, tags,
// first line and usage come from its descriptor (formats/).
import type { RunConfig } from '../train/presets';
import { loraScale } from '../model/lora';
import { toYaml } from './trl';
import { EXPORT_FORMATS, type ExportFormat } from './formats';

export interface CardInput {
  kind: ExportFormat;
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
  /** ISO date of the export (default: today, UTC; a day, not a time, so one day's exports of the same weights are the same bytes: a push equals the zip). */
  date?: string;
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
  const { card } = EXPORT_FORMATS[input.kind];
  const trained = 'train' in input.run ? input.run : null;
  const front: Record<string, unknown> = {
    base_model: input.baseModel,
    library_name: card.library,
    pipeline_tag: 'text-generation',
    tags: ['lora', 'sft', 'webgpu-sft-studio', ...card.tags],
  };
  if (input.license) front.license = input.license;
  const title = input.title ?? `${input.baseModel} LoRA`;
  const metrics = Object.entries(input.metrics);
  return `---\n${toYaml(front)}---\n
# ${title}

${card.what} ${trained ? 'Fine-tuned with supervised fine-tuning (SFT) in WebGPU SFT Studio, in the browser.' : 'The adapter was trained elsewhere and imported into WebGPU SFT Studio; its training data and settings are not recorded here.'}

- **Base model:** ${input.baseModel}
${input.dataset ? `- **Dataset:** ${input.dataset.name}, version ${input.dataset.version} (${input.dataset.records} conversations${input.dataset.tokens !== undefined ? `, ${input.dataset.tokens} tokens` : ''})` : ''}${'importedFrom' in input.run ? `- **Imported from:** ${input.run.importedFrom}` : ''}
- **Exported:** ${input.date ?? new Date().toISOString().slice(0, 10)}

## Usage

${card.usage(JSON.stringify(input.baseModel))}

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
