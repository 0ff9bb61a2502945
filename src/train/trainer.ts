// The training loop: seeded data order, gradient accumulation, LR schedule, global grad-norm clipping and
// AdamW, all on the GPU; the only readback per optimizer step is the per-token losses (and the grad norm)
// for metrics. Deterministic: the same model, data, config and seed give the same losses bit for bit.
//
// Loss normalisation: the mean over every counted target token of the whole optimizer step (all its
// micro-batches), as transformers does with num_items_in_batch, so gradAccumSteps × batchSize behaves like
// one big batch.
import type { Tensor } from '../gpu/runtime';
import { adamwUpdate, gradNorm } from '../ops/optim';
import type { WeightStorage } from '../ops/weight-storage';
import type { Transformer } from '../model/transformer';
import { DataOrder, totalSteps, type TrainerState } from './data-order';
import { makeBatch, type Batch, type Example, type Examples } from './batch';
import { learningRate, type LrSchedule } from './schedule';

export interface TrainConfig {
  lr: number;
  schedule: LrSchedule;
  warmupSteps: number;
  /** Optimizer steps to run; when 0, derived from epochs. */
  maxSteps: number;
  epochs: number;
  batchSize: number;
  gradAccumSteps: number;
  maxSeqLength: number;
  weightDecay: number;
  maxGradNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
  seed: number;
  /** Shuffle the data each epoch (seeded). */
  shuffle: boolean;
  /**
   * Keep only each layer's input and recompute the layer in backward (Transformer.checkpointActivations): 'on',
   * 'off', or 'auto' (absent too: runs stored before the knob) when the run would not fit the GPU without it.
   * Resolved by the run's caller (presets.ts activationCheckpointingFor), not by the Trainer.
   */
  activationCheckpointing?: 'auto' | 'on' | 'off';
  /**
   * How the frozen base is kept on the GPU (src/ops/weight-storage.ts); absent: as the checkpoint ships it (the memory
   * estimate then counts f32, on the high side). Applied where the model is loaded, not by the Trainer.
   */
  weights?: WeightStorage;
}

export const DEFAULT_TRAIN: TrainConfig = {
  lr: 2e-4, schedule: 'linear', warmupSteps: 0, maxSteps: 0, epochs: 1,
  batchSize: 4, gradAccumSteps: 1, maxSeqLength: 512,
  weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, seed: 42, shuffle: true,
};

export interface StepMetrics {
  step: number;        // optimizer steps done (1-based after the first)
  epoch: number;
  loss: number;        // mean masked loss of this step
  lr: number;
  gradNorm: number;    // before clipping
  tokens: number;      // counted target tokens in this step
  seqTokens: number;   // all positions processed (B·T summed)
}

export type { TrainerState } from './data-order';

/** Data none of whose examples has a target token: a run would "succeed" with a loss of 0 over 0 tokens. */
export class NothingToLearn extends Error {}

export class Trainer {
  readonly totalSteps: number;
  private readonly order: DataOrder;
  private readonly norm: Tensor;

  constructor(readonly model: Transformer, readonly data: Examples, readonly cfg: TrainConfig, padId = 0) {
    if (!model.params.flat) throw new Error('nothing to train: the model has no trainable parameters');
    if (data.length === 0) throw new Error('no training examples');
    for (const key of ['batchSize', 'gradAccumSteps', 'maxSeqLength'] as const) {
      if (!Number.isInteger(cfg[key]) || cfg[key] < 1) throw new Error(`nothing to train: ${key} must be a whole number ≥ 1 (got ${cfg[key]})`);
    }
    if (!someTarget(data, cfg.maxSeqLength)) {
      throw new NothingToLearn(`nothing to learn: none of the ${data.length} examples has a target token within the first ${cfg.maxSeqLength} positions (no assistant turns, or all cut off)`);
    }
    this.padId = padId;
    this.totalSteps = totalSteps(cfg, data.length);
    if (!(this.totalSteps >= 1)) throw new Error(`nothing to train: ${cfg.epochs} epochs of ${data.length} examples make no optimizer step`);
    this.order = new DataOrder(data.length, cfg);
    this.norm = model.gpu.tensor([1], 'gradNorm');
  }

  private readonly padId: number;

  /** Step, epoch and data order (data-order.ts), as checkpoints keep them. */
  get state(): TrainerState {
    return this.order.state;
  }

  get done(): boolean {
    return this.state.step >= this.totalSteps;
  }

  /** The next micro-batch in data order. */
  private nextBatch(): Batch {
    return makeBatch(this.order.next(this.cfg.batchSize).map((i) => this.data.at(i)!), this.cfg.maxSeqLength, this.padId);
  }

  /**
   * Compiles the pipelines the next step uses, in parallel, before it runs (Gpu.recordPipelines: a dry run of
   * that step, which leaves the parameters, the optimizer state and this trainer's data order and RNG as they
   * were). Optional: without it the first step compiles them one by one as it dispatches. Resolves with how many
   * pipelines were compiled.
   */
  async prepare(): Promise<number> {
    const state = this.order.save();
    const specs = await this.model.gpu.recordPipelines(() => this.step());
    this.order.restore(state);
    return this.model.gpu.preparePipelines(specs);
  }

