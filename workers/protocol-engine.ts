// Messages between the page and workers/engine-worker.ts, the one worker that owns the GPUDevice and the
// loaded model. Requests and replies are discriminated unions keyed by `kind`, matched by `id`; a request
// gets any number of 'event' replies, then exactly one 'return' or 'throw'. EngineCalls is the one table of
// method → (args, result); EngineEvent lists everything a long call reports while it runs.
// Engine is the interface both ends implement: the worker's core (createEngineCore) and the page's client
// (app/engine/client.ts), so the store cannot tell them apart and tests can run the core in-thread.
// Unsolicited replies use id 0 (the device was lost).
import type { ChatMessage } from '../src/data/types';
import type { MemoryBudget } from '../src/gpu/memory';
import type { ModelConfig } from '../src/model/config';
import type { WeightStorage } from '../src/ops/weight-storage';
import type { RunConfig } from '../src/train/presets';
import type { AdapterRecord, AdapterRef, CheckpointKind, EvaluationRecord, RunRecord, RunStatus } from '../src/storage/runs';
import type { SessionEvent } from '../src/engine/session';
import type { EvaluateArgs, EvaluateEvent, EvaluateResult } from '../src/engine/evaluate';
import type { GenerateBackend } from '../src/generate/decoder';
import type { SamplingOptions } from '../src/generate/sampler';
import type { ExportFormat } from '../src/export/formats';
import type { OnnxCheck } from '../src/export/onnx-check';
import type { PreviewToken } from '../src/data/tokens';
import type { PreferenceConfig, PreferencePair } from '../src/train/preference';

/** What the browser offers for WebGPU, probed in the worker (where training runs). */
export interface AdapterReport {
  available: boolean;
  /** A software rasteriser (SwiftShader and similar): works, but orders of magnitude slower than a GPU. */
  software: boolean;
  vendor: string;
  architecture: string;
  description: string;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** When unavailable: why, in words for the user. */
  reason: string | null;
}

/** Where a model comes from. Files keep their folder-relative paths. */
export type ModelSource =
  | { kind: 'files'; name: string; files: { path: string; file: Blob }[] }
  | { kind: 'url'; name: string; baseUrl: string }
  | { kind: 'hub'; repo: string; revision: string; endpoint: string };

export interface ModelInfo {
  name: string;
  config: ModelConfig;
  parameters: number;
  /** Identifies these exact weights (config + parameter count + a sample of values): runs resume only on the same model. */
  fingerprint: string;
  vocabSize: number;
  /** Short module names LoRA can target here. */
  targetModules: string[];
  chatTemplate: boolean;
  endOfTurn: string | null;
  /** Memory for inference and for training at the default LoRA settings (bytes), for the picker. */
  inferenceBytes: number;
  trainingBytes: number;
  /** What the GPU gave when asked for the larger of the two at load (Gpu.probeMemory): the Training tab refuses runs beyond it. */
  memoryBudget: MemoryBudget;
  /** How the frozen base is kept on the GPU (src/ops/weight-storage.ts): the load's option, or the checkpoint's own. */
  weights: WeightStorage;
}

export interface StartRunArgs {
  name: string;
  config: RunConfig;
  records: { messages: ChatMessage[]; split: 'train' | 'validation' }[];
  dataset: { id: string; name: string; version: number } | null;
  /**
   * Start from an imported adapter's values instead of a fresh LoRA (B = 0). Its rank, alpha, rsLoRA and
   * target modules replace config.lora's (dropout stays the run's choice).
   */
  init?: { kind: 'imported'; adapterId: string } | null;
}

export interface RunOutcome { runId: string; status: RunStatus; run: RunRecord }

/**
 * A preference run (DPO / ORPO) on curated pairs: a run like an SFT one (stored with its points and checkpoints,
 * paused, cancelled and resumed through control(runId) and resumeRun, listed in Compare). config.lora shapes a fresh
 * adapter; `start` continues a run's last checkpoint (the lesson: SFT, then DPO) or an imported adapter, whose rank,
 * alpha and targets replace config.lora's (dropout stays the run's).
 */
export interface StartPreferenceRunArgs {
  name: string;
  config: RunConfig;
  preference: PreferenceConfig;
  pairs: PreferencePair[];
  dataset?: { id: string; name: string; version: number } | null;
  start?: Exclude<AdapterRef, { kind: 'base' }> | null;
}

