// The engine worker: the ONE place that owns the GPUDevice and the loaded model. It loads models (dropped
// files, a served folder, the hub), runs LoRA training (SFT, DPO or ORPO) with live metrics, pause/resume/cancel, checkpoints to
// IndexedDB (src/storage/runs.ts) every N steps and on pause, resumes runs from their last checkpoint after a
// reload or a lost device, generates (base, any run's adapter, or an imported PEFT adapter) and exports adapters.
// It also keeps imported adapters (checked against the loaded model on import, then stored) and the Compare
// screen's stored batch evaluations in the same run store. The run loop (src/engine/session.ts) and the batch
// evaluation (src/engine/evaluate.ts) are core modules; this file holds the model, the device and the store for them.
//
// createEngineCore(deps) is the engine itself (the Engine interface of protocol-engine.ts, plus the tokenizer files
// the data worker asks for over its own port), usable in-thread by tests; the bottom of this file binds it to
// worker messages when loaded as a worker.
//
// GPU memory: one resident Transformer at a time, its base weights streamed from the model's files (src/io/load.ts:
// the host never holds the model as f32; a rebuild reads the files again). Base and tuned answers
// share it: a LoRA model with a run's values written into the flat table is that run's tuned model, with an
// imported PEFT file written into its views it is that adapter, and with the table zeroed (B = 0 adds exactly
// 0) it is the base model; the resident values are put back afterwards. Generation and export wait for no
// one: they are refused while a run is stepping.
/// <reference lib="webworker" />
import { EXPORT_FORMATS, exportFormat, type ExportFormatSpec } from '../src/export/formats';
import { onnxGraph } from '../src/generate/onnx-graph';
import { checkOnnxExport } from '../src/export/onnx-check';
import type { Decoder } from '../src/generate/decoder';
import { onnxDecoderOf, type OnnxDecoder, type Ort } from '../src/generate/onnx-decoder';
import { applyPeftAdapter, exportPeftAdapter, loraFromPeftConfig, peftFilesFromUpload, type PeftAdapterFiles } from '../src/export/peft';
import { BASE_MODEL_MISMATCH, baseModelMismatch, linearsOf, validateLora } from '../src/io/validate';
import { generate as generateTokens } from '../src/generate/generate';
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { isSoftwareAdapter } from '../src/gpu/adapter';
import { cacheStorageCache, downloadModel, folderUrlFor, hubUrlFor, memoryCache, type ByteCache } from '../src/io/download';
import { expectedWeights, loadHfModelMeta, parameterCount, stopTokenIds, templateOf, weightShapes, type ModelMeta } from '../src/io/hf';
import { estimateMemory, memoryVerdict } from '../src/model/memory-estimate';
import { filesFromBlobs, type ModelFiles } from '../src/io/model-files';
import { loadTransformer } from '../src/io/load';
import { DEFAULT_LORA, type LoraConfig } from '../src/model/lora';
import { Transformer } from '../src/model/transformer';
import {
  createMemoryRunStore, openRunStore, type AdapterRecord, type RunData, type RunRecord, type RunStore,
} from '../src/storage/runs';
import { examplesFromRecords } from '../src/tokenize/chat';
import { deserializeCheckpoint } from '../src/train/checkpoint';
import { activationCheckpointingFor, runMemoryEstimate, targetableModules, validateRunConfig, type RunConfig } from '../src/train/presets';
import { evaluateLoss } from '../src/train/trainer';
import { evaluateBatch, promptIds } from '../src/engine/evaluate';
import { fingerprinter } from '../src/engine/fingerprint';
import { newRunRecord, RunControl, runExamples, runSession } from '../src/engine/session';
import type {
  AdapterChoice, AdapterReport, Engine, EngineEvent, EngineReply, EngineRequest, ExportSource, GenerateResult, ModelInfo, ModelSource, OnEvent, RunOutcome,
} from './protocol-engine';
import type { PortHandover, TokenizerFilesAnswer, TokenizerFilesAsk } from './protocol-data';
import type { TokenizerFiles } from '../src/data/tokens';
import type { Example } from '../src/train/batch';
import { pairLogps, tokenizePreference } from '../src/train/preference';

interface EngineDeps {
  store: Promise<RunStore>;
  cache: () => Promise<ByteCache>;
  createGpu?: () => Promise<Gpu>;
  fetch?: typeof fetch;
  /** onnxruntime-web for the ONNX backend and check (default: defaultOrt). */
  ort?: () => Promise<Ort>;
  /** Clock for ids and timestamps (tests pin it). */
  now?: () => number;
}

