// Preference tuning on the same engine as SFT: DPO (TRL's `sigmoid` loss, with cDPO label smoothing) and ORPO.
//
// Data: pairs and their tokens (preference-pairs.ts).
//
// Why the engine needs no new kernel: every loss here depends on the policy only through each sequence's summed
// answer log-probability π = Σ_t mask_t log p(t). So dL/d(log p(t)) = dL/dπ for every answer token t of that
// sequence, and the cross-entropy kernel, which multiplies each token's gradient by its lossMask value, computes
// the exact gradient when lossMask_t = -dL/dπ (CE = -log p, so a mask w gives the gradient of -w·log p).
// One optimizer step: per micro-batch, a forward without gradients gives π for the chosen and rejected rows; the
// losses and per-sequence weights are computed here in float64; trainStep runs the backward with the weighted mask;
// then the SFT trainer's update (optimizerUpdate: clipping, schedule, AdamW).
//
// DPO (Rafailov et al.): m = (πc - πr) - (refc - refr). The reference log-probs are computed once per pair, before
// the first update, and cached: from the model as the run starts (TRL's reference for a PEFT model: a fresh adapter
// is the base model, an SFT adapter its own reference), or from the model with its adapter switched off
// (Transformer.adapterEnabled = false). Either way no second copy of the model. L = -(1-ε)·logσ(β·m) - ε·logσ(-β·m), averaged over the step's pairs. Rewards β·(π - ref).
// TRL ≥ 1.x's `sigmoid` is this with ε = 0 (label smoothing moved to its other loss types); ε is the cDPO form
// older TRL's `sigmoid` used.
// ORPO (Hong et al., TRL's ORPOTrainer): reference-free. P = π / answer length (mean log-prob),
// logodds = (Pc - Pr) - (log(1 - e^Pc) - log(1 - e^Pr)), L = NLL(chosen answers, mean over the step's chosen tokens)
// - λ·mean(logσ(logodds)), λ = beta. Rewards β·P. Chosen over SimPO because its NLL term keeps the answers' own
// likelihood up, so it can start from a base model with no SFT run, and it needs no reference forward at all.
// LoRA dropout: the sequence weights must come from the forward that backward differentiates (TRL's policy forward
// runs in train mode, dropout on). With dropout > 0 the measuring forward is therefore a training forward with the
// micro-batch's dropout seed and gradScale 0 (its per-token losses, zero gradients), and the weighted backward uses
// the same seed, so both see the same masks (the kernels are deterministic). With dropout 0 the measuring forward
// is the cheaper one without gradients. Reference log-probs never use dropout (the adapter is off, or frozen as the
// run starts, as TRL's precomputed reference).
// Resumable as the SFT Trainer is: the same TrainerState (step, epoch, data order, RNG) and, for DPO, the cached
// reference log-probs go into the run's checkpoint (checkpoint.ts), so a resumed run gives the same losses bit for bit.
// Not here: reading pairs and tokenizing them (preference-pairs.ts), batching (batch.ts), the optimizer (trainer.ts), the run
// loop (src/engine/session.ts).
import type { Tensor } from '../gpu/runtime';
import type { Transformer } from '../model/transformer';
import { makeBatch, type Batch } from './batch';
import { DataOrder, totalSteps, type TrainerState } from './data-order';
import type { PreferenceExample } from './preference-pairs';
import { assertFiniteStep, optimizerUpdate, type StepMetrics, type TrainConfig } from './trainer';

export type PreferenceMethod = 'dpo' | 'orpo';

export interface PreferenceConfig {
  method: PreferenceMethod;
  /** DPO's β (strength of the pull towards the reference); ORPO's λ (weight of the odds-ratio term). */
  beta: number;
  /** DPO only: ε, the assumed rate of flipped labels (0: plain DPO). */
  labelSmoothing: number;
  /**
   * DPO only: the reference policy. 'start': the model as the run starts (TRL's choice: a fresh adapter starts as
   * the base model; an SFT adapter to continue from is its own reference). 'base': the adapter switched off.
   */
  reference: 'start' | 'base';
  /**
   * DPO only: α of TRL's rpo_alpha (Pang et al.'s RPO), L_DPO + α·NLL(chosen answers), the NLL as ORPO's (mean over
   * the step's chosen tokens). Keeps the chosen answers likely, so DPO cannot win by making every answer, the chosen
   * ones included, less likely (on the built-in lesson: the end of turn pushed down everywhere). Absent or 0: off.
   */
  rpoAlpha?: number;
}

