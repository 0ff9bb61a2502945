// The trainer refuses a run with nothing to learn and stops a run that diverges, before anything could be
// saved (issue 17): zero target tokens, a zero batch size, accumulation or sequence length, zero steps, and a
// non-finite loss or gradient norm (here from a NaN planted in a weight, as a corrupt checkpoint would), for the SFT
// trainer and the preference trainer alike.
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { DEFAULT_PREFERENCE, PreferenceTrainer } from '../../src/train/preference';
import { DEFAULT_TRAIN, targetTokens, Trainer } from '../../src/train/trainer';
import { testGpu } from '../helpers/gpu';

const LORA = { rank: 2, alpha: 4, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] };
const config = tinyConfig('llama');
const example = (mask: number[]) => ({ inputIds: mask.map((_, i) => (i * 7) % config.vocabSize), lossMask: mask });

describe('trainer guards', () => {
  it('counts target tokens as a batch of maxSeqLength positions sees them', () => {
    // Token 0 is never a target (nothing predicts it); tokens past maxSeqLength + 1 are cut.
    expect(targetTokens(example([1, 1, 1, 1]), 8)).toBe(3);
    expect(targetTokens(example([0, 0, 0, 1]), 2)).toBe(0);
    expect(targetTokens(example([0, 0, 0, 1]), 3)).toBe(1);
  });

  it('refuses runs with nothing to learn or no steps', async () => {
    const gpu = await testGpu();
    const model = new Transformer(gpu, config, initWeights(config, 3), { kind: 'lora', lora: LORA }, 1);
    const data = [example([0, 1, 1, 1]), example([0, 0, 1, 1])];
    const cfg = { ...DEFAULT_TRAIN, maxSteps: 2, batchSize: 2, maxSeqLength: 8 };
    expect(() => new Trainer(model, [example([0, 0, 0, 0])], cfg)).toThrow('nothing to learn: none of the 1 examples has a target token within the first 8 positions');
    expect(() => new Trainer(model, [example([0, 0, 0, 1])], { ...cfg, maxSeqLength: 2 })).toThrow(/nothing to learn/);
    expect(() => new Trainer(model, data, { ...cfg, batchSize: 0 })).toThrow('nothing to train: batchSize must be a whole number ≥ 1 (got 0)');
    expect(() => new Trainer(model, data, { ...cfg, gradAccumSteps: 0 })).toThrow(/gradAccumSteps must be/);
    expect(() => new Trainer(model, data, { ...cfg, maxSeqLength: 0 })).toThrow(/maxSeqLength must be/);
    expect(() => new Trainer(model, data, { ...cfg, maxSteps: 0, epochs: 0 })).toThrow('nothing to train: 0 epochs of 2 examples make no optimizer step');
    expect(new Trainer(model, data, cfg).totalSteps).toBe(2);
  });

  it('stops at the first step whose loss is not finite', async () => {
    const gpu = await testGpu();
    const weights = initWeights(config, 3);
    weights.get('model.norm.weight')!.data[0] = NaN;
    const model = new Transformer(gpu, config, weights, { kind: 'lora', lora: LORA }, 1);
    const trainer = new Trainer(model, [example([0, 1, 1, 1])], { ...DEFAULT_TRAIN, maxSteps: 3, batchSize: 1, maxSeqLength: 8 });
    await expect(trainer.step()).rejects.toThrow(/^training diverged at step 1 \(loss NaN, gradient norm NaN\): stopped before/);
  });

  it('stops a preference run at the first step whose loss is not finite', async () => {
    const gpu = await testGpu();
    const weights = initWeights(config, 3);
    weights.get('model.norm.weight')!.data[0] = NaN;
    const model = new Transformer(gpu, config, weights, { kind: 'lora', lora: LORA }, 1);
    const pair = { chosen: example([0, 0, 1, 1]), rejected: example([0, 0, 0, 1]) };
    for (const method of ['dpo', 'orpo'] as const) {
      const trainer = new PreferenceTrainer(model, [pair], { ...DEFAULT_TRAIN, maxSteps: 3, batchSize: 1, maxSeqLength: 8 }, { ...DEFAULT_PREFERENCE, method });
      await expect(trainer.step(), method).rejects.toThrow(/^training diverged at step 1 \(loss NaN, gradient norm NaN\): stopped before/);
    }
  });
});