/** The model's files stay open to read from: its weights stream onto the GPU whenever a model is built (loadTransformer). */
interface Loaded { info: ModelInfo; model: ModelMeta; files: ModelFiles }
interface Resident { net: Transformer; key: string }

const noop: OnEvent = () => {};

let ortModule: Promise<Ort> | null = null;
/** onnxruntime-web's wasm-only build (not the default entry, which pulls the 28 MB JSEP .wasm), loaded on first
 * use so the worker bundle stays small. Vite emits the .wasm as an asset: its URL must be given, since ORT would
 * look next to its own module. Threads need cross-origin isolation. */
function browserOrt(): Promise<Ort> {
  ortModule ??= Promise.all([import('onnxruntime-web/wasm'), import('onnxruntime-web/ort-wasm-simd-threaded.wasm?url')]).then(([ort, wasm]) => {
    ort.env.wasm.wasmPaths = { wasm: wasm.default };
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1;
    return ort;
  });
  return ortModule;
}

/** In a page or worker, browserOrt; in Node (the in-thread core of tests) the package's main entry, which finds
 * its .wasm on disk. The specifier is hidden from the bundler so the browser build does not emit that entry. */
function defaultOrt(): Promise<Ort> {
  if (typeof window !== 'undefined' || typeof WorkerGlobalScope !== 'undefined') return browserOrt();
  const nodeEntry = 'onnxruntime-web';
  return import(/* @vite-ignore */ nodeEntry) as Promise<Ort>;
}

/** The engine, plus what only the data worker asks for (workers/protocol-data.ts TokenizerFilesAsk). */
export type EngineCore = Engine & {
  /** The loaded model's tokenizer files, so the data tools count and mask tokens exactly as training will. */
  tokenizerFiles(): Promise<TokenizerFiles>;
};

