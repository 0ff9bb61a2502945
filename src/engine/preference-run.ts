// A preference run (DPO or ORPO on a LoRA adapter) as the engine runs it: the pairs tokenized through the model's
// chat template, the trainer stepped with pause and cancel honoured between steps, each step reported as a point
// the Training tab charts beside the loss (rewards chosen / rejected, margins, preference accuracy).
// Contract: the model is the run's LoRA model, already holding the values the run starts from (fresh, or an SFT /
// imported adapter); it is left holding the trained values. The reference (DPO) is computed before the first step.
// Not here: the losses and the update (src/train/preference.ts), storing runs or adapters and the worker's messages
// (workers/engine-worker.ts).
import type { Transformer } from '../model/transformer';
import type { ChatTemplate } from '../tokenize/chat';
import type { Tokenizer } from '../tokenize/tokenizer';
import { PreferenceTrainer, tokenizePreference, type PreferenceConfig, type PreferencePair } from '../train/preference';
import type { TrainConfig } from '../train/trainer';

/** One optimizer step of a preference run, as charted. */
export interface PreferencePoint {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  rewardsChosen: number;
  rewardsRejected: number;
  margins: number;
  accuracy: number;
  /** Seconds since the run started. */
  elapsed: number;
}

interface PreferenceRunHooks {
  onStep(point: PreferencePoint, totalSteps: number): void;
  /** Checked before each step: true stops the run (status 'cancelled'). */
  cancelled(): boolean;
  /** Awaited before each step: resolves when the run may go on (a paused run waits here). */
  proceed(): Promise<void>;
}

interface PreferenceRunResult { status: 'completed' | 'cancelled'; points: PreferencePoint[]; totalSteps: number }

export async function runPreference(
  model: Transformer, tokenizer: Tokenizer, template: ChatTemplate, pairs: PreferencePair[],
  train: TrainConfig, pref: PreferenceConfig, hooks: PreferenceRunHooks,
): Promise<PreferenceRunResult> {
  const data = pairs.map((p, i) => {
    try {
      return tokenizePreference(tokenizer, template, p, train.maxSeqLength);
    } catch (e) {
      throw new Error(`pair ${i + 1}: ${(e as Error).message}`);
    }
  });
  const trainer = new PreferenceTrainer(model, data, train, pref, tokenizer.padTokenId ?? 0);
  const points: PreferencePoint[] = [];
  const t0 = performance.now();
  await trainer.prepareReference();
  while (!trainer.done) {
    await hooks.proceed();
    if (hooks.cancelled()) return { status: 'cancelled', points, totalSteps: trainer.totalSteps };
    const s = await trainer.step();
    const point: PreferencePoint = {
      step: s.step, epoch: s.epoch, loss: s.loss, lr: s.lr, gradNorm: s.gradNorm, rewardsChosen: s.rewardsChosen,
      rewardsRejected: s.rewardsRejected, margins: s.margins, accuracy: s.accuracy, elapsed: (performance.now() - t0) / 1000,
    };
    points.push(point);
    hooks.onStep(point, trainer.totalSteps);
  }
  return { status: 'completed', points, totalSteps: trainer.totalSteps };
}
