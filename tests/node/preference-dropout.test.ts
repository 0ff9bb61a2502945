// LoRA dropout in preference runs (src/train/preference.ts): the sequence weights come from a training forward with
// the micro-batch's dropout seed and gradScale 0, and the weighted backward repeats that forward with the same seed.
//  - what that relies on: two training forwards with one seed see the same dropout masks (per-token losses equal
//    bit for bit, one scaled by a power-of-two mask weight), another seed sees others, and gradScale 0 leaves the
//    gradients zero;
//  - a DPO step with dropout 0.1 gives the same gradients bit for bit for the same seed, other gradients for another
//    seed, and other gradients than dropout 0 (whose exact match with TRL is tests/node/dpo-trl.test.ts).
// Model: the committed tiny Llama with a random LoRA (B nonzero, so dropout on A's input changes the output).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHfModel, templateOf, type LoadedModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import type { Transformer } from '../../src/model/transformer';
import { makeBatch } from '../../src/train/batch';
import { DEFAULT_PREFERENCE, PreferenceTrainer } from '../../src/train/preference';
import { preferencePairOf, tokenizePreference } from '../../src/train/preference-pairs';
import { DEFAULT_TRAIN } from '../../src/train/trainer';
import { withRandomLora } from '../helpers/random-lora';

const MODEL = join(__dirname, '..', 'fixtures', 'models', 'llama-small');
const ROWS = [
  { prompt: 'Where does Mira live?', chosen: 'Mira lives in Tollen, by the harbour.', rejected: 'In Tollen.' },
  { prompt: 'Who keeps the lighthouse?', chosen: 'Old Bram keeps it, as his father did.', rejected: 'Bram.' },
];
const TARGETS = ['q_proj', 'v_proj', 'down_proj'];

let loaded: LoadedModel;
async function model(dropout: number): Promise<Transformer> {
  loaded ??= await loadHfModel(filesFromDirectory(MODEL));
  return (await withRandomLora(loaded, 4, 11, TARGETS, dropout)).model;
}

async function losses(m: Transformer, b: ReturnType<typeof makeBatch>, gradScale: number, seed: number): Promise<Float32Array> {
  const t = m.trainStep(b, gradScale, seed);
  const v = await m.gpu.read(t);
  m.gpu.release(t);
  return v;
}

/** The gradients of one DPO step (reference: the model as it starts) with this dropout and seed. */
async function dpoGrads(dropout: number, seed: number): Promise<Float32Array> {
  const m = await model(dropout);
  const pairs = ROWS.map((r) => tokenizePreference(loaded.tokenizer, templateOf(loaded), preferencePairOf(r), 64));
  const t = new PreferenceTrainer(m, pairs, { ...DEFAULT_TRAIN, lr: 1e-3, batchSize: 2, maxSteps: 1, shuffle: false, seed, maxSeqLength: 64 }, DEFAULT_PREFERENCE);
  await t.step();
  const g = await m.gpu.read(m.params.flat!.grads);
  m.destroy();
  return g;
}

describe('LoRA dropout in preference runs', () => {
  it('one seed, one set of dropout masks: the measuring forward is the forward backward sees', async () => {
    const m = await model(0.1);
    const ex = tokenizePreference(loaded.tokenizer, templateOf(loaded), preferencePairOf(ROWS[0]), 64);
    const b = makeBatch([ex.chosen, ex.rejected], 64, 0);
    const measured = await losses(m, b, 0, 5);
    expect(Array.from(await m.gpu.read(m.params.flat!.grads)).every((x) => x === 0), 'gradScale 0 accumulates nothing').toBe(true);
    const weighted = await losses(m, { ...b, lossMask: b.lossMask.map((x) => 2 * x) }, 1, 5);
    expect(Array.from(weighted).map((x) => x / 2)).toEqual(Array.from(measured));
    const other = await losses(m, b, 0, 6);
    expect(Array.from(other)).not.toEqual(Array.from(measured));
    m.destroy();
  });

  it('a DPO step with dropout 0.1: the same gradients for the same seed, others for another seed or no dropout', async () => {
    const a = await dpoGrads(0.1, 1), again = await dpoGrads(0.1, 1), b = await dpoGrads(0.1, 2), none = await dpoGrads(0, 1);
    expect(a.some((x) => x !== 0)).toBe(true);
    expect(again).toEqual(a);
    const diff = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => Math.max(s, Math.abs(v - y[i])), 0);
    const scale = a.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
    // Dropout 0.1 on a rank-4 LoRA input moves the gradients by a visible share of their size (not rounding noise).
    expect(diff(a, b)).toBeGreaterThan(1e-3 * scale);
    expect(diff(a, none)).toBeGreaterThan(1e-3 * scale);
  });
});
