// The engine's run calls: start an SFT, a preference or a GRPO run, resume one, pause / resume / cancel it, list and
// delete runs, and show a pair as the preference trainer sees it. A run is checked before anything is stored (the run's
// settings against the model, the one LoRA rule among them, then the GPU's memory: resident.ts admitRun), stored with its data
// (a resume after a reload or a lost device uses exactly the same data and start), and run by the training session
// (session.ts) with the run store as its sink and the host's sandbox for a GRPO run's JavaScript rewards.
import { applyPeftAdapter, exportPeftAdapter, type PeftAdapterFiles } from '../export/peft';
import { templateOf } from '../io/hf';
import type { LoraConfig } from '../model/lora';
import type { RunData, RunRecord } from '../storage/runs';
import type { Example } from '../train/batch';
import { tokenizePreference } from '../train/preference-pairs';
import { validateRunConfig, type RunConfig } from '../train/presets';
import type { AdapterChoice, EngineMethods, OnEvent, RunOutcome } from './api';
import type { EngineContext } from './context';
import { newRunRecord, RunControl, runExamples, runSession } from './session';
import { importedAdapter, withAdapter } from './weights';

const noop: OnEvent = () => {};

export function runCalls(ctx: EngineContext): Pick<EngineMethods, 'startRun' | 'startPreferenceRun' | 'startGrpoRun' | 'resumeRun' | 'previewPreference' | 'control' | 'listRuns' | 'deleteRun'> {
  const { resident } = ctx;

  /** Runs a session (session.ts) on the loaded model, with the run store as its sink. */
  async function execute(run: RunRecord, data: RunData, resumeFrom: Uint8Array | null, checkpointing: boolean, onEvent: OnEvent): Promise<RunOutcome> {
    const s = await ctx.store();
    const m = resident.model();
    const ctl = new RunControl(run.id);
    const init = data.init;
    resident.active = ctl;
    try {
      await runSession({
        run, sink: s, control: ctl, resumeFrom, onEvent, now: ctx.host.now, padId: m.model.tokenizer.padTokenId ?? 0,
        openSandbox: ctx.host.openSandbox ?? undefined,
        setup: async () => {
          const examples = await runExamples(m.model, data, run.config, (done, total) => onEvent({ type: 'tokenize', done, total }));
          const net = await resident.lora(run.config.lora, run.config.train.seed, true);
          net.checkpointActivations = checkpointing;
          return { net, examples };
        },
        init: init ? (net) => applyPeftAdapter(net, init['adapter_model.safetensors'], `${run.init?.name ?? 'imported adapter'}/adapter_model.safetensors`) : null,
        beforeFailure: () => resident.lossSettled(),
      });
    } finally {
      resident.active = null;
    }
    return { runId: run.id, status: run.status, run: structuredClone(run) };
  }

  /** Checks a new run's settings against the model and the GPU, stores the run and its data, and runs it. */
  async function launch(
    a: Pick<RunRecord, 'name' | 'dataset' | 'config' | 'init' | 'trainExamples' | 'validationExamples'>, data: RunData, onEvent: OnEvent,
  ): Promise<RunOutcome> {
    const m = resident.model();
    const errors = validateRunConfig(a.config, m.model.config, a).filter((p) => p.severity === 'error');
    if (errors.length) throw new Error(errors.map((p) => p.message).join(' '));
    const checkpointing = await resident.admitRun(a.config);
    const s = await ctx.store();
    const run = newRunRecord({ ...a, model: { name: m.info.name, parameters: m.info.parameters, fingerprint: m.info.fingerprint } }, ctx.host.now());
    await s.putData(run.id, data);
    await s.put(run);
    return execute(run, data, null, checkpointing, onEvent);
  }

  /**
   * A preference or GRPO run's config, before its method's settings are added: no validation split (nothing to
   * evaluate or stop early on), never packed, and the LoRA shape of what it starts from (its dropout stays the run's).
   */
  function continuing(config: RunConfig, start: { lora: LoraConfig } | null): RunConfig {
    const { preference: _preference, grpo: _grpo, ...rest } = config;
    return { ...rest, evalEvery: 0, earlyStopPatience: 0, packing: false, lora: start ? { ...start.lora, dropout: config.lora.dropout } : config.lora };
  }

  /** What a run starts from: the LoRA shape and PEFT files of an imported adapter or (a preference or GRPO run) of a run's last checkpoint. */
  async function startOf(ref: Exclude<AdapterChoice, { kind: 'base' }>): Promise<{ lora: LoraConfig; files: PeftAdapterFiles; init: NonNullable<RunRecord['init']> }> {
    if (ref.kind === 'imported') {
      const { record, files } = await importedAdapter(ctx, ref.adapterId);
      return { lora: record.lora, files, init: { adapterId: record.id, name: record.name } };
    }
    const run = await (await ctx.store()).get(ref.runId);
    if (!run) throw new Error(`No run ${ref.runId}.`);
    const files = await withAdapter(ctx, { ...ref, checkpoint: 'last' }, (net) => exportPeftAdapter(net, resident.model().info.name));
    return { lora: run.config.lora, files, init: { runId: run.id, name: run.name } };
  }

  return {
    async startRun(args, onEvent = noop) {
      if (resident.active) throw new Error('A run is already in progress (running or paused).');
      if (args.config.grpo) throw new Error('startRun is for SFT runs; a GRPO run (config.grpo) starts with startGrpoRun');
      // An imported start fixes the LoRA shape (rank, alpha, rsLoRA, targets); dropout stays the run's.
      const start = args.init ? await startOf(args.init) : null;
      const config = start ? { ...args.config, lora: { ...start.lora, dropout: args.config.lora.dropout } } : args.config;
      const data: RunData = { records: args.records.map((r) => ({ messages: r.messages, split: r.split })), init: start?.files ?? null };
      return launch({
        name: args.name, dataset: args.dataset, config, init: start?.init ?? null,
        trainExamples: args.records.filter((r) => r.split === 'train').length, validationExamples: args.records.filter((r) => r.split === 'validation').length,
      }, data, onEvent);
    },

    /**
     * A preference run: a run like startRun's, on pairs (run.config.preference), through the same session. What it
     * starts from is copied as PEFT files into its data (a run's last checkpoint, exported; an imported adapter's
     * files), so a resume without a checkpoint yet starts from the same values even if the start was deleted since.
     */
    async startPreferenceRun(args, onEvent = noop) {
      if (resident.active) throw new Error('A run is already in progress (running or paused).');
      const start = args.start ? await startOf(args.start) : null;
      return launch({
        name: args.name, dataset: args.dataset ?? null, config: { ...continuing(args.config, start), preference: args.preference },
        init: start?.init ?? null, trainExamples: args.pairs.length, validationExamples: 0,
      }, { records: [], pairs: args.pairs, init: start?.files ?? null }, onEvent);
    },

    /**
     * A GRPO run: a run like startRun's, on the train split's prompts, through the same session (sampling, rewards,
     * advantages: src/train/grpo.ts); its start is copied into its data as startPreferenceRun's is.
     */
    async startGrpoRun(args, onEvent = noop) {
      if (resident.active) throw new Error('A run is already in progress (running or paused).');
      const start = args.start ? await startOf(args.start) : null;
      const records = args.records.filter((r) => r.split === 'train').map((r) => ({ messages: r.messages, split: r.split }));
      return launch({
        name: args.name, dataset: args.dataset ?? null, config: { ...continuing(args.config, start), grpo: args.grpo },
        init: start?.init ?? null, trainExamples: records.length, validationExamples: 0,
      }, { records, init: start?.files ?? null }, onEvent);
    },

    async previewPreference({ pair, maxSeqLength }) {
      const m = resident.model().model;
      const ex = tokenizePreference(m.tokenizer, templateOf(m), pair, maxSeqLength);
      const tokens = (e: Example) => e.inputIds.map((id, i) => ({ id, text: m.tokenizer.decode([id]), target: e.lossMask[i] === 1, cut: false }));
      return { chosen: tokens(ex.chosen), rejected: tokens(ex.rejected) };
    },

    async resumeRun({ runId }, onEvent = noop) {
      if (resident.active) throw new Error('A run is already in progress (running or paused).');
      const m = resident.model();
      const s = await ctx.store();
      const run = await s.get(runId);
      if (!run) throw new Error(`No run ${runId}.`);
      if (run.model.fingerprint !== m.info.fingerprint) throw new Error(`Run "${run.name}" trained on ${run.model.name}; load that model to resume it.`);
      const data = await s.getData(runId);
      if (!data) throw new Error(`Run "${run.name}" has lost its data; it cannot be resumed.`);
      const ck = await s.getCheckpoint(runId, 'last');
      const checkpointing = await resident.admitRun(run.config);
      run.error = null;
      return execute(run, data, ck?.bytes ?? null, checkpointing, onEvent);
    },

    async control({ runId, action }) {
      const active = resident.active;
      if (!active || active.runId !== runId) throw new Error(`Run ${runId} is not running in this session.`);
      return active.set(action);
    },

    listRuns: async () => (await ctx.store()).list(),

    async deleteRun({ runId }) {
      if (resident.active?.runId === runId) throw new Error('Cancel the run before deleting it.');
      await (await ctx.store()).remove(runId);
      return null;
    },
  };
}
