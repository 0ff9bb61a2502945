// The engine's calls, as the page, the worker and the command line all see them: EngineCalls is the one table of
// method → (args, result), and every method has one shape, `(args, onEvent?) => Promise<result>`, so one typed
// dispatch serves a message channel (workers/engine-channel.ts) and one typed client is built from it without a
// line per method. EngineEvent lists everything a long call reports while it runs; unsolicited events (the
// device was lost) go to onUnsolicited listeners.
// A new engine call is its method (src/engine/*) and its line here; nothing else lists the calls.
// Not here: what the calls do (createEngine in engine.ts), how they travel (workers/engine-channel.ts).
import type { ChatMessage } from '../data/types';
import type { GpuSummary } from '../gpu/adapter';
import type { MemoryBudget } from '../gpu/memory';
import type { LoraMemoryByStorage } from '../model/memory-estimate';
import type { ModelConfig } from '../model/config';
import type { WeightStorage } from '../ops/weight-storage';
import type { RunConfig } from '../train/presets';
import type { AdapterRecord, AdapterRef, CheckpointKind, ConversationRecord, EvaluationRecord, RunRecord, RunStatus } from '../storage/runs';
import type { SessionEvent } from './session';
import type { EvaluateArgs, EvaluateEvent, EvaluateResult } from './evaluate';
import type { GenerateBackend } from '../generate/decoder';
import type { SamplingOptions } from '../generate/sampler';
import type { ExportFormat } from '../export/formats';
import type { OnnxCheck } from '../export/onnx-check';
import type { PreviewToken, TokenizerFiles } from '../data/tokens';
import type { PreferenceEval } from '../eval/preference';
import type { GrpoConfig } from '../train/grpo';
import type { PreferenceConfig } from '../train/preference';
import type { PreferencePair } from '../train/preference-pairs';

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

/** Where a model comes from. Files keep their folder-relative paths; a folder on disk is the command line's (the Node host's). */
export type ModelSource =
  | { kind: 'files'; name: string; files: { path: string; file: Blob }[] }
  | { kind: 'folder'; path: string }
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
  /** LoRA training at that batch for every weights storage, with and without activation checkpointing, and train's default. */
  trainingMemory: LoraMemoryByStorage;
  /** What the GPU gave when asked for the larger of the two at load (Gpu.probeMemory): the Training tab refuses runs beyond it. */
  memoryBudget: MemoryBudget;
  /** How the frozen base is kept on the GPU (src/ops/weight-storage.ts): the load's option, or the checkpoint's own. */
  weights: WeightStorage;
  /** The adapter the model was loaded on and its fast paths (src/gpu/adapter.ts): what a command's --json and the Train tab say. */
  gpu: GpuSummary;
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

/**
 * A GRPO run (src/train/grpo.ts) on prompts: a run like the others (stored with its points and checkpoints, paused,
 * cancelled and resumed through control(runId) and resumeRun, listed in Compare). `records` are the Data step's: the
 * train split's are the prompts, an assistant turn at the end of one is its reference answer (what rewards like exact
 * match read). config.train.batchSize counts answers (batch × accumulation = the prompts of a generation batch × G);
 * JavaScript rewards run in the host's sandbox. config.lora shapes a fresh adapter; `start` continues a run's last
 * checkpoint (the lesson: SFT, then GRPO) or an imported adapter, whose rank, alpha and targets replace config.lora's.
 */
export interface StartGrpoRunArgs {
  name: string;
  config: RunConfig;
  grpo: GrpoConfig;
  records: { messages: ChatMessage[]; split: 'train' | 'validation' }[];
  dataset?: { id: string; name: string; version: number } | null;
  start?: Exclude<AdapterRef, { kind: 'base' }> | null;
}

/** Which weights answer: the base model alone, a run's adapter (its last or best checkpoint), or an imported adapter. */
export type AdapterChoice = AdapterRef;

/**
 * A prompt as long as the model's context or longer is refused; one that leaves less room than maxNewTokens gets
 * fewer new tokens, with a 'note' event saying so.
 */
export interface GenerateArgs {
  adapter: AdapterChoice;
  /** A conversation rendered with the model's chat template, or raw text. */
  prompt: { kind: 'chat'; messages: ChatMessage[] } | { kind: 'raw'; text: string };
  sampling: SamplingOptions & { maxNewTokens: number; stopStrings: string[] };
  /** Who decodes: our decoder, onnxruntime-web's wasm backend on the ONNX export of the same weights, or 'auto'
   * (default): ours, but onnx on a software adapter for a model our CPU step does not take (answers.ts). */
  backend?: GenerateBackend;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  finishReason: 'stop-token' | 'stop-string' | 'length' | null;
  tokensPerSecond: number;
  /** Which backend answered. */
  backend: 'webgpu' | 'onnx';
  /** Ours stepped on the CPU (a software adapter: src/generate/cpu-decode.ts). */
  cpuStep?: boolean;
}

