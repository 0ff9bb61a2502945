// One typed run config (LoRA + trainer + what the run loop around the trainer does), three named presets,
// the checks that explain an invalid combination before a run starts, a pre-run estimate of GPU memory and
// time per epoch, and sequence packing. Pure functions: no GPU, no DOM, used by the page and the engine.
//
// RunConfig = { lora, train, packing, assistantOnly, evalEvery, checkpointEvery, earlyStopPatience }.
//   evalEvery / checkpointEvery: every N optimizer steps (0 = never); the last step always evaluates and
//   checkpoints. earlyStopPatience: stop after this many evaluations without a new best validation loss
//   (0 = off); the best checkpoint is kept either way.
// Not here: running anything (src/engine), storing runs (src/storage/runs.ts).
import { descriptorOf, parameterCount } from '../model/arch';
import { mib, type MemoryBudget } from '../gpu/memory';
import type { ModelConfig } from '../model/config';
import { estimateMemory, memoryVerdict, type MemoryEstimate } from '../model/memory-estimate';
import { loraLinears, loraProblem } from '../io/validate';
import { DEFAULT_LORA, type LoraConfig } from '../model/lora';
import type { Example } from './batch';
import { grpoProblem, grpoSteps, promptsPerGeneration, type GrpoConfig } from './grpo';
import { totalSteps } from './data-order';
import type { PreferenceConfig } from './preference';
import { DEFAULT_TRAIN, type TrainConfig } from './trainer';

export interface RunConfig {
  lora: LoraConfig;
  train: TrainConfig;
  /** Concatenate examples into sequences of maxSeqLength + 1 tokens; attention and positions restart at each example (docStart). */
  packing: boolean;
  /** Loss on assistant turns only (TRL's assistant_only_loss); otherwise on every token. */
  assistantOnly: boolean;
  evalEvery: number;
  checkpointEvery: number;
  earlyStopPatience: number;
  /** A preference run (DPO / ORPO on pairs, src/train/preference.ts); absent: SFT on conversations. */
  preference?: PreferenceConfig;
  /** A GRPO run (prompts, sampled answers, rewards: src/train/grpo.ts); absent: SFT or a preference run. */
  grpo?: GrpoConfig;
}

export type PresetName = 'quick' | 'balanced' | 'thorough';

const BASE: RunConfig = {
  lora: DEFAULT_LORA, train: DEFAULT_TRAIN, packing: false, assistantOnly: true,
  evalEvery: 0, checkpointEvery: 0, earlyStopPatience: 0,
};

