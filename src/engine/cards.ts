// What an export's README model card says (src/export/card.ts writes it) about the weights it came from: a run's data,
// settings and metrics; an imported adapter's LoRA shape and origin (and the settings of the run that made it, when
// its training_log.json came with it). The base model as exports name it (the built-in model by its folder).
import type { CardInput } from '../export/card';
import type { ExportFormat } from '../export/formats';
import { baseModelId } from '../io/validate';
import type { AdapterRecord, RunRecord } from '../storage/runs';

/** The card of a run's export: its data, settings and metrics. */
export function runCard(run: RunRecord, kind: ExportFormat, date?: string): CardInput {
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

/** The card of an imported adapter's export: its LoRA shape and where it came from (with the run's settings when it brought them). */
export function adapterCard(a: AdapterRecord, kind: ExportFormat, date?: string): CardInput {
  return { kind, baseModel: baseModelId(a.model.name), title: a.name, date, dataset: null, run: a.trainedWith ?? { lora: a.lora, importedFrom: a.source }, metrics: {} };
}
