// `train --method grpo` on the command line: its flags as the engine's GrpoConfig (src/train/grpo.ts), checked before
// anything loads, and the `grpo` object of the --json summary from the finished run. The run itself is the engine's
// (startGrpoRun: the same session, sampling, rewards and checkpoints as the page's).
//   --reward exact|contains:TEXT|regex:RE|length:MIN-MAX|ends-cleanly|eot|FILE.mjs   (repeatable; default ends-cleanly)
//   --reward-weights W1,W2,…   one per --reward, in order (default 1 each)
//   --num-generations G (8)  --max-new-tokens N (256)  --temperature T (1)  --beta B (0)  --reference start|base
//   --loss-type grpo|dr_grpo|dapo (dapo)  --num-iterations μ (1)   (defaults: TRL's GRPOConfig, src/train/grpo.ts)
// --batch-size counts answers, a multiple of G with --grad-accum (default: G, one prompt a micro-batch).
// Not here: the other methods' flags and the run's folder (cli/studio.ts).
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { MetricPoint, RunRecord } from '../src/storage/runs';
import { DEFAULT_GRPO, type GrpoConfig, type GrpoLossType } from '../src/train/grpo';
import { parseRewardArg, rewardName, validateRewards } from '../src/train/rewards';
import { choice, list, num, UsageError, type Parsed } from './args';

/** Options that mean something only to a GRPO run (refused by name with another method). */
export const GRPO_OPTIONS = ['reward', 'reward-weights', 'num-generations', 'max-new-tokens', 'temperature', 'loss-type', 'num-iterations'];

/** A reward module's name (its file name) and text. */
function readModule(path: string): { name: string; source: string } {
  if (!existsSync(path)) throw new UsageError(`reward ${path}: file not found`); // grpoFrom adds the dashes, as to parseRewardArg's errors
  return { name: basename(path), source: readFileSync(path, 'utf8') };
}

/** The GRPO settings from the flags, each checked by name before anything loads. */
export function grpoFrom(p: Parsed): GrpoConfig {
  const args = list(p, 'reward');
  const rewards = args.length ? args : ['ends-cleanly'];
  const weights = p.options.has('reward-weights') ? p.options.get('reward-weights')!.at(-1)!.split(',').map((w) => w.trim()) : rewards.map(() => '1');
  if (weights.length !== rewards.length) throw new UsageError(`--reward-weights gives ${weights.length} weights for ${rewards.length} rewards (one per --reward, in order)`);
  const specs = rewards.map((r, i) => {
    const w = Number(weights[i]);
    if (weights[i] === '' || !Number.isFinite(w)) throw new UsageError(`--reward-weights: "${weights[i]}" is not a number`);
    try {
      return parseRewardArg(r, w, readModule);
    } catch (e) {
      throw new UsageError(`--${(e as Error).message}`);
    }
  });
  try {
    validateRewards(specs);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  return {
    ...DEFAULT_GRPO, rewards: specs,
    numGenerations: num(p, 'num-generations', DEFAULT_GRPO.numGenerations, { min: 2, integer: true }),
    maxNewTokens: num(p, 'max-new-tokens', DEFAULT_GRPO.maxNewTokens, { min: 1, integer: true }),
    temperature: num(p, 'temperature', DEFAULT_GRPO.temperature, { min: 0, minExclusive: true }),
    beta: num(p, 'beta', DEFAULT_GRPO.beta, { min: 0 }),
    reference: choice(p, 'reference', ['start', 'base'] as const, DEFAULT_GRPO.reference),
    lossType: choice<GrpoLossType>(p, 'loss-type', ['grpo', 'dr_grpo', 'dapo'], DEFAULT_GRPO.lossType),
    numIterations: num(p, 'num-iterations', DEFAULT_GRPO.numIterations, { min: 1, integer: true }),
  };
}

/**
 * The summary's `grpo`: the run's settings, the last step's rewards (the weighted sum, and each reward's mean and
 * standard deviation over the answers it could score), KL (null with β 0), clipped share and answer length, its
 * unscorable answers and their first errors, and the unscorable answers of the whole run (each generation batch once).
 */
export function grpoSummary(run: RunRecord) {
  const g = run.config.grpo!;
  const last = run.metrics.at(-1)!;
  // A generation batch is trained on μ times and reported on each: count it at the step that sampled it.
  const sampled = (q: MetricPoint) => (q.step - 1) % g.numIterations === 0;
  return {
    method: 'grpo', numGenerations: g.numGenerations, maxNewTokens: g.maxNewTokens, temperature: g.temperature, beta: g.beta,
    reference: g.reference, lossType: g.lossType, numIterations: g.numIterations,
    reward: last.reward!, rewardStd: last.rewardStd!,
    rewards: g.rewards.map((r, k) => ({ name: rewardName(r), weight: r.weight, mean: last.rewardMeans![k], std: last.rewardStds![k] })),
    kl: last.kl ?? null, clipRatio: last.clipRatio!, completionLength: last.completionLength!, truncated: last.truncated!,
    unscorable: last.unscorable!, errors: last.errors!,
    unscorableTotal: run.metrics.filter(sampled).reduce((n, q) => n + q.unscorable!, 0),
  };
}
