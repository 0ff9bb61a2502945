// The lesson's GRPO stage (scripts/default-model/measure.ts --grpo, `npm run measure-grpo`) run to its end at a tiny
// step count on the embedded default model: its JSON holds together. The held-out counts are the held-out file's, the
// rates are their counts over their totals, the GRPO stage's "before" facts are the SFT stage's own exact match (same
// model, same greedy answers), its prompts are exactly the SFT stage's curated examples, the held-out samples are drawn
// as the run samples, and the adapter is named. What the figures are at the lesson's step counts is in the README
// (measured, not asserted here: 2 SFT steps teach nothing).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, STUDIO_LAUNCHER } from '../helpers/cli';

const HELD_OUT = readFileSync(`${REPO_ROOT}/public/samples/world-qa.eval.jsonl`, 'utf8').trim().split('\n').length;

interface Measured { rewardRate: number; rewarded: number; samples: number; promptsAllRewarded: number; trainRewardRate: number; factsExactMatch: number; factsHits: number }

describe('measure.ts --grpo', () => {
  it('runs SFT then GRPO and reports held-out reward rates and facts that add up', () => {
    const r = spawnSync(process.execPath, [STUDIO_LAUNCHER, 'scripts/default-model/measure.ts', '--grpo', '--json', '--steps', '2', '--grpo-steps', '2', '--grpo-reward', 'fact-then-stop'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    const g = out.grpo;
    expect(out.heldOut).toBe(HELD_OUT);
    // Rewarded by a JavaScript function (in its Node sandbox) for the fact and how little follows it, measured on exact match.
    expect(g).toMatchObject({ reward: 'fact-then-stop', measured: 'exact', steps: 2, heldOutPrompts: HELD_OUT, trainPrompts: out.sftExamples });
    expect(g.settings.rewards).toEqual([{ kind: 'function', name: 'fact-then-stop', weight: 1 }]);
    expect(g.heldOutSampling).toMatchObject({ temperature: g.settings.temperature, numGenerations: g.settings.numGenerations, maxNewTokens: g.settings.maxNewTokens });
    for (const m of [g.before, g.after] as Measured[]) {
      expect(m.samples).toBe(HELD_OUT * g.settings.numGenerations);
      expect(m.rewardRate).toBe(m.rewarded / m.samples);
      expect(m.factsExactMatch).toBe(m.factsHits / HELD_OUT);
      expect(m.promptsAllRewarded * g.settings.numGenerations).toBeLessThanOrEqual(m.rewarded);
      const trainRewarded = m.trainRewardRate * out.sftExamples * g.settings.numGenerations;
      expect(Math.abs(trainRewarded - Math.round(trainRewarded))).toBeLessThan(1e-9);
    }
    expect(g.before.factsExactMatch).toBe(out.tunedExactMatch);
    for (const x of [g.trainRewardFirst, g.trainRewardLast]) expect(x >= 0 && x <= 1).toBe(true);
    expect(out.adapter.description.length + out.adapter.architecture.length).toBeGreaterThan(0);
  }, 900_000);
});
