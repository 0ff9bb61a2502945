// The engine's exports: a run's adapter as PEFT files, any format of the registry (src/export/formats) from any
// adapter choice with its README model card, and the ONNX export checked in onnxruntime beside our decoder. The
// page zips what exportModel returns and the command line writes it to a folder: both get the same files and card.
//
// The card (cards.ts) names what the weights came from: a run's, or an imported adapter's. The base model alone gets
// no card. The kit repeats a run: it needs settings (a run's; an imported adapter's from its training_log.json, else
// the quick preset's on its LoRA shape) and records.
import { modelCard, type CardInput } from '../export/card';
import { adapterCard, runCard } from './cards';
import { EXPORT_FORMATS, exportFormat, pickDtype, type ExportFormat, type ExportFormatSpec } from '../export/formats';
import { HUB_ID, kitModel } from '../export/formats/kit';
import type { KitModel } from '../export/trl';
import type { ExportFiles } from '../export/merged';
import { checkOnnxExport } from '../export/onnx-check';
import { exportPeftAdapter, peftExportFiles } from '../export/peft';
import { withReadme } from '../export/zip';
import { onnxGraph } from '../generate/onnx-graph';
import { templateOf } from '../io/hf';
import { baseModelId } from '../io/validate';
import { PRESETS, type RunConfig } from '../train/presets';
import type { AdapterChoice, EngineMethods } from './api';
import type { EngineContext } from './context';
import { withAdapter } from './weights';

export function exportCalls(ctx: EngineContext): Pick<EngineMethods, 'exportAdapter' | 'exportModel' | 'checkOnnx'> {
  const { resident } = ctx;

  /**
   * What an export is of: its name, the base model as exports name it, its card, the settings a kit repeats, and (an
   * imported adapter's PEFT export) the files as imported. Read from the store: a format without weights needs no model loaded.
   */
  async function exportSource(adapter: AdapterChoice, kind: ExportFormat): Promise<{ name: string; baseModel: string; card: CardInput | null; settings?: RunConfig; stored?: ExportFiles }> {
    const s = await ctx.store();
    switch (adapter.kind) {
      case 'base': {
        const m = resident.model();
        return { name: m.info.name, baseModel: baseModelId(m.info.name), card: null };
      }
      case 'run': {
        const run = await s.get(adapter.runId);
        if (!run) throw new Error(`No run ${adapter.runId}.`);
        return { name: run.name, baseModel: baseModelId(run.model.name), card: runCard(run, kind), settings: run.config };
      }
      case 'imported': {
        const record = await s.getAdapter(adapter.adapterId);
        const files = record && await s.getAdapterFiles(adapter.adapterId);
        if (!record || !files) throw new Error(`No imported adapter ${adapter.adapterId}.`);
        // Its PEFT files go out as they came in, byte for byte.
        // A kit of an adapter without the settings of its run repeats it with the quick preset's.
        const settings = record.trainedWith ?? { ...PRESETS.quick, lora: record.lora };
        return { name: record.name, baseModel: baseModelId(record.model.name), card: adapterCard(record, kind), settings, stored: kind === 'peft' ? peftExportFiles(files) : undefined };
      }
    }
  }
  /** The kit's base model: the loaded model's files travel in it when it is the export's base and not a Hub repository
   *  (the built-in model, a dropped or local folder); otherwise the kit names the model as the export does. */
  async function kitModelOf(baseModel: string): Promise<KitModel | undefined> {
    const m = ctx.resident.loaded;
    if (!m || HUB_ID.test(baseModel) || baseModelId(m.info.name) !== baseModel) return undefined;
    return kitModel(m.files, baseModel);
  }

  return {
    async exportAdapter({ runId, checkpoint }) {
      resident.refuseWhileStepping('exporting');
      const m = resident.model();
      return withAdapter(ctx, { kind: 'run', runId, checkpoint }, (net) => exportPeftAdapter(net, baseModelId(m.info.name)));
    },

    async exportModel({ adapter, format: id, dtype, records }) {
      resident.refuseWhileStepping('exporting');
      const kind = exportFormat(id);
      const format: ExportFormatSpec = EXPORT_FORMATS[kind];
      const picked = pickDtype(format, dtype);
      const from = await exportSource(adapter, kind);
      if (format.needs.records && !from.settings) throw new Error(`the ${kind} export repeats a run: choose a run or an adapter`);
      const kit = kind === 'kit' ? await kitModelOf(from.baseModel) : undefined;
      const input = { name: from.baseModel, dtype: picked, records, run: from.settings, kitModel: kit };
      const files = from.stored ?? await (format.needs.weights
        ? withAdapter(ctx, adapter, (net) => format.build({ ...input, model: { net, info: resident.model().model, files: resident.model().files } }))
        : format.build(input));
      return { name: from.name, files: [...(from.card ? withReadme(files, modelCard(from.card)) : files)] };
    },

    async checkOnnx({ adapter, prompt }) {
      resident.refuseWhileStepping('checking the ONNX export');
      const m = resident.model();
      const tok = m.model.tokenizer;
      const ids = tok.encode(templateOf(m.model).render([{ role: 'user', content: prompt }], { addGenerationPrompt: true }), { addSpecialTokens: false });
      const ort = await ctx.host.ort();
      return withAdapter(ctx, adapter, async (net) => checkOnnxExport(ort, net, await onnxGraph(net), ids));
    },
  };
}
