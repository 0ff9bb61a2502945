// GRPO (Shao et al., DeepSeekMath), as TRL's GRPOTrainer computes it (trl 1.13, trainer/grpo_trainer.py), on the same
// engine as SFT and DPO: a LoRA adapter, the cross-entropy kernel with per-token weights, the SFT optimizer update.
//
// A generation batch: P prompts (in seeded data order) × G sampled answers each = batchSize × gradAccumSteps rows
// (TrainConfig.batchSize counts answers per micro-batch, TRL's per_device_train_batch_size). Each answer is scored by
// the run's rewards (rewards.ts); the weighted sum r gives advantages within each prompt's group (groupAdvantages:
// A = r - mean_group(r), divided by std + 1e-4 for scaleRewards 'group' or 'batch'); an unscorable answer (a reward
// failed on it) is left out of the statistics and gets A = 0, as TRL treats an answer no reward could score.
// Then μ = numIterations optimizer steps on that same batch, each over its gradAccumSteps micro-batches.
//
// Per completion token (π = log-prob at the sampling temperature, TRL divides the logits by it too; π_old: at
// generation time; π_ref: the reference), r = exp(π - π_old):
//   ℓ = -min(r·A, clip(r, 1 - ε_low, 1 + ε_high)·A) + β·k·r,   k = exp(π_ref - π) - (π_ref - π) - 1
// (the k·r: TRL's use_bias_correction_kl, on by default). Aggregation by loss type, over the optimizer step's answers:
//   grpo:    mean over answers of (sum of ℓ over its tokens / its token count)  (length bias: favours short right answers)
//   dr_grpo: sum of ℓ / (answers × maxNewTokens)                                (Dr. GRPO: a constant in place of lengths)
//   dapo:    sum of ℓ / tokens of the generation batch                           (DAPO; TRL's default, and ours)
// Default 'dapo', as TRL 1.13: no length bias (every token weighs the same, whatever its answer's length), and unlike
// dr_grpo its scale does not change with maxNewTokens, so the learning rate means the same at any answer budget.
//
// Why no new kernel (as in preference.ts): the loss depends on the policy only through each token's π, so the
// cross-entropy kernel, which scales each token's gradient of -π by its lossMask value, computes the exact gradient
// with lossMask_t = -dL/dπ_t. The terms: dℓ/dπ = -A·r where the unclipped term is the minimum (0 where the clip
// holds), plus β·r·(π - π_ref). With μ = 1 and β = 0 the ratio is 1 (π_old is π itself, TRL's shortcut) and
// dL/dπ = -A·c: no measuring forward at all. Otherwise a forward without gradients (or, with LoRA dropout, the
// training forward with the micro-batch's dropout seed and gradScale 0, which the weighted backward repeats) gives π.
// π_old (μ > 1) and π_ref (β > 0) are taken at generation time for the whole batch, without dropout. The reference is
// the policy as the run started ('start', TRL's: a fresh adapter is the base model; an adapter to continue from is
// its own reference; kept as a copy of the trainable table on the GPU) or the adapter switched off ('base').
//
// Sampling is the host's (SampleGroups), so batched GPU generation swaps in without touching this file.
// Resumable: the data order and RNG (TrainerState), the generation batch in use (answers, rewards, advantages,
// π_old, π_ref, iterations done) and the reference copy go into the run's checkpoint (checkpoint.ts methodState).
// Not here: scoring (rewards.ts), sampling (src/engine), the optimizer (trainer.ts), the run loop (src/engine/session.ts).
import type { ChatMessage } from '../data/types';
import type { Tensor } from '../gpu/runtime';
import type { Transformer } from '../model/transformer';
import type { ChatTemplate } from '../tokenize/chat';
import type { Tokenizer } from '../tokenize/tokenizer';
import { makeBatch, type Batch, type Example } from './batch';
import { DataOrder } from './data-order';
import type { MethodState } from './checkpoint';
import { validateRewards, type RewardSample, type RewardScorer, type RewardSpec } from './rewards';
import { assertFiniteStep, optimizerUpdate, type StepMetrics, type TrainConfig, type TrainerState } from './trainer';

