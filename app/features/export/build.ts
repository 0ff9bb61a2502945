// The Export tab's files, built whole in memory before anything is offered for download (so a failure
// leaves nothing half-written): a PEFT adapter zip and a TRL/Axolotl training-kit zip, each with its README
// model card. Pure functions of a run record and the engine's adapter files or the dataset's records.
// The merged model, GGUF and ONNX files are made in the engine worker (exportModel) and only zipped here.
// An imported adapter has no training record: its zips carry a short README saying what it is and where it
// came from instead of the run card.
import { modelCard, type CardInput } from '../../../src/export/card';
import { exportTrainingKit } from '../../../src/export/trl';
import { peftExportFiles, withReadme, zipExport } from '../../../src/export/zip';
import type { ChatMessage } from '../../../src/data/types';
import type { AdapterRecord, RunRecord } from '../../../src/storage/runs';
import type { AdapterFiles } from '../../../workers/protocol-engine';

/** A file-system-safe stem from a run's name ('Run 1' → 'Run_1'). */
export function fileStem(name: string): string {
  return name.replace(/[^\w.-]+/g, '_').replace(/^[._]+|_+$/g, '') || 'run';
}

function cardInput(run: RunRecord, kind: CardInput['kind'], date?: string): CardInput {
  const metrics: Record<string, number | string> = { Steps: run.final?.steps ?? run.metrics.at(-1)?.step ?? 0 };
  const lastLoss = run.final?.trainLoss ?? run.metrics.at(-1)?.loss;
  if (lastLoss !== undefined) metrics['Final train loss'] = Number(lastLoss.toFixed(4));
  if (run.bestValLoss !== null) metrics['Best validation loss'] = Number(run.bestValLoss.toFixed(4));
  return {
    kind, baseModel: run.model.name, date,
    dataset: { name: run.dataset?.name ?? 'unnamed dataset', version: run.dataset?.version ?? '—', records: run.trainExamples + run.validationExamples },
    run: run.config, metrics,
  };
}

export function adapterZip(run: RunRecord, files: AdapterFiles, date?: string): { name: string; bytes: Uint8Array } {
  const stem = `${fileStem(run.name)}-peft-adapter`;
  const bytes = zipExport(withReadme(peftExportFiles(files), modelCard(cardInput(run, 'peft', date))), { folder: stem });
  return { name: `${stem}.zip`, bytes };
}

export function trainingKitZip(run: RunRecord, records: { messages: ChatMessage[] }[], date?: string): { name: string; bytes: Uint8Array } {
  const stem = `${fileStem(run.name)}-training-kit`;
  const files = exportTrainingKit({ baseModel: run.model.name, records, run: run.config });
  return { name: `${stem}.zip`, bytes: zipExport(withReadme(files, modelCard(cardInput(run, 'training-kit', date))), { folder: stem }) };
}

/** A merged HF folder, a GGUF LoRA or an ONNX model (files from the engine's exportModel), zipped with its card. */
export function modelZip(run: RunRecord, kind: 'merged' | 'gguf' | 'onnx', files: [string, Uint8Array][], date?: string): { name: string; bytes: Uint8Array } {
  const stem = `${fileStem(run.name)}-${kind}`;
  return { name: `${stem}.zip`, bytes: zipExport(withReadme(new Map(files), modelCard(cardInput(run, kind, date))), { folder: stem }) };
}

const IMPORTED_WHAT: Record<'peft' | 'merged' | 'gguf' | 'onnx', string> = {
  peft: 'The PEFT LoRA adapter files as they were imported (adapter_model.safetensors + adapter_config.json).',
  merged: 'The base model with the imported LoRA adapter merged into its weights: a complete Hugging Face model.',
  gguf: 'The imported LoRA adapter as a GGUF LoRA for llama.cpp, to apply on a GGUF conversion of the base model.',
  onnx: 'The base model with the imported adapter merged, as ONNX in the layout transformers.js loads.',
};

/** README of an imported adapter's export: what it is, its LoRA shape, and that no training record exists here. */
export function importedReadme(a: AdapterRecord, kind: keyof typeof IMPORTED_WHAT, date = new Date().toISOString()): string {
  const l = a.lora;
  return [
    `# ${a.name}`,
    '',
    IMPORTED_WHAT[kind],
    '',
    `- **Base model:** ${a.model.name}${a.baseModel && a.baseModel !== a.model.name ? ` (the adapter names ${a.baseModel})` : ''}`,
    `- **Imported from:** ${a.source}`,
    `- **LoRA:** r=${l.rank}, alpha=${l.alpha}${l.useRslora ? ' (rsLoRA)' : ''}, dropout ${l.dropout}, targets ${l.targetModules.join(', ')}`,
    `- **Exported:** ${date}`,
    '',
    'This adapter was trained elsewhere and imported into WebGPU SFT Studio; its training data and settings are not recorded here.',
    '',
  ].join('\n');
}

/** An imported adapter's PEFT files or engine export (merged, GGUF, ONNX), zipped with its README. */
export function importedZip(a: AdapterRecord, kind: keyof typeof IMPORTED_WHAT, files: Map<string, Uint8Array>, date?: string): { name: string; bytes: Uint8Array } {
  const stem = `${fileStem(a.name)}-${kind === 'peft' ? 'peft-adapter' : kind}`;
  return { name: `${stem}.zip`, bytes: zipExport(withReadme(files, importedReadme(a, kind, date)), { folder: stem }) };
}