/**
 * Several sampled answers to one prompt from one model (for marking the better one): answer g draws from seed
 * sequenceSeed(seed, g) (src/generate/batch.ts), so it is what `generate` gives with that seed, on either decoder.
 * Greedy decoding (temperature 0) is refused: it would give the same answer each time.
 */
export interface GenerateSamplesArgs extends GenerateArgs { samples: number }

/**
 * A conversation's next answer (src/engine/conversations.ts): `messages` is an optional system message, then user and
 * assistant turns, ending with the user's; rendered with the model's chat template. When it and maxNewTokens do not
 * fit the model's context, its earliest user + assistant exchanges are left out (a 'note' says how many).
 */
export interface ChatArgs { adapter: AdapterChoice; messages: ChatMessage[]; sampling: GenerateArgs['sampling']; backend?: GenerateBackend }

/** The answer, and how many earliest exchanges were left out to fit the context (0: none). */
export interface ChatResult extends GenerateResult { dropped: number }

export interface AdapterFiles { 'adapter_model.safetensors': Uint8Array; 'adapter_config.json': string }

/**
 * An export format's files (src/export/formats) made from the chosen weights on the resident model, with its README
 * model card when the weights are a run's or an imported adapter's (the card names the run's data, settings and
 * metrics, or the adapter's shape and origin). dtype is one of the format's (default: its first); `records` is
 * the train split a format that needs records (the kit) repeats. An imported adapter's 'peft' export is its files
 * as they were imported, byte for byte.
 */
export interface ExportModelArgs { adapter: AdapterChoice; format: ExportFormat; dtype?: string; records?: { messages: ChatMessage[] }[] }

/** An export's files and the name of what was exported (the run's or adapter's; the model's for the base). */
export interface ExportResult { name: string; files: [string, Uint8Array][] }

/**
 * A dropped or picked PEFT adapter: one zip, or its files (folder-relative paths). An adapter whose
 * base_model_name_or_path names another model is refused (error name BASE_MODEL_MISMATCH) unless
 * ignoreBaseModel: the user's "Import anyway", like the CLI's --ignore-base-model. Shapes are checked either way.
 * A training_log.json beside the files (what `studio train` writes) gives the record the run's settings.
 */
export interface ImportAdapterArgs { name: string; files: { path: string; file: Blob }[]; ignoreBaseModel?: boolean }

export type EvaluateCallArgs = EvaluateArgs<AdapterChoice> & {
  sampling: GenerateArgs['sampling'];
  backend?: GenerateBackend;
  /** Positions scored by the loss (the conversations cut there, as training cuts them). */
  maxSeqLength: number;
};

/** Held-out preference pairs scored under one model (src/eval/preference.ts): log-probs, greedy answers, and with an adapter its implicit reward against the adapter switched off. */
export interface EvaluatePairsArgs { adapter: AdapterChoice; pairs: PreferencePair[]; maxSeqLength: number; sampling: GenerateArgs['sampling'] }

/**
 * A GRPO run's rewards tried before it starts (src/engine/rewards.ts): each answer scored by each reward on its own,
 * so one reward's error on an answer leaves the others' values.
 */
export interface PreviewRewardsArgs {
  /** The weights that answer: the base model (a GRPO run from a new adapter) or what the run starts from. */
  adapter: AdapterChoice;
  /** Data-step records: a final assistant turn is the reference, the turns before it the prompt. */
  records: { messages: ChatMessage[] }[];
  /** The run's settings: config.grpo (rewards, sampling, time limit) and config.train (sequence length, seed). */
  config: RunConfig;
}

/** One answer and what each reward gave it. */
export interface PreviewedSample {
  prompt: string;
  reference: string | null;
  completion: string;
  finishReason: 'stop-token' | 'length';
  /** Per reward (the config's order): its value, or null with its error beside it. */
  values: (number | null)[];
  errors: (string | null)[];
  /** The weighted sum the run would take its advantage from; null when any reward failed (the run's "unscorable"). */
  reward: number | null;
}

export interface RewardPreview {
  /** The rewards' names (rewards.ts rewardName) and weights, in the config's order. */
  names: string[];
  weights: number[];
  samples: PreviewedSample[];
}

