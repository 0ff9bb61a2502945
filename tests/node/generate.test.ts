// Sampling and generation: the sampler's rules on hand-made logits (CPU), and a LoRA-tuned tiny model that
// learned to end its answer with the end-of-turn token stops there when generating (streaming, KV cache).
import { describe, expect, it } from 'vitest';
import { generate, generateAll } from '../../src/generate/generate';
import { argmax, GREEDY, sampleToken } from '../../src/generate/sampler';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Rng } from '../../src/model/random';
import { Transformer } from '../../src/model/transformer';
import { DEFAULT_TRAIN, Trainer } from '../../src/train/trainer';
import { testGpu } from '../helpers/gpu';

describe('sampler', () => {
  const logits = Float32Array.from([1, 3, 2.5, -1, 0]);

  it('greedy picks the argmax; top-k 1 and a tiny top-p do too at any temperature', () => {
    expect(sampleToken(logits, GREEDY, new Rng(1), [])).toBe(1);
    for (let s = 0; s < 20; s++) {
      expect(sampleToken(logits, { ...GREEDY, temperature: 5, topK: 1, seed: s }, new Rng(s), [])).toBe(1);
      expect(sampleToken(logits, { ...GREEDY, temperature: 5, topP: 0.01 }, new Rng(s), [])).toBe(1);
    }
  });

  it('top-k restricts sampling to the k best tokens', () => {
    const seen = new Set<number>();
    const rng = new Rng(3);
    for (let i = 0; i < 300; i++) seen.add(sampleToken(logits, { ...GREEDY, temperature: 10, topK: 2 }, rng, []));
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('samples in proportion to softmax(logits / T)', () => {
    const rng = new Rng(11), n = 20000, T = 1.5;
    const counts = new Array(5).fill(0);
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { ...GREEDY, temperature: T }, rng, [])]++;
    const z = Array.from(logits, (l) => Math.exp(l / T));
    const sum = z.reduce((a, b) => a + b, 0);
    z.forEach((p, i) => {
      const expected = (p / sum) * n;
      expect(Math.abs(counts[i] - expected)).toBeLessThan(5 * Math.sqrt(expected) + 5); // 5 sigma
    });
  });

  it('the same seed gives the same choices', () => {
    const opts = { ...GREEDY, temperature: 1, seed: 4 };
    const a = Array.from({ length: 50 }, ((r) => () => sampleToken(logits, opts, r, []))(new Rng(4)));
    const b = Array.from({ length: 50 }, ((r) => () => sampleToken(logits, opts, r, []))(new Rng(4)));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(1);
  });

  it('repetition penalty demotes tokens already in the context', () => {
    expect(sampleToken(logits, { ...GREEDY, repetitionPenalty: 1.5 }, new Rng(1), [1])).toBe(2); // 3/1.5 = 2 < 2.5
    expect(argmax(logits)).toBe(1);
  });
});

describe('generation', () => {
  it('a tuned tiny model answers and stops at its end-of-turn token', async () => {
    const gpu = await testGpu();
    const config = tinyConfig('llama');
    const EOT = 1;
    const prompts = [[5, 6, 7], [8, 9, 10]];
    const answers = [[20, 21, 22, 23], [30, 31, 32]];
    const data = prompts.map((p, i) => {
      const inputIds = [...p, ...answers[i], EOT];
      return { inputIds, lossMask: inputIds.map((_, t) => (t >= p.length ? 1 : 0)) }; // answer + end-of-turn are trained
    });
    const model = new Transformer(gpu, config, initWeights(config, 2, 0.3), {
      kind: 'lora', lora: { rank: 8, alpha: 16, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
    }, 1);
    const trainer = new Trainer(model, data, { ...DEFAULT_TRAIN, lr: 5e-2, schedule: 'constant', maxSteps: 40, batchSize: 2, shuffle: false });
    while (!trainer.done) await trainer.step();

    for (let i = 0; i < prompts.length; i++) {
      const steps = [];
      for await (const s of generate(model, prompts[i], { ...GREEDY, maxNewTokens: 12, stopTokenIds: [EOT], stopStrings: [] })) steps.push(s);
      expect(steps.map((s) => s.token)).toEqual([...answers[i], EOT]);   // streamed one token per step
      expect(steps.at(-1)!.finishReason).toBe('stop-token');
      expect(steps.slice(0, -1).every((s) => !s.done)).toBe(true);
    }
    // Without the stop token it runs to the length limit.
    const r = await generateAll(model, prompts[0], { ...GREEDY, maxNewTokens: 6, stopTokenIds: [], stopStrings: [] });
    expect(r.tokens.length).toBe(6);
    expect(r.finishReason).toBe('length');
    model.destroy();
  });
});