  /** One optimizer step: gradAccumSteps micro-batches, clip, AdamW. */
  async step(): Promise<StepMetrics> {
    const { model, cfg } = this;
    const { gpu } = model;
    const flat = model.params.flat!;
    const batches = Array.from({ length: cfg.gradAccumSteps }, () => this.nextBatch());
    const tokens = batches.reduce((s, b) => s + b.tokens, 0);
    const gradScale = tokens > 0 ? 1 / tokens : 0;
    const epoch = this.state.epoch;

    gpu.fill(flat.grads, 0);
    const losses: { t: Tensor; n: number }[] = [];
    batches.forEach((b, i) => {
      const seed = (cfg.seed * 1_000_003 + this.state.step * 131 + i) >>> 0;
      losses.push({ t: model.trainStep(b, gradScale, seed), n: b.B * b.T });
    });
    const lr = optimizerUpdate(model, this.norm, cfg, this.state.step, this.totalSteps);
    this.order.stepped();

    let lossSum = 0;
    for (const { t, n } of losses) {
      const v = await gpu.read(t, n);
      for (let i = 0; i < n; i++) lossSum += v[i];
      gpu.release(t);
    }
    const norm = (await gpu.read(this.norm))[0];
    assertFiniteStep(this.state.step, lossSum / Math.max(tokens, 1), norm);
    return {
      step: this.state.step, epoch, loss: tokens > 0 ? lossSum / tokens : 0, lr, gradNorm: norm, tokens,
      seqTokens: batches.reduce((s, b) => s + b.B * b.T, 0),
    };
  }

  /** Restores the data order and RNG for an exact resume (params and moments restored via the ParamTable). */
  restore(state: TrainerState): void {
    this.order.restore(state);
  }
}

/**
 * Every trainer's guard after its update: a step that went non-finite has already poisoned the weights, so the run
 * stops here, before anyone saves them.
 */
export function assertFiniteStep(step: number, loss: number, gradNorm: number): void {
  if (Number.isFinite(loss) && Number.isFinite(gradNorm)) return;
  throw new Error(`training diverged at step ${step} (loss ${loss}, gradient norm ${gradNorm}): stopped before this step's weights were saved; lower the learning rate, or check the model's weights`);
}

/** Target tokens an example gives a batch row of maxSeqLength positions (token i > 0 is predicted at position i - 1). */
export function targetTokens(e: Example, maxSeqLength: number): number {
  let n = 0;
  for (let i = 1; i < Math.min(e.lossMask.length, maxSeqLength + 1); i++) n += e.lossMask[i];
  return n;
}

/** Whether any example has a target token; looks no further than the first that has one (examples made on first use). */
export function someTarget(data: Examples, maxSeqLength: number): boolean {
  for (let i = 0; i < data.length; i++) if (targetTokens(data.at(i)!, maxSeqLength) > 0) return true;
  return false;
}

/**
 * The update every trainer applies once its micro-batches have accumulated the step's gradients: global grad
 * norm (into `norm`, read back by the caller for metrics), the schedule's rate for 0-based step `step`, clipping
 * and AdamW. Returns the rate.
 */
export function optimizerUpdate(model: Transformer, norm: Tensor, cfg: TrainConfig, step: number, totalSteps: number): number {
  const { gpu } = model;
  const flat = model.params.flat!;
  // The flat table may be over the binding limit (full fine-tuning of a larger model): the optimizer runs in windows.
  const { maxBindingBytes } = model.params.limits;
  gradNorm(gpu, norm, flat.grads, flat.size, { maxBindingBytes });
  const lr = learningRate({ schedule: cfg.schedule, lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps }, step);
  adamwUpdate(gpu, flat.params, flat.grads, flat.m, flat.v, norm, flat.size, {
    lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay,
    step: step + 1, maxGradNorm: cfg.maxGradNorm,
  }, flat.decayMask, maxBindingBytes);
  return lr;
}

/** Mean masked loss over a set of examples (validation), no gradients. */
export async function evaluateLoss(model: Transformer, data: Examples, batchSize: number, maxSeqLength: number, padId = 0): Promise<{ loss: number; tokens: number }> {
  let sum = 0, tokens = 0;
  for (let i = 0; i < data.length; i += batchSize) {
    const b = makeBatch(Array.from({ length: Math.min(batchSize, data.length - i) }, (_, k) => data.at(i + k)!), maxSeqLength, padId);
    const t = model.evalLosses(b);
    const v = await model.gpu.read(t, b.B * b.T);
    model.gpu.release(t);
    for (let j = 0; j < v.length; j++) sum += v[j];
    tokens += b.tokens;
  }
  return { loss: tokens > 0 ? sum / tokens : 0, tokens };
}