export type GrpoLossType = 'grpo' | 'dr_grpo' | 'dapo';
export type RewardScaling = 'group' | 'batch' | 'none';

export interface GrpoConfig {
  /** G: answers sampled per prompt (TRL num_generations). */
  numGenerations: number;
  /** Tokens an answer may have (TRL max_completion_length; dr_grpo's constant). */
  maxNewTokens: number;
  /** Sampling temperature, also applied to the logits of every log-prob (TRL's). Must be > 0. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** β, the KL term's weight (0: no reference, TRL's default). */
  beta: number;
  /** The KL reference: the policy as the run started (TRL's), or the adapter switched off. */
  reference: 'start' | 'base';
  lossType: GrpoLossType;
  /** ε_low and ε_high of the clipped ratio (TRL epsilon 0.2; epsilon_high defaults to epsilon). */
  epsilon: number;
  epsilonHigh: number;
  scaleRewards: RewardScaling;
  /** μ: optimizer steps per generation batch (TRL num_iterations). */
  numIterations: number;
  rewards: RewardSpec[];
  /** Time limit of one reward function call, in milliseconds. */
  rewardTimeoutMs: number;
}

/** TRL 1.13's GRPOConfig defaults (G 8, 256 tokens, temperature 1, β 0, dapo, ε 0.2, 'group', μ 1). */
export const DEFAULT_GRPO: GrpoConfig = {
  numGenerations: 8, maxNewTokens: 256, temperature: 1, topK: 0, topP: 1, beta: 0, reference: 'start', lossType: 'dapo',
  epsilon: 0.2, epsilonHigh: 0.2, scaleRewards: 'group', numIterations: 1, rewards: [{ kind: 'ends-cleanly', weight: 1 }], rewardTimeoutMs: 5000,
};