export function createEngineCore(deps: EngineDeps): EngineCore {
  const now = deps.now ?? Date.now;
  let gpu: Gpu | null = null;
  let loaded: Loaded | null = null;
  let resident: Resident | null = null;
  let active: RunControl | null = null;
  /** The batch evaluation in progress, stopped between rows by stopEvaluation. */
  let evaluation: { stopped: boolean } | null = null;
  const unsolicited: OnEvent[] = [];
  let seenStale = false;

  async function device(): Promise<Gpu> {
    if (gpu) return gpu;
    const g = await (deps.createGpu ?? createGpu)();
    gpu = g;
    void g.device.lost.then((info) => {
      if (gpu !== g) return;
      gpu = null;
      resident = null;
      const message = `The GPU device was lost (${info.reason}: ${info.message}).`;
      if (active) active.lost = message;
      for (const l of unsolicited) l({ type: 'device-lost', message });
    });
    return g;
  }

  function dropResident(): void {
    resident?.net.destroy();
    resident = null;
  }

  function requireModel(): Loaded {
    if (!loaded) throw new Error('Load a model first.');
    return loaded;
  }

  function refuseWhileStepping(what: string): void {
    if (active && !active.paused) throw new Error(`A training run is in progress; pause or cancel it before ${what}.`);
  }

  /** A LoRA model with this config on the loaded weights: a fresh one for a run, else the resident one when it matches. */
  async function residentLora(lora: LoraConfig, seed: number, forRun: boolean): Promise<Transformer> {
    const key = `lora:${JSON.stringify(lora)}`;
    if (!forRun && resident?.key === key) return resident.net;
    if (!forRun && active) throw new Error('A paused run holds the model; finish or cancel it first.');
    const m = requireModel();
    const g = await device();
    dropResident();
    const net = await g.withOomScope(`Loading ${m.info.name} onto the GPU`, () => loadTransformer(g, m.files, m.model.config, { kind: 'lora', lora }, { seed, weights: m.info.weights }));
    resident = { net, key };
    return net;
  }

  /**
   * Refuses a run the GPU cannot hold: asks the device for the run's estimated memory (the resident model dropped
   * first: the run rebuilds it). Returns whether the run checkpoints activations ('auto': when it would not fit
   * without; the verdict then judges the checkpointed estimate).
   */
  async function requireTrainingMemory(config: RunConfig): Promise<boolean> {
    const g = await device();
    dropResident();
    const m = requireModel();
    const model = m.model.config;
    const run = { ...config, train: { ...config.train, weights: m.info.weights } };   // the base as it is kept
    const budget = await g.probeMemory(runMemoryEstimate(run, model).trainingBytes);
    const checkpointing = activationCheckpointingFor(run, model, budget);
    const refusal = memoryVerdict('training', runMemoryEstimate(run, model, checkpointing), budget);
    if (refusal) throw new Error(refusal);
    return checkpointing;
  }

  async function store(): Promise<RunStore> {
    const s = await deps.store;
    if (!seenStale) {
      // Runs left 'running' or 'paused' by a closed page or a crash are interrupted: resumable from a checkpoint.
      seenStale = true;
      for (const r of await s.list()) {
        if ((r.status === 'running' || r.status === 'paused') && r.id !== active?.runId) await s.put({ ...r, status: 'interrupted', updatedAt: now() });
      }
    }
    return s;
  }

  async function modelFiles(source: ModelSource, onEvent: OnEvent): Promise<ModelFiles> {
    const progress = (message: string) => (p: { loaded: number; total: number }) => onEvent({ type: 'load', message, loaded: p.loaded, total: p.total });
    switch (source.kind) {
      case 'files': return filesFromBlobs(source.name, source.files);
      case 'url': return downloadModel(source.name, folderUrlFor(source.baseUrl), { cache: await deps.cache(), fetch: deps.fetch, onProgress: progress(`Loading ${source.name}`) });
      case 'hub': return downloadModel(source.repo, hubUrlFor(source.repo, source.revision, source.endpoint), { cache: await deps.cache(), fetch: deps.fetch, onProgress: progress(`Downloading ${source.repo}`) });
    }
  }

  /** Runs a session (src/engine/session.ts) on the loaded model, with the run store as its sink. */
  async function execute(run: RunRecord, data: RunData, resumeFrom: Uint8Array | null, checkpointing: boolean, onEvent: OnEvent): Promise<RunOutcome> {
    const s = await store();
    const m = requireModel();
    const ctl = new RunControl(run.id);
    const init = data.init;
    active = ctl;
    try {
      await runSession({
        run, sink: s, control: ctl, resumeFrom, onEvent, now, padId: m.model.tokenizer.padTokenId ?? 0,
        setup: async () => {
          const examples = await runExamples(m.model, data, run.config);
          const net = await residentLora(run.config.lora, run.config.train.seed, true);
          net.checkpointActivations = checkpointing;
          return { net, examples };
        },
        init: init ? (net) => applyPeftAdapter(net, init['adapter_model.safetensors'], `${run.init?.name ?? 'imported adapter'}/adapter_model.safetensors`) : null,
        // A failed step may be the first sign of a lost device; its 'lost' promise settles just after.
        beforeFailure: async () => { if (gpu) await Promise.race([gpu.device.lost, new Promise((ok) => setTimeout(ok, 200))]); },
      });
    } finally {
      active = null;
    }
    return { runId: run.id, status: run.status, run: structuredClone(run) };
  }

  /** An imported adapter with its files, refused unless it was imported onto the loaded model. */
  async function importedAdapter(adapterId: string): Promise<{ record: AdapterRecord; files: PeftAdapterFiles }> {
    const m = requireModel();
    const s = await store();
    const record = await s.getAdapter(adapterId);
    const files = record && await s.getAdapterFiles(adapterId);
    if (!record || !files) throw new Error(`No imported adapter ${adapterId}.`);
    if (record.model.fingerprint !== m.info.fingerprint) throw new Error(`Adapter "${record.name}" was imported onto ${record.model.name}; load that model first.`);
    return { record, files };
  }

  /** Checks a new run's settings against the model and the GPU, stores the run and its data, and runs it. */
  async function launch(
    a: Pick<RunRecord, 'name' | 'dataset' | 'config' | 'init' | 'trainExamples' | 'validationExamples'>, data: RunData, onEvent: OnEvent,
  ): Promise<RunOutcome> {
    const m = requireModel();
    const errors = validateRunConfig(a.config, m.model.config, a).filter((p) => p.severity === 'error');
    if (errors.length) throw new Error(errors.map((p) => p.message).join(' '));
    const checkpointing = await requireTrainingMemory(a.config);
    const s = await store();
    const run = newRunRecord({ ...a, model: { name: m.info.name, parameters: m.info.parameters, fingerprint: m.info.fingerprint } }, now());
    await s.putData(run.id, data);
    await s.put(run);
    return execute(run, data, null, checkpointing, onEvent);
  }

  /** What a run starts from: the LoRA shape and PEFT files of an imported adapter or (a preference run) of a run's last checkpoint. */
  async function startOf(ref: Exclude<AdapterChoice, { kind: 'base' }>): Promise<{ lora: LoraConfig; files: PeftAdapterFiles; init: NonNullable<RunRecord['init']> }> {
    if (ref.kind === 'imported') {
      const { record, files } = await importedAdapter(ref.adapterId);
      return { lora: record.lora, files, init: { adapterId: record.id, name: record.name } };
    }
    const run = await (await store()).get(ref.runId);
    if (!run) throw new Error(`No run ${ref.runId}.`);
    const files = await withAdapter({ ...ref, checkpoint: 'last' }, (net) => exportPeftAdapter(net, requireModel().info.name));
    return { lora: run.config.lora, files, init: { runId: run.id, name: run.name } };
  }

  /** The model that answers for `choice`, and how to write the choice's values into its flat table (null: nothing to write). */
  async function prepare(choice: AdapterChoice): Promise<{ net: Transformer; load: ((net: Transformer) => void) | null }> {
    const m = requireModel();
    switch (choice.kind) {
      case 'base': {
        if (resident) return { net: resident.net, load: (net) => net.params.writeFlat('params', new Float32Array(net.params.flat?.size ?? 0)) };
        const g = await device();
        const net = await g.withOomScope(`Loading ${m.info.name} onto the GPU`, () => loadTransformer(g, m.files, m.model.config, { kind: 'none' }, { weights: m.info.weights }));
        resident = { net, key: 'none' };
        return { net, load: null };
      }
      case 'run': {
        const s = await store();
        const run = await s.get(choice.runId);
        if (!run) throw new Error(`No run ${choice.runId}.`);
        if (run.model.fingerprint !== m.info.fingerprint) throw new Error(`Run "${run.name}" was trained on ${run.model.name}; load that model first.`);
        const ck = await s.getCheckpoint(run.id, choice.checkpoint) ?? await s.getCheckpoint(run.id, 'last');
        if (!ck) throw new Error(`Run "${run.name}" has no checkpoint yet.`);
        const values = deserializeCheckpoint(ck.bytes).params;
        return { net: await residentLora(run.config.lora, run.config.train.seed, false), load: (net) => net.params.writeFlat('params', values) };
      }
      case 'imported': {
        const { record, files } = await importedAdapter(choice.adapterId);
        return { net: await residentLora(record.lora, 0, false), load: (net) => applyPeftAdapter(net, files['adapter_model.safetensors'], `${record.name}/adapter_model.safetensors`) };
      }
    }
  }

  /** Runs `f` with a choice's values in the resident model (zeros for the base model), then puts the old values back. */
  async function withAdapter<T>(choice: AdapterChoice, f: (net: Transformer) => Promise<T>): Promise<T> {
    const { net, load } = await prepare(choice);
    if (!load || !net.params.flat) return f(net);
    const saved = await net.params.readFlat('params');
    try {
      load(net);
      return await f(net);
    } finally {
      net.params.writeFlat('params', saved);
    }
  }

  const exportChoice = (src: ExportSource): AdapterChoice => ('adapterId' in src ? { kind: 'imported', adapterId: src.adapterId } : { kind: 'run', runId: src.runId, checkpoint: src.checkpoint });

  /** One cached ONNX decoder (the merged export of one adapter's weights); released when the weights change. */
  let onnx: { key: string; decoder: OnnxDecoder } | null = null;
  function dropOnnx(): void {
    void onnx?.decoder.release();
    onnx = null;
  }

  /** Identifies the weights a choice stands for: a run's checkpoint moves with its step. */
  async function choiceKey(choice: AdapterChoice): Promise<string> {
    const m = requireModel();
    if (choice.kind !== 'run') return `${m.info.fingerprint}|${JSON.stringify(choice)}`;
    const run = await (await store()).get(choice.runId);
    return `${m.info.fingerprint}|run:${choice.runId}:${choice.checkpoint}:${run?.checkpoints[choice.checkpoint] ?? run?.checkpoints.last ?? -1}`;
  }

  async function onnxDecoder(choice: AdapterChoice): Promise<OnnxDecoder> {
    const key = await choiceKey(choice);
    if (onnx?.key === key) return onnx.decoder;
    dropOnnx();
    const ort = await (deps.ort ?? defaultOrt)();
    const decoder = await withAdapter(choice, (net) => onnxDecoderOf(ort, net));
    onnx = { key, decoder };
    return decoder;
  }

  const engine: EngineCore = {
    async probe(): Promise<AdapterReport> {
      const none = (reason: string): AdapterReport => ({ available: false, software: false, vendor: '', architecture: '', description: '', maxBufferSize: 0, maxStorageBufferBindingSize: 0, reason });
      const nav = typeof navigator === 'undefined' ? undefined : navigator;
      if (!nav?.gpu) return none('This browser does not offer WebGPU. Use a recent Chrome, Edge or Safari, or Firefox with WebGPU enabled.');
      const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) return none('WebGPU is present but found no GPU adapter: the GPU may be blocklisted or disabled (check chrome://gpu), or this machine has none.');
      const info = adapter.info;
      const software = isSoftwareAdapter(info);
      return {
        available: true, software, vendor: info.vendor, architecture: info.architecture, description: info.description,
        maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, reason: null,
      };
    },

    async loadModel(source, onEvent = noop, weights) {
      refuseWhileStepping('loading another model');
      if (active) throw new Error('A paused run holds the model; finish or cancel it before loading another model.');
      const files = await modelFiles(source, onEvent);
      const model = await loadHfModelMeta(files);
      const infer = estimateMemory(model.config, { training: false, loraRank: 0, batchTokens: 512, weights });
      const train = estimateMemory(model.config, { training: true, loraRank: DEFAULT_LORA.rank, batchTokens: 4 * 512, weights });
      const g = await device();
      dropResident(); // its memory counts as free for the probe
      const memoryBudget = await g.probeMemory(Math.max(infer.inferenceBytes, train.trainingBytes));
      const refusal = memoryVerdict('inference', infer, memoryBudget);
      if (refusal) throw new Error(`${files.name}: ${refusal}`);
      // The weights go straight to the GPU (the base model, resident), fingerprinted on the way.
      const print = fingerprinter(model.config);
      const net = await g.withOomScope(`Loading ${files.name} onto the GPU`, () => loadTransformer(g, files, model.config, { kind: 'none' }, {
        weights, onProgress: (p) => onEvent({ type: 'load', message: `Reading ${files.name}`, ...p }), onTensor: print.sample,
      }));
      resident = { net, key: 'none' };
      dropOnnx();
      const tpl = templateOf(model);
      const info: ModelInfo = {
        name: files.name, config: model.config, parameters: parameterCount(model.config), fingerprint: print.digest(),
        vocabSize: model.tokenizer.vocabSize, targetModules: targetableModules(model.config),
        chatTemplate: model.chatTemplate !== null, endOfTurn: tpl.endOfTurn || null,
        inferenceBytes: infer.inferenceBytes, trainingBytes: train.trainingBytes, memoryBudget, weights: net.frozenStorage,
      };
      loaded = { info, model, files };
      return info;
    },

    async startRun(args, onEvent = noop) {
      if (active) throw new Error('A run is already in progress (running or paused).');
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
      if (active) throw new Error('A run is already in progress (running or paused).');
      const start = args.start ? await startOf(args.start) : null;
      // No validation split: nothing to evaluate or stop early on; pairs are never packed.
      const config: RunConfig = {
        ...args.config, evalEvery: 0, earlyStopPatience: 0, packing: false, preference: args.preference,
        lora: start ? { ...start.lora, dropout: args.config.lora.dropout } : args.config.lora,
      };
      return launch({
        name: args.name, dataset: args.dataset ?? null, config, init: start?.init ?? null, trainExamples: args.pairs.length, validationExamples: 0,
      }, { records: [], pairs: args.pairs, init: start?.files ?? null }, onEvent);
    },

    async previewPreference({ pair, maxSeqLength }) {
      const m = requireModel().model;
      const ex = tokenizePreference(m.tokenizer, templateOf(m), pair, maxSeqLength);
      const tokens = (e: Example) => e.inputIds.map((id, i) => ({ id, text: m.tokenizer.decode([id]), target: e.lossMask[i] === 1, cut: false }));
      return { chosen: tokens(ex.chosen), rejected: tokens(ex.rejected) };
    },

    async resumeRun(runId, onEvent = noop) {
      if (active) throw new Error('A run is already in progress (running or paused).');
      const m = requireModel();
      const s = await store();
      const run = await s.get(runId);
      if (!run) throw new Error(`No run ${runId}.`);
      if (run.model.fingerprint !== m.info.fingerprint) throw new Error(`Run "${run.name}" trained on ${run.model.name}; load that model to resume it.`);
      const data = await s.getData(runId);
      if (!data) throw new Error(`Run "${run.name}" has lost its data; it cannot be resumed.`);
      const ck = await s.getCheckpoint(runId, 'last');
      const checkpointing = await requireTrainingMemory(run.config);
      run.error = null;
      return execute(run, data, ck?.bytes ?? null, checkpointing, onEvent);
    },

    async control(runId, action) {
      if (!active || active.runId !== runId) throw new Error(`Run ${runId} is not running in this session.`);
      return active.set(action);
    },

    listRuns: async () => (await store()).list(),

    async deleteRun(runId) {
      if (active?.runId === runId) throw new Error('Cancel the run before deleting it.');
      await (await store()).remove(runId);
      return null;
    },

    async generate(args, onEvent = noop) {
      refuseWhileStepping('generating');
      const m = requireModel();
      const tok = m.model.tokenizer;
      const ids = promptIds(m.model, args.prompt);
      const decode = async (decoder: Transformer | Decoder, backend: GenerateResult['backend']): Promise<GenerateResult> => {
        const t0 = performance.now();
        const tokens: number[] = [];
        let text = '', finishReason: GenerateResult['finishReason'] = null;
        for await (const step of generateTokens(decoder, ids, { ...args.sampling, stopTokenIds: stopTokenIds(m.model), decode: (x) => tok.decode(x, { skipSpecialTokens: true }) })) {
          tokens.push(step.token);
          text = step.text;
          finishReason = step.finishReason;
          onEvent({ type: 'token', token: step.token, text });
        }
        return { text, tokens, finishReason, tokensPerSecond: tokens.length / Math.max(1e-6, (performance.now() - t0) / 1000), backend };
      };
      const backend = args.backend ?? 'auto';
      // On a software adapter onnxruntime's wasm kernels decode several times faster than ours (measured:
      // 3–20× on SwiftShader); on a GPU our engine needs no second copy of the weights.
      if (backend === 'onnx' || (backend === 'auto' && (await device()).isSoftware)) return decode(await onnxDecoder(args.adapter), 'onnx');
      return withAdapter(args.adapter, (net) => decode(net, 'engine'));
    },

    async exportAdapter(runId, checkpoint) {
      refuseWhileStepping('exporting');
      const m = requireModel();
      return withAdapter({ kind: 'run', runId, checkpoint }, (net) => exportPeftAdapter(net, m.info.name));
    },

    async exportModel(args) {
      refuseWhileStepping('exporting');
      const m = requireModel();
      const format: ExportFormatSpec = EXPORT_FORMATS[exportFormat(args.format)];
      const files = await withAdapter(exportChoice(args), (net) => format.build({ name: m.info.name, dtype: args.dtype, model: { net, info: m.model, files: m.files } }));
      return { files: [...files] };
    },

    async evaluateLoss(args) {
      refuseWhileStepping('evaluating');
      const m = requireModel();
      const examples = examplesFromRecords(m.model.tokenizer, templateOf(m.model), args.records, { assistantOnly: true, maxSeqLength: args.maxSeqLength });
      return withAdapter(args.adapter, (net) => evaluateLoss(net, examples, 4, args.maxSeqLength, m.model.tokenizer.padTokenId ?? 0));
    },

    async checkOnnx(args) {
      refuseWhileStepping('checking the ONNX export');
      const m = requireModel();
      const tok = m.model.tokenizer;
      const ids = tok.encode(templateOf(m.model).render([{ role: 'user', content: args.prompt }], { addGenerationPrompt: true }), { addSpecialTokens: false });
      const ort = await (deps.ort ?? defaultOrt)();
      return withAdapter(args.adapter, async (net) => checkOnnxExport(ort, net, await onnxGraph(net), ids));
    },

    async tokenizerFiles() {
      const m = requireModel();
      const text = async (path: string) => new TextDecoder().decode(await m.files.read(path));
      const hasConfig = m.files.list().includes('tokenizer_config.json');
      return { name: m.info.name, tokenizerJson: await text('tokenizer.json'), tokenizerConfig: hasConfig ? await text('tokenizer_config.json') : null };
    },

    async importAdapter(args) {
      refuseWhileStepping('importing an adapter');
      const m = requireModel();
      const entries = await Promise.all(args.files.map(async (f) => ({ path: f.path, bytes: new Uint8Array(await f.file.arrayBuffer()) })));
      const files = peftFilesFromUpload(entries, args.name);
      const { lora, baseModel } = loraFromPeftConfig(files['adapter_config.json'], `${args.name}/adapter_config.json`);
      const mismatch = baseModelMismatch(baseModel, m.info.name);
      if (mismatch && !args.ignoreBaseModel) throw Object.assign(new Error(`${args.name}/adapter_config.json: ${mismatch}`), { name: BASE_MODEL_MISMATCH });
      // Every target must name linear modules of this model (PEFT matches by suffix, as isLoraTarget does).
      const linears = targetableModules(m.model.config);
      const modules = [...expectedWeights(m.model.config).keys()].map((k) => k.replace(/\.weight$/, '')).filter((p) => linears.some((l) => p.endsWith(`.${l}`)));
      const unmatched = lora.targetModules.filter((t) => !modules.some((p) => p === t || p.endsWith(`.${t}`)));
      if (unmatched.length) {
        throw new Error(`${args.name}/adapter_config.json: target module ${unmatched.join(', ')} is not in this ${m.model.config.modelType} model (its modules: ${linears.join(', ')})`);
      }
      // Rank against the targeted layers, alpha and dropout, before the LoRA views are allocated.
      validateLora(lora, linearsOf(weightShapes(m.model.config)), `${args.name}/adapter_config.json`);
      const net = await residentLora(lora, 0, false);
      // Shapes and keys: the file must fill exactly this model's LoRA views. Nothing is stored until it does.
      await withAdapter({ kind: 'base' }, async (n) => applyPeftAdapter(n, files['adapter_model.safetensors'], `${args.name}/adapter_model.safetensors`));
      const t = now();
      const record: AdapterRecord = {
        id: `adapter-${t.toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`,
        name: args.name.replace(/\.zip$/i, ''), createdAt: t, source: args.name,
        model: { name: m.info.name, parameters: m.info.parameters, fingerprint: m.info.fingerprint },
        baseModel, lora, parameters: [...net.params.offsets.keys()].reduce((sum, k) => sum + net.params.specs.get(k)!.shape.reduce((a, b) => a * b, 1), 0),
      };
      await (await store()).putAdapter(record, files);
      return record;
    },

    listAdapters: async () => (await store()).listAdapters(),

    async renameAdapter(adapterId, name) {
      const s = await store();
      const record = await s.getAdapter(adapterId);
      if (!record) throw new Error(`No imported adapter ${adapterId}.`);
      if (!name.trim()) throw new Error('An adapter needs a name.');
      const renamed = { ...record, name: name.trim() };
      await s.putAdapter(renamed);
      return renamed;
    },

    async deleteAdapter(adapterId) {
      await (await store()).removeAdapter(adapterId);
      return null;
    },

    async adapterFiles(adapterId) {
      const files = await (await store()).getAdapterFiles(adapterId);
      if (!files) throw new Error(`No imported adapter ${adapterId}.`);
      return files;
    },

    async evaluate(args, onEvent = noop) {
      const mine = { stopped: false };
      evaluation = mine;
      try {
        return await evaluateBatch({
          generate: (adapter, prompt) => engine.generate({ adapter, prompt, sampling: args.sampling, backend: args.backend }),
          loss: (adapter, records) => engine.evaluateLoss({ adapter, records, maxSeqLength: args.maxSeqLength }),
          pairLogps: (adapter, pairs) => {
            const m = requireModel().model;
            const examples = pairs.map((p) => tokenizePreference(m.tokenizer, templateOf(m), p, args.maxSeqLength));
            return withAdapter(adapter, (net) => pairLogps(net, examples, 4, args.maxSeqLength, m.tokenizer.padTokenId ?? 0));
          },
        }, args, onEvent, () => mine.stopped);
      } finally {
        if (evaluation === mine) evaluation = null;
      }
    },

    async stopEvaluation() {
      if (evaluation) evaluation.stopped = true;
      return null;
    },

    async saveEvaluation(e) {
      await (await store()).putEvaluation(e);
      return null;
    },

    listEvaluations: async (subject) => (await store()).listEvaluations(subject),

    onUnsolicited(listener) { unsolicited.push(listener); },
    dispose() { dropResident(); dropOnnx(); gpu?.destroy(); gpu = null; },
  };
  return engine;
}

