// The page's engine store (app/store/engine.ts), built with createEngineStore on the engine through the page's client
// (tests/helpers/engine.ts): a load fills `model` and tells onModelLoaded, a run's events fold into `live` (points,
// status) and the history, a refusal becomes `error` with nothing recorded, and a lost device is said. A lost engine
// worker is said once (engineLost, not also `error`), and a restart loads the model again from the source it had.
import { afterEach, describe, expect, it } from 'vitest';
import { createEngineStore } from '../../app/store/engine';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { ModelSource, StartRunArgs } from '../../src/engine/api';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import { createMemoryRunStore } from '../../src/storage/runs';
import { droppedFiles, engineOver, enginePair, engineWorkerPort } from '../helpers/engine';

const nav = globalThis.navigator as { deviceMemory?: number };
afterEach(() => { delete nav.deviceMemory; });

const { source } = droppedFiles('tiny', buildTinyModel('llama-small', 2));
const records: StartRunArgs['records'] = [['Say hi.', 'Hi!'], ['Say bye.', 'Bye!'], ['Count.', 'One two.']].map(([q, a]) => ({
  messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }], split: 'train',
}));
const config: RunConfig = {
  ...PRESETS.quick, lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
  train: { ...PRESETS.quick.train, maxSteps: 3, batchSize: 3, maxSeqLength: 32 }, evalEvery: 0, checkpointEvery: 0,
};

describe('engine store', () => {
  it('loads, watches a run live, lists it, and shows a refusal as an error', async () => {
    const loaded: ModelSource[] = [];
    const store = createEngineStore({ engine: engineOver(), onModelLoaded: (s) => loaded.push(s) });
    const s = () => store.getState();
    await s().probe();
    expect(s().adapter?.available).toBe(true);
    await s().loadModel(source);
    expect(s().model?.name).toBe('tiny');
    expect(loaded).toEqual([source]);
    expect(s().loading).toBeNull();

    const steps: number[] = [];
    const unsubscribe = store.subscribe((st, prev) => { const last = st.live?.points.at(-1); if (last && st.live!.points.length !== prev.live?.points.length) steps.push(last.step); });
    await s().startRun({ name: 'watched', config, records, dataset: null });
    unsubscribe();
    expect(steps).toEqual([1, 2, 3]);
    expect(s().live).toMatchObject({ name: 'watched', method: 'sft', status: 'completed', totalSteps: 3 });
    await s().refreshRuns();
    expect(s().runs.map((r) => r.name)).toEqual(['watched']);
    expect(s().error).toBeNull();

    nav.deviceMemory = 1e-6;
    await s().startRun({ name: 'refused', config: { ...config, train: { ...config.train, batchSize: 8 } }, records, dataset: null });
    expect(s().error).toMatch(/^Training needs about .*could give/);
    expect(s().runs.map((r) => r.name)).toEqual(['watched']);
    s().dismissError();
    expect(s().error).toBeNull();
  });

  it('says a lost engine once, drops what it held, and restarts with the model loaded again', async () => {
    const runs = createMemoryRunStore();
    const { worker, engine } = enginePair(runs);
    const store = createEngineStore({ engine, restart: () => engine.reconnect(engineWorkerPort(runs)) });
    const s = () => store.getState();
    await s().loadModel(source, 'f32');
    await s().startRun({ name: 'kept', config, records, dataset: null });
    expect(s().model?.name).toBe('tiny');

    const lost = 'The engine worker stopped (it was closed, crashed or ran out of memory); what it was doing is lost.';
    const loading = s().loadModel(source);          // waiting when the worker goes
    worker.close();
    engine.lose(lost);
    await loading;
    await s().refreshRuns();                        // a call after the loss settles at once
    expect({ engineLost: s().engineLost, error: s().error, model: s().model, loading: s().loading }).toEqual({ engineLost: lost, error: null, model: null, loading: null });

    await s().restartEngine();
    expect({ engineLost: s().engineLost, error: s().error, name: s().model?.name }).toEqual({ engineLost: null, error: null, name: 'tiny' });
    expect(s().runs.map((r) => [r.name, r.status])).toEqual([['kept', 'completed']]);   // the stored runs are as they were
  });
});
