// The engine's reward calls: "try it on N samples" before a GRPO run. A few prompts are answered as the run would
// answer them (the run's prompts, sampling and stop tokens: session.ts runExamples, sample-groups.ts), by the weights
// the run would start from, and each answer is scored by each of the run's rewards (JavaScript ones in the host's
// sandbox, with the run's time limit per call).
//
// Contract: each reward is scored on its own, so one that fails on an answer (throws, runs past its time limit,
// returns NaN or no number, cannot load) gives that answer an error in its own column and leaves the other rewards'
// values; a run counts the whole answer unscorable then (rewards.ts says why), and `reward` here does the same.
// Refused while a run steps; at most PREVIEW_MAX_PROMPTS prompts.
// Not here: the rewards themselves (src/train/rewards.ts), the run (runs.ts, session.ts).
import { errorMessage, oneLine } from '../errors';
import { RewardScorer, rewardName, type RewardSample } from '../train/rewards';
import type { EngineMethods } from './api';
import type { EngineContext } from './context';
import { sampleGroupsWith } from './sample-groups';
import { runExamples } from './session';
import { withAdapter } from './weights';

/** The most prompts one preview answers (each answer is generated one at a time: this is a look, not a run). */
export const PREVIEW_MAX_PROMPTS = 16;

export function rewardCalls(ctx: EngineContext): Pick<EngineMethods, 'previewRewards'> {
  const { resident } = ctx;
  return {
    async previewRewards({ adapter, records, config }) {
      resident.refuseWhileStepping('trying rewards');
      const grpo = config.grpo;
      if (!grpo) throw new Error('trying rewards needs a GRPO config (config.grpo)');
      if (records.length === 0) throw new Error('no prompts to try the rewards on');
      if (records.length > PREVIEW_MAX_PROMPTS) throw new Error(`at most ${PREVIEW_MAX_PROMPTS} prompts at a time, not ${records.length}`);
      if (!(grpo.temperature > 0)) throw new Error(`temperature must be > 0, not ${grpo.temperature}`);
      if (!(Number.isInteger(grpo.maxNewTokens) && grpo.maxNewTokens >= 1)) throw new Error(`maxNewTokens must be a whole number >= 1, not ${grpo.maxNewTokens}`);
      const m = resident.model().model;
      const examples = await runExamples(m, { records: records.map((r) => ({ messages: r.messages, split: 'train' })) }, config);
      if (!('prompts' in examples)) throw new Error('trying rewards needs a GRPO config (config.grpo)');
      const { prompts, decode, stopTokenIds } = examples;
      const answers = await withAdapter(ctx, adapter, (net) => sampleGroupsWith(net, decode, stopTokenIds)(
        prompts.map((p) => p.ids), 1, { maxNewTokens: grpo.maxNewTokens, temperature: grpo.temperature, topK: grpo.topK, topP: grpo.topP, seed: config.train.seed >>> 0 },
      ));
      const inputs: RewardSample[] = prompts.map((p, i) => ({
        prompt: p.prompt, messages: p.messages, completion: answers[i][0].text, reference: p.reference, finishReason: answers[i][0].finishReason,
      }));
      // Each reward alone: [reward][sample].
      const columns: { values: (number | null)[]; errors: (string | null)[] }[] = [];
      for (const spec of grpo.rewards) {
        let scorer: RewardScorer | null = null;
        try {
          scorer = await RewardScorer.open([spec], ctx.host.openSandbox ?? null, grpo.rewardTimeoutMs);
          const s = await scorer.score(inputs);
          columns.push({ values: s.values.map(([v]) => (Number.isNaN(v) ? null : v)), errors: s.errors });
        } catch (e) {
          const why = oneLine(errorMessage(e), 300);
          columns.push({ values: inputs.map(() => null), errors: inputs.map(() => why) });
        } finally {
          scorer?.close();
        }
      }
      const weights = grpo.rewards.map((r) => r.weight);
      return {
        names: grpo.rewards.map(rewardName), weights,
        samples: inputs.map((s, i) => {
          const values = columns.map((c) => c.values[i]);
          return {
            prompt: s.prompt, reference: s.reference, completion: s.completion, finishReason: s.finishReason,
            values, errors: columns.map((c) => c.errors[i]),
            reward: values.every((v) => v !== null) ? values.reduce<number>((sum, v, k) => sum + v! * weights[k], 0) : null,
          };
        }),
      };
    },
  };
}
