// The preference panel's store (app/features/training/store.ts), built with createTrainingStore on the engine through
// the page's client: pairs from JSONL text (a bad row refused with its line), from the open dataset's train split
// (the validation pairs held out), a pair's tokens as the preference loss sees them, and start() handing the run,
// with the method and its weights, to whoever watches runs.
import { describe, expect, it } from 'vitest';
import { createTrainingStore } from '../../app/features/training/store';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { DatasetRecord } from '../../src/data/record';
import type { StartPreferenceRunArgs } from '../../src/engine/api';
import { PRESETS } from '../../src/train/presets';
import { droppedFiles, engineOver } from '../helpers/engine';

const pair = (prompt: string, chosen: string, rejected: string) => JSON.stringify({ prompt, chosen, rejected });
const dataset = (split: 'train' | 'validation', q: string) => ({
  id: q, split, flagged: false, source: { file: 'pairs.jsonl', line: 1 },
  messages: [{ role: 'user', content: q }, { role: 'assistant', content: 'good' }], rejected: [{ role: 'assistant', content: 'bad' }],
} as unknown as DatasetRecord);

describe('training store', () => {
  it('reads pairs, previews a pair\'s mask, and starts a DPO run with the panel\'s settings', async () => {
    const engine = engineOver();
    await engine.loadModel(droppedFiles('tiny', buildTinyModel('llama-small', 2)));
    const started: StartPreferenceRunArgs[] = [];
    const store = createTrainingStore({
      engine: () => engine, startPreferenceRun: async (a) => { started.push(a); },
      dataset: () => ({ records: [dataset('train', 'a?'), dataset('train', 'b?'), dataset('validation', 'c?')], current: null }),
      fetchText: async () => { throw new Error('offline'); },
    });
    const s = () => store.getState();
    s().readPairs('bad.jsonl', `${pair('q', 'a', 'b')}\n{"prompt": "x", "chosen": "y"}`);
    expect(s().message).toBe("bad.jsonl line 2: has 'chosen' but no 'rejected'");
    expect(s().pairs).toBeNull();
    await s().loadSample();
    expect(s().message).toBe('offline');

    s().readDataset();
    expect(s().pairs).toMatchObject({ name: 'the current dataset', heldOut: 1 });
    expect(s().pairs!.pairs).toHaveLength(2);
    await s().showMask(0, 32);
    expect(s().mask!.chosen.some((t) => t.target)).toBe(true);
    expect(s().mask!.chosen.filter((t) => t.target).map((t) => t.text).join('')).toContain('good');

    s().set({ method: 'dpo', beta: 0.2, rpoAlpha: 1 });
    await s().start(PRESETS.quick);
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ name: 'DPO on the current dataset', preference: { method: 'dpo', beta: 0.2, rpoAlpha: 1, reference: 'start' }, start: null });
  });
});
