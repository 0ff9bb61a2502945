// Which weights answer: an AdapterChoice (the base model, a run's checkpoint, an imported adapter) written into the
// resident model for the length of one piece of work, then the resident values put back (resident.ts says why one
// model serves them all). Also what identifies a choice's weights, for caches of what was made from them.
import { applyPeftAdapter, type PeftAdapterFiles } from '../export/peft';
import type { Transformer } from '../model/transformer';
import type { AdapterRecord } from '../storage/runs';
import { deserializeCheckpoint } from '../train/checkpoint';
import type { AdapterChoice } from './api';
import type { EngineContext } from './context';

/** An imported adapter with its files, refused unless it was imported onto the loaded model. */
export async function importedAdapter(ctx: EngineContext, adapterId: string): Promise<{ record: AdapterRecord; files: PeftAdapterFiles }> {
  const m = ctx.resident.model();
  const s = await ctx.store();
  const record = await s.getAdapter(adapterId);
  const files = record && await s.getAdapterFiles(adapterId);
  if (!record || !files) throw new Error(`No imported adapter ${adapterId}.`);
  if (record.model.fingerprint !== m.info.fingerprint) throw new Error(`Adapter "${record.name}" was imported onto ${record.model.name}; load that model first.`);
  return { record, files };
}

/** The model that answers for `choice`, and how to write the choice's values into its flat table (null: nothing to write). */
async function prepare(ctx: EngineContext, choice: AdapterChoice): Promise<{ net: Transformer; load: ((net: Transformer) => void) | null }> {
  const { resident } = ctx;
  const m = resident.model();
  switch (choice.kind) {
    case 'base': {
      const net = await resident.base();
      return { net, load: net.params.flat ? (n) => n.params.writeFlat('params', new Float32Array(n.params.flat?.size ?? 0)) : null };
    }
    case 'run': {
      const s = await ctx.store();
      const run = await s.get(choice.runId);
      if (!run) throw new Error(`No run ${choice.runId}.`);
      if (run.model.fingerprint !== m.info.fingerprint) throw new Error(`Run "${run.name}" was trained on ${run.model.name}; load that model first.`);
      const ck = await s.getCheckpoint(run.id, choice.checkpoint) ?? await s.getCheckpoint(run.id, 'last');
      if (!ck) throw new Error(`Run "${run.name}" has no checkpoint yet.`);
      const values = deserializeCheckpoint(ck.bytes).params;
      return { net: await resident.lora(run.config.lora, run.config.train.seed, false), load: (net) => net.params.writeFlat('params', values) };
    }
    case 'imported': {
      const { record, files } = await importedAdapter(ctx, choice.adapterId);
      return { net: await resident.lora(record.lora, 0, false), load: (net) => applyPeftAdapter(net, files['adapter_model.safetensors'], `${record.name}/adapter_model.safetensors`) };
    }
  }
}

/** Runs `f` with a choice's values in the resident model (zeros for the base model), then puts the old values back. */
export async function withAdapter<T>(ctx: EngineContext, choice: AdapterChoice, f: (net: Transformer) => Promise<T>): Promise<T> {
  const { net, load } = await prepare(ctx, choice);
  if (!load || !net.params.flat) return f(net);
  const saved = await net.params.readFlat('params');
  try {
    load(net);
    return await f(net);
  } finally {
    net.params.writeFlat('params', saved);
  }
}

/** Identifies the weights a choice stands for: a run's checkpoint moves with its step. */
export async function choiceKey(ctx: EngineContext, choice: AdapterChoice): Promise<string> {
  const m = ctx.resident.model();
  if (choice.kind !== 'run') return `${m.info.fingerprint}|${JSON.stringify(choice)}`;
  const run = await (await ctx.store()).get(choice.runId);
  return `${m.info.fingerprint}|run:${choice.runId}:${choice.checkpoint}:${run?.checkpoints[choice.checkpoint] ?? run?.checkpoints.last ?? -1}`;
}