/** TRL's defaults: DPOConfig.beta 0.1, ORPOConfig.beta 0.1. */
export const DEFAULT_PREFERENCE: PreferenceConfig = { method: 'dpo', beta: 0.1, labelSmoothing: 0, reference: 'start' };

// ---- losses (float64, per pair) -----------------------------------------------------------------

/** log σ(x), stable for large |x|. */
function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** log(1 - e^x) for x < 0 (Mächler's log1mexp). */
function log1mexp(x: number): number {
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

/** The policy's summed answer log-probabilities of a pair, and its answers' token counts. */
interface PairLogps { chosen: number; rejected: number; chosenTokens: number; rejectedTokens: number }

/** One pair's loss, its derivatives by the summed log-probs πc and πr, and its rewards. */
interface PairTerms { loss: number; dChosen: number; dRejected: number; rewardChosen: number; rewardRejected: number }

function dpoTerms(p: PairLogps, ref: { chosen: number; rejected: number }, beta: number, eps: number): PairTerms {
  const m = (p.chosen - p.rejected) - (ref.chosen - ref.rejected);
  const loss = -(1 - eps) * logSigmoid(beta * m) - eps * logSigmoid(-beta * m);
  const dm = -(1 - eps) * beta * sigmoid(-beta * m) + eps * beta * sigmoid(beta * m);
  return { loss, dChosen: dm, dRejected: -dm, rewardChosen: beta * (p.chosen - ref.chosen), rewardRejected: beta * (p.rejected - ref.rejected) };
}

/** ORPO's odds-ratio term -λ·logσ(logodds) (the NLL term is added per token by the trainer). */
function orpoTerms(p: PairLogps, lambda: number): PairTerms {
  const pc = p.chosen / p.chosenTokens, pr = p.rejected / p.rejectedTokens;
  const logodds = (pc - pr) - (log1mexp(pc) - log1mexp(pr));
  const g = -lambda * sigmoid(-logodds);                               // d(-λ logσ(lo)) / d lo
  return {
    loss: -lambda * logSigmoid(logodds),
    dChosen: g / (1 - Math.exp(pc)) / p.chosenTokens,                  // d lo / d Pc = 1 / (1 - e^Pc); d Pc / d πc = 1 / n
    dRejected: -g / (1 - Math.exp(pr)) / p.rejectedTokens,
    rewardChosen: lambda * pc, rewardRejected: lambda * pr,
  };
}

// ---- trainer -------------------------------------------------------------------------------------

/** What a preference step reports beyond the loss: means over the step's pairs. */
export interface PreferenceRewards {
  rewardsChosen: number;
  rewardsRejected: number;
  margins: number;
  /** Share of pairs whose chosen reward beats the rejected one. */
  accuracy: number;
}

export interface PreferenceMetrics extends StepMetrics, PreferenceRewards {}

/** Per pair (in data order), the reference policy's summed answer log-probs: DPO's cache, kept in checkpoints. */
export type ReferenceLogps = { chosen: number; rejected: number }[];

/** The rows of a micro-batch: the pairs' chosen answers, then their rejected ones (TRL's layout). */
function pairBatch(pairs: PreferenceExample[], maxSeqLength: number, padId: number): Batch {
  return makeBatch([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], maxSeqLength, padId);
}

/**
 * Per row of a batch: the summed log-probability of its masked tokens (float64), from a forward without gradients,
 * or, given a dropout seed, from the training forward with that seed (gradScale 0: nothing accumulates).
 */
async function rowLogps(model: Transformer, b: Batch, dropoutSeed: number | null = null): Promise<Float64Array> {
  const t = dropoutSeed === null ? model.evalLosses(b) : model.trainStep(b, 0, dropoutSeed);
  const v = await model.gpu.read(t, b.B * b.T);
  model.gpu.release(t);
  const out = new Float64Array(b.B);
  for (let r = 0; r < b.B; r++) for (let i = 0; i < b.T; i++) out[r] -= v[r * b.T + i];
  return out;
}

/** Each pair's summed answer log-probs under the model as it is (no gradients), in micro-batches of batchSize pairs. */
export async function pairLogps(model: Transformer, data: PreferenceExample[], batchSize: number, maxSeqLength: number, padId: number): Promise<{ chosen: number; rejected: number }[]> {
  const out: { chosen: number; rejected: number }[] = [];
  for (let i = 0; i < data.length; i += batchSize) {
    const pairs = data.slice(i, i + batchSize);
    const lp = await rowLogps(model, pairBatch(pairs, maxSeqLength, padId));
    pairs.forEach((_, k) => out.push({ chosen: lp[k], rejected: lp[pairs.length + k] }));
  }
  return out;
}

function rowTokens(b: Batch): number[] {
  return Array.from({ length: b.B }, (_, r) => b.lossMask.subarray(r * b.T, (r + 1) * b.T).reduce((s, x) => s + x, 0));
}

export class PreferenceTrainer {
  readonly totalSteps: number;
  /** Step, epoch and data order, as the SFT Trainer keeps them (data-order.ts: the same checkpoint fields). */
  private readonly order: DataOrder;
  private readonly norm: Tensor;
  /** Reference log-probs per pair (DPO), computed before the first update (prepare) or restored from a checkpoint. */
  private ref: ReferenceLogps | null = null;

  constructor(
    readonly model: Transformer,
    readonly data: PreferenceExample[],
    readonly cfg: TrainConfig,
    readonly pref: PreferenceConfig,
    private readonly padId = 0,
  ) {
    if (!model.params.flat) throw new Error('nothing to train: the model has no trainable parameters');
    if (model.mode.kind !== 'lora') throw new Error('preference tuning trains a LoRA adapter');
    if (data.length === 0) throw new Error('no preference pairs');
    if (!(pref.beta > 0)) throw new Error(`beta must be > 0, not ${pref.beta}`);
    if (!((pref.rpoAlpha ?? 0) >= 0)) throw new Error(`rpo alpha must be >= 0, not ${pref.rpoAlpha}`);
    if (!(pref.labelSmoothing >= 0 && pref.labelSmoothing < 0.5)) throw new Error(`label smoothing must be in [0, 0.5), not ${pref.labelSmoothing}`);
    this.totalSteps = totalSteps(cfg, data.length);
    this.order = new DataOrder(data.length, cfg);
    this.norm = model.gpu.tensor([1], 'gradNorm');
  }

  get state(): TrainerState {
    return this.order.state;
  }

  get done(): boolean {
    return this.state.step >= this.totalSteps;
  }

  /** The cached reference log-probs (DPO, once prepared); null for ORPO, which has no reference. */
  get reference(): ReferenceLogps | null {
    return this.ref;
  }


  /**
   * Every pair's reference log-probs, once, in micro-batches: the model as it is now (before any update), or with
   * its adapter switched off. step() calls it first; the session calls it before the first step.
   */
  async prepare(): Promise<void> {
    if (this.ref || this.pref.method !== 'dpo') return;
    if (this.state.step > 0 && this.pref.reference === 'start') throw new Error('the reference is the model as the run started: a resumed DPO run needs it from its checkpoint');
    this.model.adapterEnabled = this.pref.reference === 'start';
    try {
      this.ref = await pairLogps(this.model, this.data, this.cfg.batchSize, this.cfg.maxSeqLength, this.padId);
    } finally {
      this.model.adapterEnabled = true;
    }
  }

  /** Restores the data order, RNG and (DPO) the reference for an exact resume (params and moments: the ParamTable). */
  restore(state: TrainerState, reference: ReferenceLogps | null = null): void {
    if (reference && reference.length !== this.data.length) throw new Error(`checkpoint: reference log-probs for ${reference.length} pairs, the run has ${this.data.length}`);
    this.order.restore(state);
    this.ref = reference ? reference.map((r) => ({ ...r })) : null;
  }

  /**
   * Loss terms of the given pairs under the current adapter (no gradients), with the batch they came from; with a
   * dropout seed, under that seed's LoRA dropout (the forward the weighted backward will repeat).
   */
  async pairTerms(indices: number[], dropoutSeed: number | null = null): Promise<{ batch: Batch; logps: PairLogps[]; terms: PairTerms[] }> {
    const batch = pairBatch(indices.map((i) => this.data[i]), this.cfg.maxSeqLength, this.padId);
    const lp = await rowLogps(this.model, batch, dropoutSeed);
    const n = rowTokens(batch), P = indices.length;
    const logps = indices.map((_, k) => ({ chosen: lp[k], rejected: lp[P + k], chosenTokens: n[k], rejectedTokens: n[P + k] }));
    const { method, beta, labelSmoothing } = this.pref;
    if (method === 'dpo') await this.prepare();
    const terms = logps.map((p, k) => (method === 'dpo' ? dpoTerms(p, this.ref![indices[k]], beta, labelSmoothing) : orpoTerms(p, beta)));
    return { batch, logps, terms };
  }

  /** One optimizer step over gradAccumSteps micro-batches of batchSize pairs: weighted backward, then the update. */
  async step(): Promise<PreferenceMetrics> {
    const { model, cfg, pref } = this;
    const { gpu } = model;
    const micro = Array.from({ length: cfg.gradAccumSteps }, () => this.order.next(cfg.batchSize));
    const epoch = this.state.epoch;
    const pairs = micro.length * cfg.batchSize;
    // Each micro-batch's dropout seed, shared by its measuring forward and its weighted backward.
    const seeds = micro.map((_, i) => (cfg.seed * 1_000_003 + this.state.step * 131 + i) >>> 0);
    const dropout = model.mode.kind === 'lora' && model.mode.lora.dropout > 0;
    const measured = [];
    for (const [i, indices] of micro.entries()) measured.push(await this.pairTerms(indices, dropout ? seeds[i] : null));
    // ORPO's NLL: the mean over every chosen answer token of the step.
    const chosenTokens = measured.reduce((s, m) => s + m.logps.reduce((a, p) => a + p.chosenTokens, 0), 0);
    let nllSum = 0;
    const nllWeight = pref.method === 'orpo' ? 1 : pref.rpoAlpha ?? 0;

    gpu.fill(model.params.flat!.grads, 0);
    measured.forEach(({ batch, logps, terms }, i) => {
      const P = terms.length;
      // lossMask = -dL/dπ per answer token (see the header); the loss is the mean over the step's pairs.
      const weight = (r: number) => {
        const t = terms[r % P];
        const w = -(r < P ? t.dChosen : t.dRejected) / pairs;
        return r < P ? w + nllWeight / chosenTokens : w;
      };
      const lossMask = new Float32Array(batch.lossMask.length);
      for (let r = 0; r < batch.B; r++) {
        const w = weight(r);
        for (let j = r * batch.T; j < (r + 1) * batch.T; j++) lossMask[j] = batch.lossMask[j] * w;
      }
      nllSum -= logps.reduce((s, p) => s + p.chosen, 0);
      gpu.release(model.trainStep({ ...batch, lossMask }, 1, seeds[i]));
    });
    const lr = optimizerUpdate(model, this.norm, cfg, this.state.step, this.totalSteps);
    this.order.stepped();

    const all = measured.flatMap((m) => m.terms);
    const mean = (f: (t: PairTerms) => number) => all.reduce((s, t) => s + f(t), 0) / all.length;
    const norm = (await gpu.read(this.norm))[0];
    const loss = mean((t) => t.loss) + nllWeight * nllSum / chosenTokens;
    assertFiniteStep(this.state.step, loss, norm);
    return {
      step: this.state.step, epoch, lr, gradNorm: norm, loss,
      tokens: measured.reduce((s, m) => s + m.batch.tokens, 0),
      seqTokens: measured.reduce((s, m) => s + m.batch.B * m.batch.T, 0),
      rewardsChosen: mean((t) => t.rewardChosen), rewardsRejected: mean((t) => t.rewardRejected),
      margins: mean((t) => t.rewardChosen - t.rewardRejected),
      accuracy: mean((t) => (t.rewardChosen > t.rewardRejected ? 1 : 0)),
    };
  }
}