/** The first problem with a GRPO config and the trainer's sizes, or null. */
export function grpoProblem(g: GrpoConfig, train: Pick<TrainConfig, 'batchSize' | 'gradAccumSteps'>): string | null {
  const whole = (x: number, min: number) => Number.isInteger(x) && x >= min;
  if (!whole(g.numGenerations, 2)) return `numGenerations must be a whole number >= 2 (the group's answers are compared with each other), not ${g.numGenerations}`;
  const rows = train.batchSize * train.gradAccumSteps;
  if (rows % g.numGenerations !== 0) return `batch size × gradient accumulation (${rows} answers a step) must be a multiple of numGenerations (${g.numGenerations})`;
  if (!whole(g.maxNewTokens, 1)) return `maxNewTokens must be a whole number >= 1, not ${g.maxNewTokens}`;
  if (!(g.temperature > 0)) return `temperature must be > 0 (greedy answers to one prompt are all the same), not ${g.temperature}`;
  if (!whole(g.topK, 0)) return `topK must be a whole number >= 0, not ${g.topK}`;
  if (!(g.topP > 0 && g.topP <= 1)) return `topP must be in (0, 1], not ${g.topP}`;
  if (!(g.beta >= 0)) return `beta must be >= 0, not ${g.beta}`;
  if (!(g.epsilon > 0 && g.epsilon < 1)) return `epsilon must be in (0, 1), not ${g.epsilon}`;
  if (!(g.epsilonHigh > 0)) return `epsilonHigh must be > 0, not ${g.epsilonHigh}`;
  if (!whole(g.numIterations, 1)) return `numIterations must be a whole number >= 1, not ${g.numIterations}`;
  if (!['grpo', 'dr_grpo', 'dapo'].includes(g.lossType)) return `loss type must be grpo, dr_grpo or dapo, not ${g.lossType}`;
  if (!['group', 'batch', 'none'].includes(g.scaleRewards)) return `scaleRewards must be group, batch or none, not ${g.scaleRewards}`;
  if (!['start', 'base'].includes(g.reference)) return `reference must be start or base, not ${g.reference}`;
  if (!(g.rewardTimeoutMs > 0)) return `rewardTimeoutMs must be > 0, not ${g.rewardTimeoutMs}`;
  try {
    validateRewards(g.rewards);
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/** Prompts of one generation batch: its answers (batch size × gradient accumulation) over G. */
export function promptsPerGeneration(g: Pick<GrpoConfig, 'numGenerations'>, train: Pick<TrainConfig, 'batchSize' | 'gradAccumSteps'>): number {
  return (train.batchSize * train.gradAccumSteps) / g.numGenerations;
}

/** Optimizer steps of a GRPO run on `prompts` prompts: maxSteps, or μ per generation batch over every epoch's prompts. */
export function grpoSteps(g: Pick<GrpoConfig, 'numGenerations' | 'numIterations'>, train: Pick<TrainConfig, 'batchSize' | 'gradAccumSteps' | 'maxSteps' | 'epochs'>, prompts: number): number {
  if (train.maxSteps > 0) return train.maxSteps;
  return Math.ceil(prompts / promptsPerGeneration(g, train)) * g.numIterations * train.epochs;
}

// ---- prompts -------------------------------------------------------------------------------------

/** A prompt as the trainer takes it: the turns to answer, the last user turn's text, the reference, the tokens. */
export interface GrpoPrompt {
  messages: ChatMessage[];
  prompt: string;
  reference: string | null;
  /** The turns through the chat template with the generation header. */
  ids: number[];
}

/**
 * A Data-step record as a prompt: an assistant turn at the end is the reference answer and not part of the prompt;
 * the prompt must then end with a user turn.
 */
export function grpoPromptOf(messages: readonly ChatMessage[]): Omit<GrpoPrompt, 'ids'> {
  const last = messages.at(-1);
  const reference = last?.role === 'assistant' ? last.content : null;
  const turns = reference === null ? [...messages] : messages.slice(0, -1);
  if (turns.at(-1)?.role !== 'user') throw new Error('a GRPO prompt must end with a user turn (an assistant turn after it is the reference answer)');
  return { messages: turns, prompt: turns.at(-1)!.content, reference };
}

/** A record's prompt through the template; an error when the prompt and maxNewTokens do not fit maxSeqLength. */
export function tokenizeGrpoPrompt(tok: Tokenizer, tpl: ChatTemplate, messages: readonly ChatMessage[], maxNewTokens: number, maxSeqLength: number): GrpoPrompt {
  const p = grpoPromptOf(messages);
  const ids = tok.encode(tpl.render(p.messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
  // A row of prompt + answer is L tokens, L - 1 positions (batch.ts); every answer must fit whole.
  if (ids.length + maxNewTokens - 1 > maxSeqLength) throw new Error(`the prompt's ${ids.length} tokens and ${maxNewTokens} new tokens do not fit the sequence length ${maxSeqLength}`);
  return { ...p, ids };
}

// ---- sampling (the host's) ---------------------------------------------------------------------------

export interface SampledAnswer {
  /** The answer's tokens, with the stop token it ended on (that token is trained on too). */
  ids: number[];
  /** Its text, without the stop token. */
  text: string;
  finishReason: 'stop-token' | 'length';
}

export interface SampleOptions { maxNewTokens: number; temperature: number; topK: number; topP: number; seed: number }

/** G answers per prompt (prompt-major), deterministic for a seed. */
export type SampleGroups = (prompts: number[][], G: number, opts: SampleOptions) => Promise<SampledAnswer[][]>;

// ---- advantages (float64, per generation batch) ---------------------------------------------------

const nanMean = (xs: readonly number[]): number => {
  const v = xs.filter((x) => !Number.isNaN(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
};

/** TRL's nanstd: Bessel-corrected over the non-NaN values; NaN with fewer than two. */
const nanStd = (xs: readonly number[]): number => {
  const v = xs.filter((x) => !Number.isNaN(x));
  if (v.length < 2) return NaN;
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};

export interface Advantages {
  /** Per answer: the weighted sum of its rewards (NaN: unscorable). */
  rewards: number[];
  advantages: number[];
  /** Per answer: the standard deviation its advantage was divided by (the group's or the batch's). */
  std: number[];
}

/**
 * TRL's sum_then_normalize: r = Σ w_k·r_k (NaN terms skipped; NaN when every term is), per group of G consecutive
 * answers A = r - nanmean(group), divided by (nanstd(group or batch) + 1e-4) unless scaling is 'none'; NaN → 0.
 */
export function groupAdvantages(values: readonly number[][], weights: readonly number[], G: number, scaling: RewardScaling): Advantages {
  const rewards = values.map((row) => (row.every(Number.isNaN) ? NaN : row.reduce((s, v, k) => s + (Number.isNaN(v) ? 0 : v * weights[k]), 0)));
  const batchStd = nanStd(rewards);
  const advantages: number[] = [], std: number[] = [];
  for (let g0 = 0; g0 < rewards.length; g0 += G) {
    const group = rewards.slice(g0, g0 + G);
    const mean = nanMean(group), s = scaling === 'batch' ? batchStd : nanStd(group);
    for (const r of group) {
      const a = scaling === 'none' ? r - mean : (r - mean) / (s + 1e-4);
      advantages.push(Number.isNaN(a) ? 0 : a);
      std.push(s);
    }
  }
  return { rewards, advantages, std };
}

// ---- per-token terms ------------------------------------------------------------------------------

/** One token's loss ℓ and dℓ/dπ (see the header), and what the metrics count. */
export function tokenTerms(pi: number, old: number, ref: number | null, A: number, g: Pick<GrpoConfig, 'epsilon' | 'epsilonHigh' | 'beta'>): { loss: number; dpi: number; kl: number; low: boolean; high: boolean } {
  const r = Math.exp(pi - old);
  const clipped = Math.min(Math.max(r, 1 - g.epsilon), 1 + g.epsilonHigh);
  const unclippedTerm = r * A, clippedTerm = clipped * A;
  // torch.min: ties split the gradient, and inside the band both halves are r's (clamp passes it): -A·r either way.
  const dpi = unclippedTerm <= clippedTerm ? -A * r : 0;
  let loss = -Math.min(unclippedTerm, clippedTerm), dkl = 0, kl = 0;
  if (ref !== null && g.beta !== 0) {
    kl = (Math.exp(ref - pi) - (ref - pi) - 1) * r;
    loss += g.beta * kl;
    dkl = g.beta * r * (pi - ref);                     // d/dπ [k·r] = r·(1 - e^(π_ref-π)) + k·r = r·(π - π_ref)
  }
  return { loss, dpi: dpi + dkl, kl, low: r < 1 - g.epsilon && A < 0, high: r > 1 + g.epsilonHigh && A > 0 };
}

// ---- trainer -----------------------------------------------------------------------------------------

/** One sampled answer of a generation batch with what it was scored. */
export interface GrpoSample {
  /** Index of its prompt in the run's data. */
  prompt: number;
  ids: number[];
  text: string;
  finishReason: 'stop-token' | 'length';
  /** Each reward's value (NaN when unscorable). */
  rewards: number[];
  reward: number;
  advantage: number;
  error: string | null;
}

/** The generation batch the next steps train on; what a checkpoint keeps of GRPO besides the reference copy. */
export interface GenerationBatch {
  /** Optimizer steps already taken on it (0 … μ - 1). */
  iteration: number;
  samples: GrpoSample[];
  /** π_old per answer token (μ > 1), π_ref (β > 0): float32 values, as the forward gave them. */
  old: number[][] | null;
  ref: number[][] | null;
}

/** What a GRPO step reports beyond the loss (a run's metric points keep it). */
export interface GrpoPoint {
  /** Mean weighted reward of the generation batch's scorable answers, and its standard deviation. */
  reward: number;
  rewardStd: number;
  /** Per reward (in the config's order): mean and standard deviation over the scorable answers. */
  rewardMeans: number[];
  rewardStds: number[];
  /** Share of groups whose rewards were all equal (no signal). */
  fracZeroStd: number;
  /** Mean KL term per answer token (β > 0), else null. */
  kl: number | null;
  /** Share of answer tokens whose ratio the clip held (TRL clip_ratio/region_mean). */
  clipRatio: number;
  /** Mean answer length in tokens, and the share that hit maxNewTokens. */
  completionLength: number;
  truncated: number;
  /** Unscorable answers in the generation batch, and the first few errors ("answer 3: reward f: …"). */
  unscorable: number;
  errors: string[];
}

export interface GrpoMetrics extends StepMetrics, GrpoPoint {}

/**
 * A prompt of a generation batch as a person reads it (the run's latest-groups table): its text, its reference answer
 * (null without one) and its G answers, each with its length in tokens and what it was scored.
 */
export interface GrpoGroup {
  prompt: string;
  reference: string | null;
  answers: (Pick<GrpoSample, 'text' | 'finishReason' | 'rewards' | 'reward' | 'advantage' | 'error'> & { tokens: number })[];
}

const ERRORS_KEPT = 5;

export class GrpoTrainer {
  readonly totalSteps: number;
  /** The generation batch in use (null: the next step samples one). */
  generation: GenerationBatch | null = null;
  private readonly order: DataOrder;
  private readonly norm: Tensor;
  /** The trainable table as the run started ('start' reference with β > 0), and room to swap it in. */
  private start: Tensor | null = null;
  private startReady = false;
  private swap: Tensor | null = null;
  private readonly promptsPerGeneration: number;
  /** The generation batch the last step sampled, or null when it trained on an earlier one (μ > 1). */
  private sampled: GenerationBatch | null = null;

  constructor(
    readonly model: Transformer,
    readonly data: GrpoPrompt[],
    readonly cfg: TrainConfig,
    readonly grpo: GrpoConfig,
    private readonly sample: SampleGroups,
    private readonly rewards: Pick<RewardScorer, 'names' | 'weights' | 'score'>,
    private readonly padId = 0,
  ) {
    if (!model.params.flat) throw new Error('nothing to train: the model has no trainable parameters');
    if (model.mode.kind !== 'lora') throw new Error('GRPO trains a LoRA adapter');
    if (data.length === 0) throw new Error('no prompts');
    const problem = grpoProblem(grpo, cfg);
    if (problem) throw new Error(problem);
    this.promptsPerGeneration = promptsPerGeneration(grpo, cfg);
    this.totalSteps = grpoSteps(grpo, cfg, data.length);
    this.order = new DataOrder(data.length, cfg);
    this.norm = model.gpu.tensor([1], 'gradNorm');
    if (grpo.beta > 0 && grpo.reference === 'start') {
      const size = model.params.flat.size;
      this.start = model.gpu.zeros([size], 'grpo.reference.flat');
      this.swap = model.gpu.zeros([size], 'grpo.swap.flat');
    }
  }

  get done(): boolean {
    return this.state.step >= this.totalSteps;
  }

  /** Where the run stands in its prompts (checkpointed). */
  get state(): TrainerState {
    return this.order.state;
  }

  /** Before the first step: the reference copy ('start', β > 0) of the adapter as the run starts. */
  async prepare(): Promise<void> {
    if (!this.start || this.startReady) return;
    if (this.state.step > 0) throw new Error('the reference is the adapter as the run started: a resumed GRPO run needs it from its checkpoint');
    this.model.gpu.copy(this.model.params.flat!.params, this.start);
    this.startReady = true;
  }

  /** What a checkpoint keeps beyond the TrainerState: the generation batch in use and the reference copy. */
  async methodState(): Promise<MethodState> {
    await this.prepare();
    return { json: { generation: this.generation }, floats: this.start ? await this.model.gpu.read(this.start) : null };
  }

  restore(state: TrainerState, _reference: unknown, method: MethodState | null = null): void {
    this.order.restore(state);
    this.generation = generationOf(method?.json, this.cfg.batchSize * this.cfg.gradAccumSteps, this.data.length);
    if (this.start) {
      if (!method?.floats) throw new Error('checkpoint: no reference adapter (the run has β > 0 against the adapter it started from)');
      this.model.gpu.write(this.start, method.floats);
      this.startReady = true;
    }
  }

  /** An answer as a training row: prompt + answer, the mask on the answer. */
  private example(s: GrpoSample): Example {
    const p = this.data[s.prompt].ids;
    return { inputIds: [...p, ...s.ids], lossMask: [...p.map(() => 0), ...s.ids.map(() => 1)] };
  }

  private batchOf(samples: GrpoSample[]): Batch & { logitScale: number } {
    return { ...makeBatch(samples.map((s) => this.example(s)), this.cfg.maxSeqLength, this.padId), logitScale: 1 / this.grpo.temperature };
  }

  /** Each answer's per-token log-probs (float32 values) in a batch of its rows, from a forward the caller chose. */
  private async tokenLogps(samples: GrpoSample[], batch: Batch, dropoutSeed: number | null): Promise<number[][]> {
    const { model } = this;
    const t = dropoutSeed === null ? model.evalLosses(batch) : model.trainStep(batch, 0, dropoutSeed);
    const v = await model.gpu.read(t, batch.B * batch.T);
    model.gpu.release(t);
    // Answer token j of row r is the target at position (prompt length + j - 1).
    return samples.map((s, r) => {
      const at = r * batch.T + this.data[s.prompt].ids.length - 1;
      return s.ids.map((_, j) => -v[at + j]);
    });
  }

  /** Log-probs of every answer of the batch, in micro-batches, without dropout. */
  private async allLogps(samples: GrpoSample[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < samples.length; i += this.cfg.batchSize) {
      const part = samples.slice(i, i + this.cfg.batchSize);
      out.push(...await this.tokenLogps(part, this.batchOf(part), null));
    }
    return out;
  }

  /** Runs f under the reference policy: the adapter off, or the starting table swapped in. */
  private async underReference<T>(f: () => Promise<T>): Promise<T> {
    const { model } = this;
    if (!this.start) {
      model.adapterEnabled = false;
      try { return await f(); } finally { model.adapterEnabled = true; }
    }
    await this.prepare();
    const params = model.params.flat!.params;
    model.gpu.copy(params, this.swap!);
    model.gpu.copy(this.start, params);
    try { return await f(); } finally { model.gpu.copy(this.swap!, params); }
  }

  /** Samples the next generation batch and scores it; π_old and π_ref when the loss needs them. */
  private async generate(): Promise<GenerationBatch> {
    const { grpo } = this;
    const G = grpo.numGenerations;
    const prompts = this.order.next(this.promptsPerGeneration);
    const round = Math.floor(this.state.step / grpo.numIterations);
    const seed = (this.cfg.seed * 1_000_003 + round * 7919 + 17) >>> 0;
    const answers = await this.sample(prompts.map((i) => this.data[i].ids), G, { maxNewTokens: grpo.maxNewTokens, temperature: grpo.temperature, topK: grpo.topK, topP: grpo.topP, seed });
    if (answers.length !== prompts.length || answers.some((a) => a.length !== G)) throw new Error(`sampling gave ${answers.map((a) => a.length).join(', ')} answers for ${prompts.length} prompts × ${G}`);
    const flat = prompts.flatMap((p, i) => answers[i].map((a) => ({ p, a })));
    const inputs: RewardSample[] = flat.map(({ p, a }) => {
      const d = this.data[p];
      return { prompt: d.prompt, messages: d.messages, completion: a.text, reference: d.reference, finishReason: a.finishReason };
    });
    const scores = await this.rewards.score(inputs);
    const adv = groupAdvantages(scores.values, this.rewards.weights, G, grpo.scaleRewards);
    const samples: GrpoSample[] = flat.map(({ p, a }, i) => ({
      prompt: p, ids: [...a.ids], text: a.text, finishReason: a.finishReason,
      rewards: scores.values[i], reward: adv.rewards[i], advantage: adv.advantages[i], error: scores.errors[i],
    }));
    const old = grpo.numIterations > 1 ? await this.allLogps(samples) : null;
    const ref = grpo.beta > 0 ? await this.underReference(() => this.allLogps(samples)) : null;
    return { iteration: 0, samples, old, ref };
  }

  /** One optimizer step: a new generation batch when the last one has had its μ steps, then the weighted backward. */
  async step(): Promise<GrpoMetrics> {
    const { model, cfg, grpo } = this;
    const { gpu } = model;
    await this.prepare();
    this.sampled = this.generation ? null : await this.generate();
    const gen = this.generation ??= this.sampled!;
    const epoch = this.state.epoch;
    const B = cfg.batchSize, answers = gen.samples.length;
    const seeds = Array.from({ length: cfg.gradAccumSteps }, (_, i) => (cfg.seed * 1_000_003 + this.state.step * 131 + i) >>> 0);
    const dropout = model.mode.kind === 'lora' && model.mode.lora.dropout > 0;
    const measure = grpo.numIterations > 1 || grpo.beta > 0;
    const tokensOf = (s: GrpoSample) => s.ids.length;
    const allTokens = gen.samples.reduce((n, s) => n + tokensOf(s), 0);
    // c: each token's weight in the step's loss (the header's aggregation).
    const weightOf = (s: GrpoSample): number =>
      grpo.lossType === 'grpo' ? 1 / (Math.max(1, tokensOf(s)) * answers)
        : grpo.lossType === 'dr_grpo' ? 1 / (answers * grpo.maxNewTokens) : 1 / Math.max(1, allTokens);

    let loss = 0, klSum = 0, clipped = 0, seqTokens = 0;
    gpu.fill(model.params.flat!.grads, 0);
    for (let k = 0; k < cfg.gradAccumSteps; k++) {
      const part = gen.samples.slice(k * B, (k + 1) * B);
      const batch = this.batchOf(part);
      seqTokens += batch.B * batch.T;
      const pis = measure ? await this.tokenLogps(part, batch, dropout ? seeds[k] : null) : null;
      const lossMask = new Float32Array(batch.lossMask.length);
      part.forEach((s, r) => {
        const i = k * B + r, c = weightOf(s);
        const at = r * batch.T + this.data[s.prompt].ids.length - 1;
        for (let j = 0; j < s.ids.length; j++) {
          // μ = 1: π_old is π (ratio 1), as TRL takes it when it generates for every step.
          const pi = pis ? pis[r][j] : 0, old = gen.old ? gen.old[i][j] : pi;
          const t = tokenTerms(pi, old, gen.ref ? gen.ref[i][j] : null, s.advantage, grpo);
          loss += c * t.loss;
          klSum += t.kl;
          if (t.low || t.high) clipped++;
          lossMask[at + j] = -c * t.dpi;
        }
      });
      gpu.release(model.trainStep({ ...batch, lossMask }, 1, seeds[k]));
    }
    const lr = optimizerUpdate(model, this.norm, cfg, this.state.step, this.totalSteps);
    this.order.stepped();
    gen.iteration++;
    if (gen.iteration >= grpo.numIterations) this.generation = null;

    const norm = (await gpu.read(this.norm))[0];
    assertFiniteStep(this.state.step, loss, norm);
    return { step: this.state.step, epoch, lr, gradNorm: norm, loss, tokens: allTokens, seqTokens, ...this.batchMetrics(gen), kl: grpo.beta > 0 ? klSum / Math.max(1, allTokens) : null, clipRatio: clipped / Math.max(1, allTokens) };
  }

  /** The groups of the generation batch the last step sampled (prompt-major), or null when it sampled none. */
  sampledGroups(): GrpoGroup[] | null {
    const batch = this.sampled;
    if (!batch) return null;
    const G = this.grpo.numGenerations;
    return Array.from({ length: batch.samples.length / G }, (_, g) => {
      const answers = batch.samples.slice(g * G, (g + 1) * G);
      const { prompt, reference } = this.data[answers[0].prompt];
      return {
        prompt, reference,
        answers: answers.map((s) => ({ text: s.text, finishReason: s.finishReason, tokens: s.ids.length, rewards: [...s.rewards], reward: s.reward, advantage: s.advantage, error: s.error })),
      };
    });
  }

  /** What the generation batch says, whichever of its μ steps this is. */
  private batchMetrics(gen: GenerationBatch): Omit<GrpoMetrics, keyof StepMetrics | 'kl' | 'clipRatio'> {
    const G = this.grpo.numGenerations;
    const rewards = gen.samples.map((s) => s.reward);
    const groups = rewards.length / G;
    let zeroStd = 0;
    for (let g0 = 0; g0 < rewards.length; g0 += G) {
      const s = nanStd(rewards.slice(g0, g0 + G));
      if (Math.abs(s) <= 1e-8) zeroStd++;    // torch.isclose(std, 0)
    }
    const byReward = this.rewards.names.map((_, k) => gen.samples.map((s) => s.rewards[k]));
    const failed = gen.samples.flatMap((s, i) => (s.error ? [`answer ${i + 1}: ${s.error}`] : []));
    return {
      reward: nanMean(rewards), rewardStd: nanStd(rewards),
      rewardMeans: byReward.map(nanMean), rewardStds: byReward.map(nanStd),
      fracZeroStd: zeroStd / groups,
      completionLength: gen.samples.reduce((n, s) => n + s.ids.length, 0) / gen.samples.length,
      truncated: gen.samples.filter((s) => s.finishReason === 'length').length / gen.samples.length,
      unscorable: failed.length, errors: failed.slice(0, ERRORS_KEPT),
    };
  }
}

/**
 * A checkpoint's generation batch, checked (a batch of `answers` answers to prompts below `prompts`), with the NaN
 * rewards of unscorable answers back (JSON wrote them as null); null when the checkpoint holds none.
 */
function generationOf(json: unknown, answers: number, prompts: number): GenerationBatch | null {
  const g = (json as { generation?: unknown } | null | undefined)?.generation;
  if (g === null || g === undefined) return null;
  const fail = (why: string): never => { throw new Error(`checkpoint: the GRPO generation batch ${why}`); };
  const b = g as GenerationBatch;
  if (!Array.isArray(b.samples) || !Number.isInteger(b.iteration)) fail('is malformed');
  if (b.samples.length !== answers) fail(`has ${b.samples.length} answers, the run makes ${answers}`);
  const numbers = (xs: unknown) => Array.isArray(xs) && xs.every((x) => typeof x === 'number' || x === null);
  for (const s of b.samples) {
    if (!(Number.isInteger(s.prompt) && s.prompt >= 0 && s.prompt < prompts) || !numbers(s.ids) || !numbers(s.rewards) || typeof s.advantage !== 'number') fail('is malformed');
  }
  for (const per of [b.old, b.ref]) if (per !== null && !(Array.isArray(per) && per.length === answers && per.every((t, i) => numbers(t) && t.length === b.samples[i].ids.length))) fail('has log-probs of another shape');
  return {
    iteration: b.iteration, old: b.old, ref: b.ref,
    samples: b.samples.map((s) => ({ ...s, ids: [...s.ids], rewards: s.rewards.map((v) => v ?? NaN), reward: s.reward ?? NaN })),
  };
}