export interface EngineCalls {
  probe: { args: void; result: AdapterReport };
  /** `weights`: how the frozen base is kept on the GPU (absent: as the checkpoint ships it); later rebuilds keep it. */
  loadModel: { args: { source: ModelSource; weights?: WeightStorage }; result: ModelInfo };
  startRun: { args: StartRunArgs; result: RunOutcome };
  resumeRun: { args: { runId: string }; result: RunOutcome };
  startPreferenceRun: { args: StartPreferenceRunArgs; result: RunOutcome };
  startGrpoRun: { args: StartGrpoRunArgs; result: RunOutcome };
  /** A pair's chosen and rejected rows as the preference trainer sees them: each token and whether the loss counts it. */
  previewPreference: { args: { pair: PreferencePair; maxSeqLength: number }; result: { chosen: PreviewToken[]; rejected: PreviewToken[] } };
  control: { args: { runId: string; action: 'pause' | 'resume' | 'cancel' }; result: RunStatus };
  listRuns: { args: void; result: RunRecord[] };
  deleteRun: { args: { runId: string }; result: null };
  generate: { args: GenerateArgs; result: GenerateResult };
  generateSamples: { args: GenerateSamplesArgs; result: GenerateResult[] };
  chat: { args: ChatArgs; result: ChatResult };
  /** Stores (or replaces, by id) a Compare conversation with the runs and adapters it compared. */
  saveConversation: { args: ConversationRecord; result: null };
  /** Stored conversations, the last changed first; with `subject`, those of that run or adapter. */
  listConversations: { args: { subject?: string }; result: ConversationRecord[] };
  deleteConversation: { args: { conversationId: string }; result: null };
  /** A run's checkpoint as PEFT files (adapter_model.safetensors + adapter_config.json), nothing else. */
  exportAdapter: { args: { runId: string; checkpoint: CheckpointKind }; result: AdapterFiles };
  exportModel: { args: ExportModelArgs; result: ExportResult };
  /** Mean assistant-token loss of records under an adapter, and the tokens it counted. */
  evaluateLoss: { args: { adapter: AdapterChoice; records: { messages: ChatMessage[] }[]; maxSeqLength: number }; result: { loss: number; tokens: number } };
  evaluatePairs: { args: EvaluatePairsArgs; result: PreferenceEval };
  /** Runs the ONNX export of an adapter's weights in onnxruntime-web (wasm) against our engine on a prompt. */
  checkOnnx: { args: { adapter: AdapterChoice; prompt: string }; result: OnnxCheck };
  /** Checks a PEFT adapter against the loaded model and stores it; refused whole (nothing stored) on any mismatch. */
  importAdapter: { args: ImportAdapterArgs; result: AdapterRecord };
  listAdapters: { args: void; result: AdapterRecord[] };
  renameAdapter: { args: { adapterId: string; name: string }; result: AdapterRecord };
  deleteAdapter: { args: { adapterId: string }; result: null };
  /** An imported adapter's PEFT files, as stored. */
  adapterFiles: { args: { adapterId: string }; result: AdapterFiles };
  /** Batch evaluation of conversations × models (src/engine/evaluate.ts): an 'evaluate' event per row, then the rows and summaries. */
  evaluate: { args: EvaluateCallArgs; result: EvaluateResult };
  /** Stops the running batch evaluation after its current row (it then returns what it finished). */
  stopEvaluation: { args: void; result: null };
  /** Stores (or replaces, by id) a batch evaluation with the runs and adapters it evaluated. */
  saveEvaluation: { args: EvaluationRecord; result: null };
  /** Stored evaluations, newest first; with `subject`, those of that run or adapter. */
  listEvaluations: { args: { subject?: string }; result: EvaluationRecord[] };
  /** A GRPO run's rewards tried before it starts: a few prompts answered as the run would, each reward's value or error per answer (rewards.ts). */
  previewRewards: { args: PreviewRewardsArgs; result: RewardPreview };
  /** The loaded model's tokenizer files, so the data tools count and mask tokens exactly as training will. */
  tokenizerFiles: { args: void; result: TokenizerFiles };
}

export type EngineMethod = keyof EngineCalls;

/** What long calls report while they run; a run's events are the training session's (src/engine/session.ts). */
export type EngineEvent =
  | SessionEvent
  | EvaluateEvent
  | { type: 'load'; message: string; loaded: number; total: number }
  /** Conversations of a run tokenized so far (reported per chunk). */
  | { type: 'tokenize'; done: number; total: number }
  /** `sample`: which answer, in a call that makes several (generateSamples). */
  | { type: 'token'; token: number; text: string; sample?: number }
  /** Something the caller should be told that is not a failure (a prompt that leaves less room than asked). */
  | { type: 'note'; message: string }
  | { type: 'device-lost'; message: string }
  /** The worker the engine ran in is gone (sent by the channel's client, workers/engine-channel.ts, never the engine). */
  | { type: 'engine-lost'; message: string };

export type OnEvent = (e: EngineEvent) => void;

/** The one shape of an engine method. */
export type EngineCall<M extends EngineMethod> = (args: EngineCalls[M]['args'], onEvent?: OnEvent) => Promise<EngineCalls[M]['result']>;

export type EngineMethods = { [M in EngineMethod]: EngineCall<M> };

/** The engine as every caller sees it: its methods, events not tied to a call, and its end. */
export interface Engine extends EngineMethods {
  /** Events not tied to a call (device lost, engine lost). */
  onUnsolicited(listener: OnEvent): void;
  dispose(): void;
}
