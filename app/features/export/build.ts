// The Export tab's files, built whole in memory before anything is offered for download (so a failure
// leaves nothing half-written): a PEFT adapter zip and a TRL/Axolotl training-kit zip, each with its README
// model card. Pure functions of a run record and the engine's adapter files or the dataset's records.
// The merged model, GGUF and ONNX files are made in the engine worker (exportModel) and only zipped here.
// An imported adapter has no training record: its card gives its LoRA shape and where it came from.
import { modelCard, type CardInput } from '../../../src/export/card';
import { exportTrainingKit } from '../../../src/export/trl';
import { peftExportFiles } from '../../../src/export/peft';
import { withReadme, zipExport } from '../../../src/export/zip';
import type { ChatMessage } from '../../../src/data/types';
import type { AdapterRecord, RunRecord } from '../../../src/storage/runs';
import { baseModelId } from '../../../src/io/validate';
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
    kind, baseModel: baseModelId(run.model.name), date,
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
  const files = exportTrainingKit({ baseModel: baseModelId(run.model.name), records, run: run.config });
  return { name: `${stem}.zip`, bytes: zipExport(withReadme(files, modelCard(cardInput(run, 'training-kit', date))), { folder: stem }) };
}

/** A merged HF folder, a GGUF LoRA or model (with its Modelfile) or an ONNX model (files from the engine's exportModel), zipped with its card. */
export function modelZip(run: RunRecord, kind: 'merged' | 'gguf' | 'gguf-model' | 'onnx', files: [string, Uint8Array][], date?: string): { name: string; bytes: Uint8Array } {
  const stem = `${fileStem(run.name)}-${kind}`;
  return { name: `${stem}.zip`, bytes: zipExport(withReadme(new Map(files), modelCard(cardInput(run, kind, date))), { folder: stem }) };
}

/** An imported adapter's PEFT files or engine export (merged, GGUF, ONNX), zipped with its README. */
export function importedZip(a: AdapterRecord, kind: 'peft' | 'merged' | 'gguf' | 'gguf-model' | 'onnx', files: Map<string, Uint8Array>, date?: string): { name: string; bytes: Uint8Array } {
  const stem = `${fileStem(a.name)}-${kind === 'peft' ? 'peft-adapter' : kind}`;
  const card = modelCard({ kind, baseModel: baseModelId(a.model.name), title: a.name, date, dataset: null, run: { lora: a.lora, importedFrom: a.source }, metrics: {} });
  return { name: `${stem}.zip`, bytes: zipExport(withReadme(files, card), { folder: stem }) };
}
