// Held-out preference evaluation (src/eval/preference.ts) and `studio eval --pairs`:
//  - the scores of a hand-computed case (log-prob accuracy and margin, reward accuracy against a reference,
//    greedy answers equal to chosen / rejected, a property), ties counting as not preferred;
//  - the per-pair summed answer log-probs on the committed tiny Llama with a random LoRA, adapter on and off,
//    against log-softmax sums computed here in float64 from the plain forward's logits (1e-4 absolute on sums over
//    an answer's tokens: f32 kernels against float64 over the same f32 logits);
//  - the CLI on the same model prints the same log-prob scores as the in-process evaluation (its JSON).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluatePreference, preferenceScores } from '../../src/eval/preference';
import { loadHfModel, templateOf } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { Transformer } from '../../src/model/transformer';
import { pairLogps } from '../../src/train/preference';
import { preferencePairOf, tokenizePreference, type PreferencePair } from '../../src/train/preference-pairs';
import { studioJson } from '../helpers/cli';
import { testGpu } from '../helpers/gpu';
import { logitsOf } from '../helpers/model';
import { withRandomLora } from '../helpers/random-lora';

const MODEL = join(__dirname, '..', 'fixtures', 'models', 'llama-small');
const ROWS = [
  { prompt: 'Where does Mira live?', chosen: 'Mira lives in Tollen.', rejected: 'Tollen.' },
  { prompt: [{ role: 'user', content: 'Who keeps the lighthouse?' }], chosen: [{ role: 'assistant', content: 'Old Bram keeps it.' }], rejected: [{ role: 'assistant', content: 'Bram.' }] },
  { prompt: 'What is the river called?', chosen: 'The Senn.', rejected: 'It has no name.' },
];
const tmp = mkdtempSync(join(tmpdir(), 'eval-pref-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('preferenceScores', () => {
  it('a hand-computed case', () => {
    const pairs: PreferencePair[] = ROWS.map(preferencePairOf);
    const logps = [{ chosen: -3, rejected: -5 }, { chosen: -4, rejected: -4 }, { chosen: -6, rejected: -2 }];
    const reference = [{ chosen: -4, rejected: -4 }, { chosen: -5, rejected: -3 }, { chosen: -7, rejected: -2.5 }];
    // margins πc-πr: 2, 0 (tie), -4 → 1 of 3, mean -2/3. Reward margins (πc-refc)-(πr-refr): 1-(-1)=2, 1-(-1)=2, 1-0.5=0.5.
    const answers = ['  Mira lives in Tollen. ', 'Bram.', 'The Senn flows by.'];
    const s = preferenceScores(pairs, logps, { reference, answers, property: (_, a) => a.includes('Senn') || a.includes('Tollen') });
    expect(s.pairs).toBe(3);
    expect(s.logpAccuracy).toBeCloseTo(1 / 3, 15);
    expect(s.logpMargin).toBeCloseTo(-2 / 3, 15);
    expect(s.rewardAccuracy).toBe(1);
    expect(s.rewardMargin).toBeCloseTo(4.5 / 3, 15);
    expect(s.generation).toEqual({ chosenRate: 1 / 3, rejectedRate: 1 / 3, propertyRate: 2 / 3 });
    expect(preferenceScores(pairs, logps).generation).toBeUndefined();
    expect(() => preferenceScores(pairs, logps.slice(1))).toThrow('need one log-prob pair per preference pair (2 for 3)');
  });
});

/** Σ over the mask of log softmax(logits[t-1])[ids[t]], in float64. */
async function summedLogp(model: Transformer, ex: { inputIds: number[]; lossMask: number[] }): Promise<number> {
  const V = model.config.vocabSize;
  const logits = await logitsOf(model, ex.inputIds);
  let sum = 0;
  for (let t = 1; t < ex.inputIds.length; t++) {
    if (!ex.lossMask[t]) continue;
    const row = logits.subarray((t - 1) * V, t * V);
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const lse = max + Math.log(row.reduce((a, b) => a + Math.exp(b - max), 0));
    sum += row[ex.inputIds[t]] - lse;
  }
  return sum;
}

describe('evaluatePreference on a real model', () => {
  it('summed answer log-probs equal a float64 log-softmax of the logits, adapter on and off; the CLI agrees', async () => {
    const loaded = await loadHfModel(filesFromDirectory(MODEL));
    const pairs = ROWS.map(preferencePairOf);
    const examples = pairs.map((p) => tokenizePreference(loaded.tokenizer, templateOf(loaded), p, 64));
    const { model } = await withRandomLora(loaded, 4, 7, ['q_proj', 'v_proj']);
    const lp = await pairLogps(model, examples, 2, 64, 0);
    model.adapterEnabled = false;
    const base = await pairLogps(model, examples, 2, 64, 0);
    const baseHand = [];
    for (const e of examples) baseHand.push({ chosen: await summedLogp(model, e.chosen), rejected: await summedLogp(model, e.rejected) });
    model.adapterEnabled = true;
    const hand = [];
    for (const e of examples) hand.push({ chosen: await summedLogp(model, e.chosen), rejected: await summedLogp(model, e.rejected) });
    for (let i = 0; i < pairs.length; i++) {
      expect(Math.abs(lp[i].chosen - hand[i].chosen)).toBeLessThan(1e-4);
      expect(Math.abs(lp[i].rejected - hand[i].rejected)).toBeLessThan(1e-4);
      expect(Math.abs(base[i].chosen - baseHand[i].chosen)).toBeLessThan(1e-4);
      expect(Math.abs(base[i].rejected - baseHand[i].rejected)).toBeLessThan(1e-4);
    }
    expect(lp.some((x, i) => Math.abs(x.chosen - base[i].chosen) > 1e-2), 'the adapter changes the log-probs').toBe(true);
    const s = await evaluatePreference(model, pairs, examples, { batchSize: 2, maxSeqLength: 64, padId: 0, reference: 'base' });
    expect(s).toEqual(preferenceScores(pairs, lp, { reference: base }));
    model.destroy();

    // The CLI, base model only (no adapter: no reward scores), against the in-process numbers.
    const plain = new Transformer(await testGpu(), loaded.config, loaded.weights, { kind: 'none' });
    const want = preferenceScores(pairs, await pairLogps(plain, examples, 4, 64, 0));
    plain.destroy();
    const file = join(tmp, 'pairs.jsonl');
    writeFileSync(file, ROWS.map((r) => JSON.stringify(r)).join('\n'));
    const got = studioJson('eval', MODEL, '--pairs', file, '--max-seq-len', '64', '--max-new-tokens', '8', '--json');
    expect(got).toMatchObject({ pairs: 3, logpAccuracy: want.logpAccuracy });
    expect(Math.abs((got.logpMargin as number) - want.logpMargin)).toBeLessThan(1e-5);
    expect(got.rewardAccuracy).toBeUndefined();
    const g = got.generation as { chosenRate: number; rejectedRate: number };
    expect(g.chosenRate + g.rejectedRate).toBeLessThanOrEqual(1);
  });
});
