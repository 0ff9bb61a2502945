// GRPO's pure parts (src/train/grpo.ts), without a GPU:
//  - group advantages by hand: weighted sums, group mean and Bessel standard deviation (+1e-4), batch and no scaling,
//    unscorable answers left out of their group's statistics with advantage 0, a group with one scorable answer;
//  - each token's loss term and dℓ/dπ against central differences, inside and outside the clip band, both signs of
//    the advantage, with and without the KL term (TRL's bias-corrected k·r);
//  - prompts from Data-step records (the reference answer split off) and the config's checks;
//  - a GRPO run before it starts (src/train/presets.ts): its steps (μ per generation batch of answers / G prompts), the
//    warm-up and prompt-repeat checks on those steps, and the time estimate's sampling and measuring forwards.
import { describe, expect, it } from 'vitest';
import { tinyConfig } from '../../src/model/init';
import { DEFAULT_GRPO, groupAdvantages, grpoProblem, grpoPromptOf, grpoSteps, tokenTerms } from '../../src/train/grpo';
import { estimateRun, PRESETS, validateRunConfig, type RunConfig } from '../../src/train/presets';

const near = (a: number, b: number, tol = 1e-12) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

describe('GRPO maths', () => {
  it('group advantages: sums, group statistics, scaling, unscorable answers', () => {
    const values = [[1, 0], [0, 1], [1, 1], [NaN, NaN], [0, 0], [2, NaN]];
    const w = [1, 0.5];
    const rewards = [1, 0.5, 1.5, NaN, 0, 2];   // NaN terms skipped unless all are
    const g1 = [1, 0.5, 1.5], m1 = 1, s1 = Math.sqrt(((0) ** 2 + 0.5 ** 2 + 0.5 ** 2) / 2);
    const g2 = [0, 2], m2 = 1, s2 = Math.sqrt((1 + 1) / 1);
    const group = groupAdvantages(values, w, 3, 'group');
    expect(group.rewards.slice(0, 3)).toEqual(g1);
    expect(Number.isNaN(group.rewards[3])).toBe(true);
    expect(group.rewards.slice(4)).toEqual([0, 2]);
    g1.forEach((r, i) => near(group.advantages[i], (r - m1) / (s1 + 1e-4)));
    expect(group.advantages[3]).toBe(0);
    near(group.advantages[4], (g2[0] - m2) / (s2 + 1e-4));
    near(group.advantages[5], (g2[1] - m2) / (s2 + 1e-4));
    const none = groupAdvantages(values, w, 3, 'none');
    expect(none.advantages).toEqual([0, -0.5, 0.5, 0, -1, 1]);
    const all = rewards.filter((r) => !Number.isNaN(r)), mean = all.reduce((a, b) => a + b) / all.length;
    const sb = Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / (all.length - 1));
    near(groupAdvantages(values, w, 3, 'batch').advantages[0], (1 - m1) / (sb + 1e-4));
    near(groupAdvantages(values, w, 3, 'batch').advantages[5], (2 - m2) / (sb + 1e-4));
    // One scorable answer in its group: no standard deviation, no signal.
    expect(groupAdvantages([[1], [NaN], [NaN]], [1], 3, 'group').advantages).toEqual([0, 0, 0]);
    // Equal rewards: A = 0 (not 0/0).
    expect(groupAdvantages([[1], [1]], [1], 2, 'group').advantages).toEqual([0, 0]);
  });

  it('each token\'s term and its derivative by π, against central differences', () => {
    const g = { epsilon: 0.2, epsilonHigh: 0.28, beta: 0 };
    const h = 1e-6;
    const cases = [
      { pi: -1.0, old: -1.0, A: 0.7 }, { pi: -0.9, old: -1.0, A: 0.7 }, { pi: -0.5, old: -1.0, A: 0.7 },    // inside, inside, above the band
      { pi: -1.5, old: -1.0, A: 0.7 }, { pi: -1.5, old: -1.0, A: -0.7 }, { pi: -0.5, old: -1.0, A: -0.7 },   // below (A>0: unclipped), below (A<0: clipped), above (A<0: unclipped)
      { pi: -2.0, old: -2.0, A: 0 },
    ];
    for (const beta of [0, 0.04]) {
      for (const c of cases) {
        const ref = beta ? -1.3 : null;
        const t = tokenTerms(c.pi, c.old, ref, c.A, { ...g, beta });
        const f = (pi: number) => tokenTerms(pi, c.old, ref, c.A, { ...g, beta }).loss;
        near(t.dpi, (f(c.pi + h) - f(c.pi - h)) / (2 * h), 1e-6);
        const r = Math.exp(c.pi - c.old);
        expect(t.low).toBe(r < 0.8 && c.A < 0);
        expect(t.high).toBe(r > 1.28 && c.A > 0);
      }
    }
    // Clipped: no gradient from the policy term.
    expect(tokenTerms(-0.5, -1, null, 0.7, g).dpi).toBe(0);
    expect(tokenTerms(-1.5, -1, null, -0.7, g).dpi).toBe(0);
    // The KL term: zero at the reference, r·(π - π_ref) by π.
    const k = tokenTerms(-1, -1, -1, 0, { ...g, beta: 0.1 });
    expect([k.kl, k.dpi]).toEqual([0, 0]);
  });

  it('prompts from records, and the config\'s checks', () => {
    expect(grpoPromptOf([{ role: 'system', content: 's' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]))
      .toEqual({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'q' }], prompt: 'q', reference: 'a' });
    expect(grpoPromptOf([{ role: 'user', content: 'q' }])).toEqual({ messages: [{ role: 'user', content: 'q' }], prompt: 'q', reference: null });
    expect(() => grpoPromptOf([{ role: 'assistant', content: 'a' }])).toThrow(/must end with a user turn/);
    const train = { batchSize: 4, gradAccumSteps: 2 };
    expect(grpoProblem(DEFAULT_GRPO, train)).toBeNull();
    expect(grpoProblem({ ...DEFAULT_GRPO, numGenerations: 3 }, train)).toMatch(/multiple of numGenerations \(3\)/);
    expect(grpoProblem({ ...DEFAULT_GRPO, numGenerations: 1 }, train)).toMatch(/numGenerations must be a whole number >= 2/);
    expect(grpoProblem({ ...DEFAULT_GRPO, temperature: 0 }, train)).toMatch(/temperature must be > 0/);
    expect(grpoProblem({ ...DEFAULT_GRPO, lossType: 'bnpo' as never }, train)).toMatch(/loss type must be grpo, dr_grpo or dapo/);
    expect(grpoProblem({ ...DEFAULT_GRPO, rewards: [] }, train)).toMatch(/at least one reward/);
  });

  it('a run before it starts: steps, warm-up and repeats by generation batch, and the time of sampling', () => {
    const train = { ...PRESETS.quick.train, batchSize: 8, gradAccumSteps: 2, maxSteps: 0, epochs: 2, warmupSteps: 0 };
    const grpo = { ...DEFAULT_GRPO, numGenerations: 4, maxNewTokens: 16, numIterations: 3 };
    // 16 answers a generation batch = 4 prompts; 10 prompts = 3 batches an epoch, μ = 3 steps each, 2 epochs.
    expect(grpoSteps(grpo, train, 10)).toBe(18);
    expect(grpoSteps(grpo, { ...train, maxSteps: 5 }, 10)).toBe(5);
    const cfg: RunConfig = { ...PRESETS.quick, evalEvery: 0, train: { ...train, warmupSteps: 18 }, grpo };
    const model = tinyConfig('llama');
    const errors = (c: RunConfig, prompts: number) => validateRunConfig(c, model, { trainExamples: prompts, validationExamples: 0 });
    expect(errors(cfg, 10).find((p) => p.field === 'train.warmupSteps')?.message).toMatch(/as long as the whole run \(18 steps\)/);
    expect(errors({ ...cfg, train: { ...train, warmupSteps: 17 } }, 10).find((p) => p.field === 'train.warmupSteps')).toBeUndefined();
    // 4 prompts a generation batch from 3: they repeat (16 answers from 10 prompts do not: SFT's rule would say they did).
    expect(errors(cfg, 3).find((p) => p.field === 'train.batchSize')?.message).toMatch(/asks 4 prompts \(16 answers, 4 a prompt\) but there are 3/);
    expect(errors(cfg, 10).find((p) => p.field === 'train.batchSize')).toBeUndefined();
    expect(errors({ ...cfg, grpo: { ...grpo, numGenerations: 3 } }, 10).find((p) => p.field === 'grpo')?.message).toMatch(/^GRPO: .*multiple of numGenerations \(3\)/);

    // Time: each row is the prompt's tokens and maxNewTokens; a step trains (4·P a token), and per generation batch,
    // spread over its μ steps, samples and measures π_old (2·P each), then measures π every step (μ > 1).
    const data = { trainExamples: 10, validationExamples: 0, meanTokens: 20 };
    const sft = estimateRun({ ...cfg, grpo: undefined, train }, model, { ...data, meanTokens: 36 }, 1e9);
    const run = estimateRun({ ...cfg, train }, model, data, 1e9);
    expect(run.tokensPerStep).toBe(sft.tokensPerStep);
    expect(run.stepsPerEpoch).toBe(9);
    const forward = sft.flopsPerStep / 2;
    expect(run.flopsPerStep).toBeCloseTo(sft.flopsPerStep + (2 * forward) / 3 + forward, 0);
    const plain = estimateRun({ ...cfg, train, grpo: { ...grpo, numIterations: 1 } }, model, data, 1e9);
    expect(plain.flopsPerStep).toBeCloseTo(sft.flopsPerStep + forward, 0);
  });
});