// ---- worker binding ---------------------------------------------------------------------------------

/** The worker's end of a message channel (a DedicatedWorkerGlobalScope, or a MessagePort in tests). */
interface EnginePort {
  postMessage(reply: EngineReply): void;
  onmessage: ((ev: MessageEvent<EngineRequest | PortHandover>) => void) | null;
}

/** One error line for the other end: the error's name and message, nothing else crosses. */
function thrown(e: unknown): { name: string; message: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message };
}

/** The engine's end of the data worker's channel: each ask is answered from the model loaded at that moment. */
function serveTokenizerFiles(core: EngineCore, port: MessagePort): void {
  port.onmessage = async (ev: MessageEvent<TokenizerFilesAsk>) => {
    const { id } = ev.data;
    let answer: TokenizerFilesAnswer;
    try { answer = { id, files: await core.tokenizerFiles() }; } catch (e) { answer = { id, error: thrown(e) }; }
    port.postMessage(answer);
  };
}

/**
 * Answers EngineRequests arriving on `port` with the core's results, events and errors; a PortHandover (the page
 * joining the data worker) gets the tokenizer files served on the port it carries.
 */
export function serveEngine(core: EngineCore, port: EnginePort): void {
  const post = (reply: EngineReply) => port.postMessage(reply);
  core.onUnsolicited((event) => post({ id: 0, kind: 'event', event }));
  port.onmessage = async (ev) => {
    const req = ev.data;
    if (req.kind === 'port') { serveTokenizerFiles(core, req.port); return; }
    const onEvent = (event: EngineEvent) => post({ id: req.id, kind: 'event', event });
    try {
      switch (req.kind) {
        case 'probe': post({ id: req.id, kind: 'return', method: req.kind, result: await core.probe() }); break;
        case 'loadModel': post({ id: req.id, kind: 'return', method: req.kind, result: await core.loadModel(req.args.source, onEvent, req.args.weights) }); break;
        case 'startRun': post({ id: req.id, kind: 'return', method: req.kind, result: await core.startRun(req.args, onEvent) }); break;
        case 'resumeRun': post({ id: req.id, kind: 'return', method: req.kind, result: await core.resumeRun(req.args.runId, onEvent) }); break;
        case 'startPreferenceRun': post({ id: req.id, kind: 'return', method: req.kind, result: await core.startPreferenceRun(req.args, onEvent) }); break;
        case 'previewPreference': post({ id: req.id, kind: 'return', method: req.kind, result: await core.previewPreference(req.args) }); break;
        case 'control': post({ id: req.id, kind: 'return', method: req.kind, result: await core.control(req.args.runId, req.args.action) }); break;
        case 'listRuns': post({ id: req.id, kind: 'return', method: req.kind, result: await core.listRuns() }); break;
        case 'deleteRun': post({ id: req.id, kind: 'return', method: req.kind, result: await core.deleteRun(req.args.runId) }); break;
        case 'generate': post({ id: req.id, kind: 'return', method: req.kind, result: await core.generate(req.args, onEvent) }); break;
        case 'exportAdapter': post({ id: req.id, kind: 'return', method: req.kind, result: await core.exportAdapter(req.args.runId, req.args.checkpoint) }); break;
        case 'exportModel': post({ id: req.id, kind: 'return', method: req.kind, result: await core.exportModel(req.args) }); break;
        case 'evaluateLoss': post({ id: req.id, kind: 'return', method: req.kind, result: await core.evaluateLoss(req.args) }); break;
        case 'checkOnnx': post({ id: req.id, kind: 'return', method: req.kind, result: await core.checkOnnx(req.args) }); break;
        case 'importAdapter': post({ id: req.id, kind: 'return', method: req.kind, result: await core.importAdapter(req.args) }); break;
        case 'listAdapters': post({ id: req.id, kind: 'return', method: req.kind, result: await core.listAdapters() }); break;
        case 'renameAdapter': post({ id: req.id, kind: 'return', method: req.kind, result: await core.renameAdapter(req.args.adapterId, req.args.name) }); break;
        case 'deleteAdapter': post({ id: req.id, kind: 'return', method: req.kind, result: await core.deleteAdapter(req.args.adapterId) }); break;
        case 'adapterFiles': post({ id: req.id, kind: 'return', method: req.kind, result: await core.adapterFiles(req.args.adapterId) }); break;
        case 'evaluate': post({ id: req.id, kind: 'return', method: req.kind, result: await core.evaluate(req.args, onEvent) }); break;
        case 'stopEvaluation': post({ id: req.id, kind: 'return', method: req.kind, result: await core.stopEvaluation() }); break;
        case 'saveEvaluation': post({ id: req.id, kind: 'return', method: req.kind, result: await core.saveEvaluation(req.args) }); break;
        case 'listEvaluations': post({ id: req.id, kind: 'return', method: req.kind, result: await core.listEvaluations(req.args.subject) }); break;
      }
    } catch (e) {
      post({ id: req.id, kind: 'throw', error: thrown(e) });
    }
  };
}

// Bind only when this module runs as a dedicated worker (tests import createEngineCore in-thread).
if (typeof DedicatedWorkerGlobalScope !== 'undefined' && self instanceof DedicatedWorkerGlobalScope) {
  const core = createEngineCore({
    store: openRunStore().catch(() => createMemoryRunStore()),
    cache: () => cacheStorageCache().catch(() => memoryCache()),
  });
  serveEngine(core, self);
}
