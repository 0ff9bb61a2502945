// The GRPO panel's store (app/features/training/grpoStore.ts), built with createGrpoStore on the engine through the
// page's client and on the page's engine store (app/store/engine.ts): rewards added (a JavaScript one with the
// template, named apart), changed and removed, each change clearing the tried table; "try it" on 4 prompts spread over
// the open dataset's unflagged train split (the template's values checked against the answers shown), or a message
// when there is none; start() handing the engine store a GRPO run (config.grpo the panel's, no validation, packing
// or preference, the train split's rows, the run it starts from), which the engine store watches as a GRPO run: its
// points carry rewards and its latest groups are the step's G answers per prompt. The settings are saved on each
// change and read back (readGrpoSettings), a NaN field as NaN with the reward code kept.
import { describe, expect, it } from 'vitest';
import { createGrpoStore, PANEL_GRPO, readGrpoSettings, REWARD_TEMPLATE } from '../../app/features/training/grpoStore';
import { createEngineStore } from '../../app/store/engine';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { DatasetRecord } from '../../src/data/record';
import type { StartGrpoRunArgs } from '../../src/engine/api';
import type { GrpoConfig } from '../../src/train/grpo';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import { droppedFiles, engineOver } from '../helpers/engine';

const row = (i: number, split: 'train' | 'validation', flagged = false) => ({
  id: `r${i}`, split, flagged, source: { file: 'qa.jsonl', line: i + 1 },
  messages: [{ role: 'user', content: `Where does Person${i} live?` }, { role: 'assistant', content: `Person${i} lives in Town${i}.` }],
} as unknown as DatasetRecord);
const records = [row(0, 'train'), row(1, 'validation'), row(2, 'train', true), ...[3, 4, 5, 6, 7, 8, 9, 10].map((i) => row(i, 'train'))];
const form: RunConfig = {
  ...PRESETS.quick, lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
  train: { ...PRESETS.quick.train, maxSteps: 2, batchSize: 4, maxSeqLength: 48, warmupSteps: 0 }, evalEvery: 20, earlyStopPatience: 2, packing: true,
};
/** The template's reward, here: the share of the answer's words found in the reference. */
const overlap = (completion: string, reference: string) => {
  const words = (s: string) => s.toLowerCase().match(/[a-z0-9']+/g) ?? [];
  const want = new Set(words(reference));
  const got = words(completion);
  return got.length ? got.filter((w) => want.has(w)).length / got.length : 0;
};

describe('GRPO panel store', () => {
  it('edits rewards, tries them on 4 prompts, starts a GRPO run the engine store watches with its groups', async () => {
    const engine = engineOver();
    const engineStore = createEngineStore({ engine });
    await engineStore.getState().loadModel(droppedFiles('tiny', buildTinyModel('llama-small', 2)).source);
    const started: StartGrpoRunArgs[] = [];
    const saved: GrpoConfig[] = [];
    let dataset: readonly DatasetRecord[] = [];
    const store = createGrpoStore({
      engine: () => engine, dataset: () => ({ records: dataset, current: null }),
      startGrpoRun: async (a) => { started.push(a); await engineStore.getState().startGrpoRun(a); },
      saved: { load: () => null, save: (g) => saved.push(g) },
    });
    const s = () => store.getState();
    expect(s().grpo).toEqual(PANEL_GRPO);

    await s().tryRewards(form);
    expect(s().message).toBe('the open dataset has no training rows to take prompts from');
    dataset = records;

    s().removeReward(0);
    s().addReward('function');
    s().addReward('function');
    expect(s().grpo.rewards.map((r) => (r.kind === 'function' ? r.name : r.kind))).toEqual(['ends-cleanly', 'reward1', 'reward2']);
    expect(s().grpo.rewards[1]).toMatchObject({ source: REWARD_TEMPLATE, weight: 1 });
    s().removeReward(2);
    s().set({ maxNewTokens: 6, numGenerations: 2, temperature: 1.2 });
    await s().tryRewards(form);
    expect(s().message).toBeNull();
    const preview = s().preview!;
    expect(preview.names).toEqual(['ends-cleanly', 'reward1']);
    // Four of the eight usable train rows, spread over them (the validation and flagged rows left out).
    expect(preview.samples.map((x) => x.prompt)).toEqual(['Where does Person0 live?', 'Where does Person4 live?', 'Where does Person6 live?', 'Where does Person8 live?']);
    for (const x of preview.samples) {
      expect(x.values[1]).toBeCloseTo(overlap(x.completion, x.reference!), 12);
      expect(x.errors).toEqual([null, null]);
    }
    s().updateReward(0, { kind: 'ends-cleanly', weight: 0.5 });
    expect(s().preview).toBeNull();   // the tried values were the old rewards'

    await s().start(form);
    expect(started).toHaveLength(1);
    const args = started[0];
    expect(args).toMatchObject({ name: 'GRPO on the current dataset', start: null, dataset: null, config: form, grpo: s().grpo });
    // The run as the engine stored it: GRPO's settings, no validation split, no packing.
    const [stored] = await engine.listRuns();
    expect(stored.config).toMatchObject({ evalEvery: 0, earlyStopPatience: 0, packing: false, grpo: s().grpo, train: form.train });
    expect(stored.config.preference).toBeUndefined();
    expect(args.records.map((r) => r.messages[0].content)).toEqual(records.filter((r) => r.split === 'train' && !r.flagged).map((r) => r.messages[0].content));
    const live = engineStore.getState().live!;
    expect(engineStore.getState().error).toBeNull();
    expect(live).toMatchObject({ method: 'grpo', status: 'completed', totalSteps: 2 });
    expect(live.points.every((p) => Number.isFinite(p.reward) && p.rewardMeans?.length === 2)).toBe(true);
    // Batch 4, G 2: the latest groups are the second step's 2 prompts × 2 answers.
    expect(live.groups?.step).toBe(2);
    expect(live.groups!.groups.map((g) => g.answers.length)).toEqual([2, 2]);
    for (const g of live.groups!.groups) for (const a of g.answers) expect(a.rewards[1]).toBeCloseTo(overlap(a.text, g.reference!), 12);

    // Saved on each change; read back field by field: a NaN (JSON's null) as NaN, the code kept, an old shape's
    // missing or mistyped fields at their defaults.
    expect(saved.at(-1)).toEqual(s().grpo);
    const back = readGrpoSettings(JSON.stringify({ ...s().grpo, beta: NaN, lossType: 7 }))!;
    expect(back.rewards).toEqual(s().grpo.rewards);
    expect(back.beta).toBeNaN();
    expect(back.lossType).toBe('dapo');
    expect(readGrpoSettings(JSON.stringify({ rewards: [{ kind: 'function', name: 'f', source: 'x', weight: null }] }))).toEqual({ ...PANEL_GRPO, rewards: [{ kind: 'function', name: 'f', source: 'x', weight: NaN }] });
    expect([readGrpoSettings(null), readGrpoSettings('{')]).toEqual([null, null]);
  }, 120_000);
});
