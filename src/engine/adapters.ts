// The engine's imported adapters: a PEFT adapter (a zip, a folder's files, what `studio train` wrote) checked against
// the loaded model and stored whole or not at all; listed, renamed, deleted, and its files read back as imported.
// Checks, in order, each one clear line naming the file: the config (src/export/peft.ts), the base model it names
// (refused with the error name BASE_MODEL_MISMATCH unless ignoreBaseModel), the one LoRA rule (src/io/validate.ts:
// targets and rank against this model's layers), then its tensors, by filling the resident model's LoRA views.
import { applyPeftAdapter, loraFromPeftConfig, peftFilesFromUpload } from '../export/peft';
import { BASE_MODEL_MISMATCH, baseModelMismatch, loraLinears, validateLora } from '../io/validate';
import type { LoraConfig } from '../model/lora';
import type { AdapterRecord } from '../storage/runs';
import { PRESETS, type RunConfig } from '../train/presets';
import type { EngineMethods } from './api';
import type { EngineContext } from './context';
import { withAdapter } from './weights';

/** The run settings in a training_log.json beside an adapter (what `studio train` writes), on the adapter's LoRA shape. */
function trainedWith(log: Uint8Array | undefined, lora: LoraConfig): RunConfig | undefined {
  if (!log) return undefined;
  let saved: { train?: Partial<RunConfig['train']> };
  try {
    saved = JSON.parse(new TextDecoder().decode(log));
  } catch {
    return undefined;   // not ours: the adapter stands without it
  }
  const base = PRESETS.quick;
  return typeof saved.train === 'object' && saved.train !== null ? { ...base, lora, train: { ...base.train, ...saved.train } } : undefined;
}

export function adapterCalls(ctx: EngineContext): Pick<EngineMethods, 'importAdapter' | 'listAdapters' | 'renameAdapter' | 'deleteAdapter' | 'adapterFiles'> {
  const { resident } = ctx;
  return {
    async importAdapter(args) {
      resident.refuseWhileStepping('importing an adapter');
      const m = resident.model();
      const entries = await Promise.all(args.files.map(async (f) => ({ path: f.path, bytes: new Uint8Array(await f.file.arrayBuffer()) })));
      const log = entries.find((e) => e.path.split('/').at(-1) === 'training_log.json');
      const files = peftFilesFromUpload(entries.filter((e) => e !== log), args.name);
      const where = `${args.name}/adapter_config.json`;
      const { lora, baseModel } = loraFromPeftConfig(files['adapter_config.json'], where);
      const mismatch = baseModelMismatch(baseModel, m.info.name);
      if (mismatch && !args.ignoreBaseModel) throw Object.assign(new Error(`${where}: ${mismatch}`), { name: BASE_MODEL_MISMATCH });
      // Targets, rank, alpha and dropout against this model's layers, before the LoRA views are allocated.
      validateLora(lora, loraLinears(m.model.config), where);
      const net = await resident.lora(lora, 0, false);
      // Shapes and keys: the file must fill exactly this model's LoRA views. Nothing is stored until it does.
      await withAdapter(ctx, { kind: 'base' }, async (n) => applyPeftAdapter(n, files['adapter_model.safetensors'], `${args.name}/adapter_model.safetensors`));
      const t = ctx.host.now();
      const settings = trainedWith(log?.bytes, lora);
      const record: AdapterRecord = {
        id: `adapter-${t.toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`,
        name: args.name.replace(/\.zip$/i, ''), createdAt: t, source: args.name,
        model: { name: m.info.name, parameters: m.info.parameters, fingerprint: m.info.fingerprint },
        baseModel, lora, parameters: [...net.params.offsets.keys()].reduce((sum, k) => sum + net.params.specs.get(k)!.shape.reduce((a, b) => a * b, 1), 0),
        ...(settings ? { trainedWith: settings } : {}),
      };
      await (await ctx.store()).putAdapter(record, files);
      return record;
    },

    listAdapters: async () => (await ctx.store()).listAdapters(),

    async renameAdapter({ adapterId, name }) {
      const s = await ctx.store();
      const record = await s.getAdapter(adapterId);
      if (!record) throw new Error(`No imported adapter ${adapterId}.`);
      if (!name.trim()) throw new Error('An adapter needs a name.');
      const renamed = { ...record, name: name.trim() };
      await s.putAdapter(renamed);
      return renamed;
    },

    async deleteAdapter({ adapterId }) {
      await (await ctx.store()).removeAdapter(adapterId);
      return null;
    },

    async adapterFiles({ adapterId }) {
      const files = await (await ctx.store()).getAdapterFiles(adapterId);
      if (!files) throw new Error(`No imported adapter ${adapterId}.`);
      return files;
    },
  };
}