/** Which weights answer: the base model alone, a run's adapter (its last or best checkpoint), or an imported adapter. */
export type AdapterChoice = AdapterRef;

export interface GenerateArgs {
  adapter: AdapterChoice;
  /** A conversation rendered with the model's chat template, or raw text. */
  prompt: { kind: 'chat'; messages: ChatMessage[] } | { kind: 'raw'; text: string };
  sampling: SamplingOptions & { maxNewTokens: number; stopStrings: string[] };
  /** Who decodes: our WebGPU engine, onnxruntime-web's wasm backend on the ONNX export of the same weights
   * (much faster on a software adapter), or 'auto' (default): onnx on a software adapter, else the engine. */
  backend?: GenerateBackend;
}


export interface GenerateResult {
  text: string;
  tokens: number[];
  finishReason: 'stop-token' | 'stop-string' | 'length' | null;
  tokensPerSecond: number;
  /** Which backend answered. */
  backend: 'engine' | 'onnx';
}

export interface AdapterFiles { 'adapter_model.safetensors': Uint8Array; 'adapter_config.json': string }

/** A tuned model to export: a run's checkpoint, or an imported adapter. */
export type ExportSource = { runId: string; checkpoint: CheckpointKind } | { adapterId: string };

/** An export format's files (src/export/formats) made from the chosen weights on the resident model; dtype is
 *  one of the format's (default: its first). The kit needs no weights and is built in the page. */
export type ExportModelArgs = ExportSource & { format: ExportFormat; dtype?: string };

/**
 * A dropped or picked PEFT adapter: one zip, or its files (folder-relative paths). An adapter whose
 * base_model_name_or_path names another model is refused (error name BASE_MODEL_MISMATCH) unless
 * ignoreBaseModel: the user's "Import anyway", like the CLI's --ignore-base-model. Shapes are checked either way.
 */
export interface ImportAdapterArgs { name: string; files: { path: string; file: Blob }[]; ignoreBaseModel?: boolean }

export interface EngineCalls {
  probe: { args: Record<string, never>; result: AdapterReport };
  loadModel: { args: { source: ModelSource; weights?: WeightStorage }; result: ModelInfo };
  startRun: { args: StartRunArgs; result: RunOutcome };
  resumeRun: { args: { runId: string }; result: RunOutcome };
  startPreferenceRun: { args: StartPreferenceRunArgs; result: RunOutcome };
  /** A pair's chosen and rejected rows as the preference trainer sees them: each token and whether the loss counts it. */
  previewPreference: { args: { pair: PreferencePair; maxSeqLength: number }; result: { chosen: PreviewToken[]; rejected: PreviewToken[] } };
  control: { args: { runId: string; action: 'pause' | 'resume' | 'cancel' }; result: RunStatus };
  listRuns: { args: Record<string, never>; result: RunRecord[] };
  deleteRun: { args: { runId: string }; result: null };
  generate: { args: GenerateArgs; result: GenerateResult };
  exportAdapter: { args: { runId: string; checkpoint: CheckpointKind }; result: AdapterFiles };
  exportModel: { args: ExportModelArgs; result: { files: [string, Uint8Array][] } };
  /** Mean assistant-token loss of records under an adapter (the CLI's `eval` loss). */
  evaluateLoss: { args: { adapter: AdapterChoice; records: { messages: ChatMessage[] }[]; maxSeqLength: number }; result: { loss: number; tokens: number } };
  /** Runs the ONNX export of an adapter's weights in onnxruntime-web (wasm) against our engine on a prompt. */
  checkOnnx: { args: { adapter: AdapterChoice; prompt: string }; result: OnnxCheck };
  /** Checks a PEFT adapter against the loaded model and stores it; refused whole (nothing stored) on any mismatch. */
  importAdapter: { args: ImportAdapterArgs; result: AdapterRecord };
  listAdapters: { args: Record<string, never>; result: AdapterRecord[] };
  renameAdapter: { args: { adapterId: string; name: string }; result: AdapterRecord };
  deleteAdapter: { args: { adapterId: string }; result: null };
  /** An imported adapter's PEFT files, as stored. */
  adapterFiles: { args: { adapterId: string }; result: AdapterFiles };
  /** Batch evaluation of conversations × models (src/engine/evaluate.ts): an 'evaluate' event per row, then the rows and summaries. */
  evaluate: { args: EvaluateCallArgs; result: EvaluateResult };
  /** Stops the running batch evaluation after its current row (it then returns what it finished). */
  stopEvaluation: { args: Record<string, never>; result: null };
  /** Stores (or replaces, by id) a batch evaluation with the runs and adapters it evaluated. */
  saveEvaluation: { args: EvaluationRecord; result: null };
  /** Stored evaluations, newest first; with `subject`, those of that run or adapter. */
  listEvaluations: { args: { subject?: string }; result: EvaluationRecord[] };
}

