// The Export tab's zips, built whole in memory before anything is offered for download (so a failure leaves
// nothing half-written): a format's files (made in the engine worker, which holds the weights, or here for a
// format that needs none, the kit) in one folder `<run or adapter>-<format id>` with its README model card.
// An imported adapter has no training record: its card gives its LoRA shape and where it came from. A kit carries
// the built-in model (fetched from the page's own folder); a Hub model is named by its id, a dropped folder by its
// name (its path is asked for when the script runs: the page keeps no copy to carry).
import { modelCard, type CardInput } from '../../../src/export/card';
import type { ExportFormat } from '../../../src/export/formats';
import type { KitModel } from '../../../src/export/trl';
import type { ExportFiles } from '../../../src/export/merged';
import { withReadme, zipExport } from '../../../src/export/zip';
import type { AdapterRecord, RunRecord } from '../../../src/storage/runs';
import { baseModelId, BUILT_IN_PATH } from '../../../src/io/validate';

/** The built-in model's folder (public/models/default), as scripts/default-model/make.ts writes it. */
const BUILT_IN_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

/** A file-system-safe stem from a run's name ('Run 1' → 'Run_1'). */
export function fileStem(name: string): string {
  return name.replace(/[^\w.-]+/g, '_').replace(/^[._]+|_+$/g, '') || 'run';
}

function cardInput(run: RunRecord, kind: ExportFormat, date?: string): CardInput {
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

function zipWithCard(name: string, format: ExportFormat, files: ExportFiles, card: string): { name: string; bytes: Uint8Array } {
  const stem = `${fileStem(name)}-${format}`;
  return { name: `${stem}.zip`, bytes: zipExport(withReadme(files, card), { folder: stem }) };
}

/** A run's export: its files with the card naming the run's data, settings and metrics. */
export function runZip(run: RunRecord, format: ExportFormat, files: ExportFiles, date?: string): { name: string; bytes: Uint8Array } {
  return zipWithCard(run.name, format, files, modelCard(cardInput(run, format, date)));
}

/** An imported adapter's export (or its PEFT files as imported) with a card giving its LoRA shape and origin. */
export function importedZip(a: AdapterRecord, format: ExportFormat, files: ExportFiles, date?: string): { name: string; bytes: Uint8Array } {
  const card = modelCard({ kind: format, baseModel: baseModelId(a.model.name), title: a.name, date, dataset: null, run: { lora: a.lora, importedFrom: a.source }, metrics: {} });
  return zipWithCard(a.name, format, files, card);
}

/** The built-in model's files, for a kit to carry (fetched from the page's own folder); other models: undefined (the kit names them). */
export async function builtInKitModel(modelName: string): Promise<KitModel | undefined> {
  const id = baseModelId(modelName);
  if (id !== BUILT_IN_PATH) return undefined;
  const files = new Map<string, Uint8Array>();
  for (const name of BUILT_IN_FILES) {
    const res = await fetch(new URL(`models/default/${name}`, document.baseURI));
    if (!res.ok) throw new Error(`${id}/${name}: HTTP ${res.status}`);
    files.set(name, new Uint8Array(await res.arrayBuffer()));
  }
  return { folder: id, files };
}