/** Presets in the spirit of TRL/LLaMA-Factory defaults, scaled for a browser GPU. */
export const PRESETS: Record<PresetName, RunConfig> = {
  quick: {
    ...BASE,
    lora: { ...DEFAULT_LORA, rank: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] },
    train: { ...DEFAULT_TRAIN, lr: 3e-4, schedule: 'constant', warmupSteps: 0, epochs: 1, maxSteps: 0, batchSize: 4, gradAccumSteps: 1, maxSeqLength: 256 },
    evalEvery: 20, checkpointEvery: 20,
  },
  balanced: {
    ...BASE,
    lora: { ...DEFAULT_LORA, rank: 16, alpha: 32, dropout: 0.05, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
    train: { ...DEFAULT_TRAIN, lr: 2e-4, schedule: 'cosine', warmupSteps: 10, epochs: 2, maxSteps: 0, batchSize: 4, gradAccumSteps: 2, maxSeqLength: 512 },
    evalEvery: 25, checkpointEvery: 25, earlyStopPatience: 0,
  },
  thorough: {
    ...BASE,
    lora: { ...DEFAULT_LORA, rank: 32, alpha: 64, dropout: 0.05, useRslora: true, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    train: { ...DEFAULT_TRAIN, lr: 1e-4, schedule: 'cosine', warmupSteps: 30, epochs: 3, maxSteps: 0, batchSize: 4, gradAccumSteps: 4, maxSeqLength: 1024, weightDecay: 0.01 },
    evalEvery: 50, checkpointEvery: 50, earlyStopPatience: 3,
  },
};

/** Short module names LoRA can target in this model (the suffixes PEFT's target_modules uses), from its descriptor. */
export function targetableModules(config: Pick<ModelConfig, 'architecture'>): string[] {
  return [...descriptorOf(config).loraTargets];
}

/** A preset adapted to a model: target names translated, sequence length capped at the model's context. */
/**
 * Tiny models (hidden size under TINY_HIDDEN, like the built-in one) learn the task format in minutes only
 * with every linear targeted and a learning rate ~10× a real model's (the right rate grows as width shrinks).
 * The quick values are the ones measured on the built-in model (scripts/default-model/measure.ts).
 */
const TINY_HIDDEN = 256;
const TINY: Record<PresetName, Pick<TrainConfig, 'lr' | 'schedule' | 'warmupSteps' | 'maxSteps' | 'batchSize' | 'maxSeqLength'>> = {
  quick: { lr: 3e-3, schedule: 'linear', warmupSteps: 5, maxSteps: 150, batchSize: 8, maxSeqLength: 64 },
  balanced: { lr: 2e-3, schedule: 'cosine', warmupSteps: 10, maxSteps: 300, batchSize: 8, maxSeqLength: 128 },
  thorough: { lr: 1e-3, schedule: 'cosine', warmupSteps: 20, maxSteps: 600, batchSize: 8, maxSeqLength: 128 },
};
const ALL_LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** A preset for this model: module names as its descriptor spells them (presets name Llama's), lengths within its context. */
export function presetFor(name: PresetName, config: Pick<ModelConfig, 'architecture' | 'maxPositions' | 'hiddenSize'>): RunConfig {
  const tiny = config.hiddenSize < TINY_HIDDEN;
  const p = PRESETS[name];
  const wanted = tiny ? ALL_LINEAR : p.lora.targetModules;
  const targets = descriptorOf(config).presetTargets(wanted);
  const train = tiny ? { ...p.train, ...TINY[name] } : p.train;
  return { ...p, lora: { ...p.lora, targetModules: targets }, train: { ...train, maxSeqLength: Math.min(train.maxSeqLength, config.maxPositions - 1) } };
}

interface ConfigProblem {
  /** Dotted path of the knob ('train.lr', 'lora.rank', 'evalEvery'). */
  field: string;
  severity: 'error' | 'warning';
  message: string;
}

interface DataSummary {
  trainExamples: number;
  validationExamples: number;
}


type MemoryConfig = Pick<RunConfig, 'lora' | 'train' | 'preference' | 'grpo'>;

/**
 * GPU memory of a run: training at batch × maxSeqLength tokens with the run's LoRA rank, targets and dropout, with
 * activation checkpointing or without (by default, as activationCheckpointingFor decides with no budget measured);
 * a GRPO run's sampling on top (grpoBytes, counted with the activations).
 */
export function runMemoryEstimate(cfg: MemoryConfig, model: ModelConfig, checkpointing = activationCheckpointingFor(cfg, model, null)): MemoryEstimate {
  // A preference micro-batch of B pairs is 2B rows: the chosen answers, then the rejected ones.
  const rows = (cfg.preference ? 2 : 1) * cfg.train.batchSize;
  const training = estimateMemory(model, {
    training: true, loraRank: cfg.lora.rank, batchTokens: rows * cfg.train.maxSeqLength, lora: cfg.lora, checkpointing,
    weights: cfg.train.weights,
  });
  if (!cfg.grpo) return training;
  const extra = grpoBytes(cfg.grpo, cfg.train, model, training.loraBytes);
  return { ...training, activationBytes: training.activationBytes + extra, trainingBytes: training.trainingBytes + extra };
}

/**
 * What a GRPO run holds beside its training micro-batch (pooled buffers are reused by size, so neither's are the
 * other's): the generation batch, all P × G answers decoded at once (src/engine/sample-groups.ts): their KV cache rows
 * for up to maxSeqLength positions (a prompt and its answer fit it), one decoding step's working set, logits and
 * attention scores for all of them, and one prompt's prefill; with β > 0 against the adapter as the run started, two
 * copies of the trainable table (the reference, and room to swap it in). The measuring forwards (π_old, π_ref) have
 * the micro-batch's shapes and reuse the training step's buffers.
 */
function grpoBytes(grpo: GrpoConfig, train: TrainConfig, model: ModelConfig, loraBytes: number): number {
  const answers = train.batchSize * train.gradAccumSteps, T = train.maxSeqLength;
  const inference = (tokens: number) => estimateMemory(model, { training: false, loraRank: 0, batchTokens: tokens, weights: train.weights });
  const cache = inference(answers * T).kvCacheBytes;
  const step = inference(answers), prefill = inference(T);
  const stepBytes = step.inferenceBytes - step.weightsBytes - step.kvCacheBytes + answers * model.numHeads * T * 4;
  const prefillBytes = prefill.inferenceBytes - prefill.weightsBytes;
  // loraBytes counts the table five times (values, gradients, two moments, decay mask).
  const reference = grpo.beta > 0 && grpo.reference === 'start' ? (2 * loraBytes) / 5 : 0;
  return cache + stepBytes + prefillBytes + reference;
}

/**
 * Whether a run checkpoints activations: 'on' and 'off' as set; 'auto' (or unset) only when the run without it
 * would not fit a measured budget (recomputing every layer's forward costs about a third more time per step, so a
 * run that fits keeps its activations; with no budget measured, it keeps them).
 */
export function activationCheckpointingFor(cfg: MemoryConfig, model: ModelConfig, budget: MemoryBudget | null): boolean {
  const knob = cfg.train.activationCheckpointing ?? 'auto';
  if (knob !== 'auto') return knob === 'on';
  if (!budget || budget.limitedBy === null) return false;
  return runMemoryEstimate(cfg, model, false).trainingBytes > budget.obtainedBytes;
}

/**
 * Every problem with this combination, errors first; a run may start only when no error is listed.
 * With `memory` (the model and a budget measured by Gpu.probeMemory), a run that would not fit is an error
 * (field 'memory') naming what it needs and what the GPU gave; one larger than the probe asked about is a
 * warning, since the start of the run measures again.
 */
export function validateRunConfig(
  cfg: RunConfig, model: ModelConfig | null, data: DataSummary,
  memory?: { model: ModelConfig; budget: MemoryBudget },
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const err = (field: string, message: string) => out.push({ field, severity: 'error', message });
  const warn = (field: string, message: string) => out.push({ field, severity: 'warning', message });
  const { lora, train } = cfg;
  const posInt = (v: number) => Number.isInteger(v) && v >= 1;

  if (!posInt(lora.rank)) err('lora.rank', 'LoRA rank must be a whole number of at least 1.');
  if (!(lora.alpha > 0)) err('lora.alpha', 'LoRA alpha must be greater than 0.');
  if (!(lora.dropout >= 0 && lora.dropout < 1)) err('lora.dropout', 'LoRA dropout must be at least 0 and below 1.');
  if (lora.targetModules.length === 0) err('lora.targetModules', 'Pick at least one target module: with none, nothing would be trained.');
  if (model && out.length === 0) {
    // The one LoRA rule (src/io/validate.ts) the command line and adapter imports meet too: targets and rank against this model's layers.
    const problem = loraProblem(lora, loraLinears(model));
    if (problem) err('lora.targetModules', `LoRA settings: ${problem}.`);
  }
  if (!(train.lr > 0)) err('train.lr', 'Learning rate must be greater than 0.');
  else if (train.lr > 1e-2) warn('train.lr', `A learning rate of ${train.lr} is unusually high for LoRA (typical: 1e-4 to 5e-4); the loss may diverge.`);
  if (!posInt(train.batchSize)) err('train.batchSize', 'Batch size must be a whole number of at least 1.');
  if (!posInt(train.gradAccumSteps)) err('train.gradAccumSteps', 'Gradient accumulation must be a whole number of at least 1.');
  if (!(Number.isInteger(train.maxSteps) && train.maxSteps >= 0)) err('train.maxSteps', 'Max steps must be a whole number (0 = use epochs).');
  if (train.maxSteps === 0 && !(Number.isInteger(train.epochs) && train.epochs >= 1)) err('train.epochs', 'With max steps 0, epochs must be a whole number of at least 1.');
  if (!(Number.isInteger(train.maxSeqLength) && train.maxSeqLength >= 2)) err('train.maxSeqLength', 'Max sequence length must be a whole number of at least 2.');
  else if (model && train.maxSeqLength + 1 > model.maxPositions) {
    err('train.maxSeqLength', `Max sequence length ${train.maxSeqLength} exceeds the model's context of ${model.maxPositions} positions (use at most ${model.maxPositions - 1}).`);
  }
  if (!(train.weightDecay >= 0)) err('train.weightDecay', 'Weight decay must be 0 or more.');
  if (!(train.maxGradNorm >= 0)) err('train.maxGradNorm', 'Gradient clipping must be 0 (off) or more.');
  if (!(Number.isInteger(train.warmupSteps) && train.warmupSteps >= 0)) err('train.warmupSteps', 'Warm-up must be a whole number of steps, 0 or more.');
  if (!Number.isInteger(train.seed)) err('train.seed', 'Seed must be a whole number.');
  if (!['auto', 'on', 'off', undefined].includes(train.activationCheckpointing)) err('train.activationCheckpointing', 'Activation checkpointing must be auto, on or off.');
  for (const k of ['evalEvery', 'checkpointEvery', 'earlyStopPatience'] as const) {
    if (!(Number.isInteger(cfg[k]) && cfg[k] >= 0)) err(k, `${k} must be a whole number, 0 or more.`);
  }

  const grpo = cfg.grpo && grpoProblem(cfg.grpo, train) === null ? cfg.grpo : null;
  if (cfg.grpo && !grpo) err('grpo', `GRPO: ${grpoProblem(cfg.grpo, train)}.`);

  if (data.trainExamples === 0) err('data', 'The dataset has no training examples (unflagged rows in the train split).');
  const steps = grpo ? grpoSteps(grpo, train, data.trainExamples) : totalSteps(train, data.trainExamples);
  if (data.trainExamples > 0 && train.warmupSteps >= steps && train.warmupSteps > 0) {
    err('train.warmupSteps', `Warm-up (${train.warmupSteps} steps) is as long as the whole run (${steps} steps): the learning rate would never reach its peak.`);
  }
  if (grpo && data.trainExamples > 0 && promptsPerGeneration(grpo, train) > data.trainExamples) {
    warn('train.batchSize', `One generation batch asks ${promptsPerGeneration(grpo, train)} prompts (${train.batchSize * train.gradAccumSteps} answers, ${grpo.numGenerations} a prompt) but there are ${data.trainExamples}: prompts repeat within it.`);
  } else if (!grpo && data.trainExamples > 0 && !cfg.packing && train.batchSize * train.gradAccumSteps > data.trainExamples) {
    warn('train.batchSize', `One optimizer step uses ${train.batchSize * train.gradAccumSteps} examples but there are ${data.trainExamples}: examples repeat within a step.`);
  }
  if (cfg.evalEvery > 0 && data.validationExamples === 0) err('evalEvery', 'Evaluation needs a validation split: split the dataset first, or set "eval every" to 0.');
  if (cfg.earlyStopPatience > 0 && cfg.evalEvery === 0) err('earlyStopPatience', 'Early stopping watches the validation loss: set "eval every" above 0, or turn early stopping off.');
  if (cfg.packing && train.batchSize > 1 && data.trainExamples > 0 && data.trainExamples < train.batchSize) {
    warn('packing', 'With packing, short datasets may fill fewer sequences than one batch; examples then repeat.');
  }
  if (memory && posInt(train.batchSize) && Number.isInteger(train.maxSeqLength) && posInt(lora.rank)) {
    const estimate = runMemoryEstimate(cfg, memory.model, activationCheckpointingFor(cfg, memory.model, memory.budget));
    const verdict = memoryVerdict('training', estimate, memory.budget);
    if (verdict) err('memory', verdict);
    else if (memory.budget.limitedBy === null && estimate.trainingBytes > memory.budget.requestedBytes) {
      warn('memory', `This run needs about ${mib(estimate.trainingBytes)} of GPU memory; only ${mib(memory.budget.requestedBytes)} was checked so far. Starting the run checks the rest.`);
    }
  }
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

interface RunEstimate {
  /** GPU bytes for training at batch × maxSeqLength tokens (src/model/memory-estimate.ts estimateMemory; checkpointing as 'on'/'off' say, else without). */
  memoryBytes: number;
  stepsPerEpoch: number;
  totalSteps: number;
  /** Token positions processed per optimizer step. */
  tokensPerStep: number;
  /** Seconds per epoch at the given throughput (a rough figure before the run; measured once it runs). */
  secondsPerEpoch: number;
  flopsPerStep: number;
}

/**
 * Memory and time before a run. Time uses ~6·P·tokens FLOPs for the base weights' forward and backward
 * (LoRA still back-propagates through every frozen matmul; the frozen weight gradient itself is skipped, so
 * ~4·P) and the adapter's sustained FLOP/s, which the caller passes (measured, or a guess by adapter kind).
 * A GRPO run (data.meanTokens: its prompts', each answer counted at maxNewTokens, an upper bound) adds, per
 * generation batch spread over its μ steps, the forwards of sampling (2·P per token of every answer's row) and of
 * π_old (μ > 1) and π_ref (β > 0), and per step the forward that measures π when either is on.
 */
export function estimateRun(cfg: RunConfig, model: ModelConfig, data: DataSummary & { meanTokens: number }, flopsPerSecond: number): RunEstimate {
  const { train, grpo } = cfg;
  const meanTokens = grpo ? data.meanTokens + grpo.maxNewTokens : data.meanTokens;
  const seqTokens = cfg.packing ? train.maxSeqLength : Math.min(train.maxSeqLength, Math.max(1, Math.round(meanTokens)));
  const batchTokens = train.batchSize * seqTokens;
  const memoryBytes = runMemoryEstimate(cfg, model).trainingBytes;
  const examplesPerEpoch = cfg.packing ? Math.ceil((data.trainExamples * data.meanTokens) / (train.maxSeqLength + 1)) : data.trainExamples;
  const stepsPerEpoch = grpo ? Math.max(1, grpoSteps(grpo, { ...train, maxSteps: 0, epochs: 1 }, data.trainExamples))
    : Math.max(1, Math.ceil(examplesPerEpoch / Math.max(1, train.batchSize * train.gradAccumSteps)));
  const params = parameterCount(model, 'matmuls');
  const tokensPerStep = batchTokens * train.gradAccumSteps;
  let flopsPerStep = 4 * params * tokensPerStep;
  if (grpo) {
    const forward = 2 * params * tokensPerStep;
    const perGeneration = forward * (1 + (grpo.numIterations > 1 ? 1 : 0) + (grpo.beta > 0 ? 1 : 0));
    flopsPerStep += perGeneration / grpo.numIterations + (grpo.numIterations > 1 || grpo.beta > 0 ? forward : 0);
  }
  return {
    memoryBytes, stepsPerEpoch, totalSteps: train.maxSteps > 0 ? train.maxSteps : stepsPerEpoch * train.epochs,
    tokensPerStep, flopsPerStep, secondsPerEpoch: (stepsPerEpoch * flopsPerStep) / Math.max(1, flopsPerSecond),
  };
}

/**
 * Sequence packing: examples concatenated in order (with their loss masks) and cut into sequences of
 * `maxSeqLength + 1` tokens, so every batch row is full. The last, shorter sequence is kept. Deterministic.
 */
export function packExamples(examples: Example[], maxSeqLength: number): Example[] {
  const L = maxSeqLength + 1;
  const out: Example[] = [];
  let ids: number[] = [], mask: number[] = [], starts: number[] = [];
  for (const e of examples) {
    let start = ids.length; // the document starts here in the current sequence
    for (let i = 0; i < e.inputIds.length; i++) {
      ids.push(e.inputIds[i]);
      mask.push(e.lossMask[i]);
      starts.push(start);
      if (ids.length === L) { out.push({ inputIds: ids, lossMask: mask, docStart: starts }); ids = []; mask = []; starts = []; start = 0; }
    }
  }
  if (ids.length > 1) out.push({ inputIds: ids, lossMask: mask, docStart: starts });
  return out;
}