type EvaluateCallArgs = EvaluateArgs<AdapterChoice> & {
  sampling: GenerateArgs['sampling'];
  backend?: GenerateBackend;
  /** Positions scored by the loss (the conversations cut there, as training cuts them). */
  maxSeqLength: number;
};


export type EngineMethod = keyof EngineCalls;

/** A run's events are the training session's (src/engine/session.ts). */
export type EngineEvent =
  | SessionEvent
  | EvaluateEvent
  | { type: 'load'; message: string; loaded: number; total: number }
  | { type: 'token'; token: number; text: string }
  | { type: 'device-lost'; message: string };

export type EngineRequest = { [M in EngineMethod]: { id: number; kind: M; args: EngineCalls[M]['args'] } }[EngineMethod];

export type EngineReturn = { [M in EngineMethod]: { id: number; kind: 'return'; method: M; result: EngineCalls[M]['result'] } }[EngineMethod];

export type EngineReply =
  | { id: number; kind: 'event'; event: EngineEvent }
  | EngineReturn
  | { id: number; kind: 'throw'; error: { name: string; message: string } };

export type OnEvent = (e: EngineEvent) => void;

/** The engine as both ends see it. `onEvent` receives what the call reports while it runs. */
export interface Engine {
  probe(): Promise<AdapterReport>;
  /** `weights`: how the frozen base is kept on the GPU (absent: as the checkpoint ships it); later rebuilds keep it. */
  loadModel(source: ModelSource, onEvent?: OnEvent, weights?: WeightStorage): Promise<ModelInfo>;
  startRun(args: StartRunArgs, onEvent?: OnEvent): Promise<RunOutcome>;
  resumeRun(runId: string, onEvent?: OnEvent): Promise<RunOutcome>;
  startPreferenceRun(args: StartPreferenceRunArgs, onEvent?: OnEvent): Promise<RunOutcome>;
  previewPreference(args: EngineCalls['previewPreference']['args']): Promise<EngineCalls['previewPreference']['result']>;
  control(runId: string, action: 'pause' | 'resume' | 'cancel'): Promise<RunStatus>;
  listRuns(): Promise<RunRecord[]>;
  deleteRun(runId: string): Promise<null>;
  generate(args: GenerateArgs, onEvent?: OnEvent): Promise<GenerateResult>;
  exportAdapter(runId: string, checkpoint: CheckpointKind): Promise<AdapterFiles>;
  exportModel(args: ExportModelArgs): Promise<{ files: [string, Uint8Array][] }>;
  evaluateLoss(args: EngineCalls['evaluateLoss']['args']): Promise<{ loss: number; tokens: number }>;
  checkOnnx(args: EngineCalls['checkOnnx']['args']): Promise<OnnxCheck>;
  importAdapter(args: ImportAdapterArgs): Promise<AdapterRecord>;
  listAdapters(): Promise<AdapterRecord[]>;
  renameAdapter(adapterId: string, name: string): Promise<AdapterRecord>;
  deleteAdapter(adapterId: string): Promise<null>;
  adapterFiles(adapterId: string): Promise<AdapterFiles>;
  evaluate(args: EvaluateCallArgs, onEvent?: OnEvent): Promise<EvaluateResult>;
  stopEvaluation(): Promise<null>;
  saveEvaluation(e: EvaluationRecord): Promise<null>;
  listEvaluations(subject?: string): Promise<EvaluationRecord[]>;
  /** Events not tied to a call (device lost). */
  onUnsolicited(listener: OnEvent): void;
  dispose(): void;
}
