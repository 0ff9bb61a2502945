// The engine refuses what the GPU cannot hold, before anything is half-built: loading a model whose
// inference estimate exceeds what the device gives, and starting a run whose training estimate does; with
// activation checkpointing 'auto', a run that fits only with checkpointing starts (and 'off' refuses it); a model too
// big as f32 loads with a 4-bit base (the load's weights option, through the page's client) and trains on it.
// The device here is SwiftShader, which takes system RAM: navigator.deviceMemory (what a browser reports)
// caps its probe, which is how these tests make a small "GPU".
import { afterEach, describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { mib } from '../../src/gpu/memory';
import { configFromHf } from '../../src/io/hf';
import { estimateMemory } from '../../src/model/memory-estimate';
import { createMemoryRunStore } from '../../src/storage/runs';
import { PRESETS, runMemoryEstimate, type RunConfig } from '../../src/train/presets';
import type { StartRunArgs } from '../../src/engine/api';
import { droppedFiles, engineHere, engineOver } from '../helpers/engine';

const nav = globalThis.navigator as { deviceMemory?: number };
afterEach(() => { delete nav.deviceMemory; });

const files = buildTinyModel('llama-small', 4);
const source = droppedFiles('tiny-llama', files);
const modelConfig = configFromHf(JSON.parse(new TextDecoder().decode(files.get('config.json')!)));
const records: StartRunArgs['records'] = Array.from({ length: 4 }, (_, i) => ({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }], split: 'train' as const }));

describe('engine memory checks', () => {
  it('refuses to load a model the GPU could not run, keeping nothing', async () => {
    const engine = engineHere();
    const need = estimateMemory(modelConfig, { training: false, loraRank: 0, batchTokens: 512 }).inferenceBytes;
    nav.deviceMemory = need / 2 / 2 ** 30;
    await expect(engine.loadModel(source)).rejects.toThrow(`tiny-llama: Running this model needs about ${mib(need)} of GPU memory`);
    await expect(engine.loadModel(source)).rejects.toThrow(`could give ${mib(need / 2)}`);
    await expect(engine.tokenizerFiles()).rejects.toThrow(/Load a model first/);
    delete nav.deviceMemory;
    const info = await engine.loadModel(source);
    expect(info.memoryBudget.obtainedBytes).toBe(info.memoryBudget.requestedBytes);
  });

  it('refuses a run the GPU could not hold, before any run is recorded', async () => {
    const store = createMemoryRunStore();
    const engine = engineHere(store);
    await engine.loadModel(source);
    const config: RunConfig = { ...PRESETS.quick, evalEvery: 0, checkpointEvery: 0, lora: { ...PRESETS.quick.lora, targetModules: ['q_proj', 'v_proj'] }, train: { ...PRESETS.quick.train, maxSteps: 1, batchSize: 8, maxSeqLength: 64 } };
    const need = runMemoryEstimate(config, modelConfig, true).trainingBytes;   // 'auto' judges the checkpointed run
    nav.deviceMemory = need / 2 / 2 ** 30;
    await expect(engine.startRun({ name: 'too big', config, records, dataset: { id: 'd', name: 'd', version: 1 } }))
      .rejects.toThrow(new RegExp(`^Training needs about ${mib(need)} .*could give ${mib(need / 2)}.*Lower the batch size`));
    expect(await store.list()).toEqual([]);
    delete nav.deviceMemory;
    const done = await engine.startRun({ name: 'fits', config, records, dataset: { id: 'd', name: 'd', version: 1 } });
    expect(done.status).toBe('completed');
  });

  it("with checkpointing 'auto', starts a run that fits only with it; 'off' refuses the same run", async () => {
    const store = createMemoryRunStore();
    const engine = engineHere(store);
    await engine.loadModel(source);
    const train = { ...PRESETS.quick.train, maxSteps: 1, batchSize: 8, maxSeqLength: 64 };
    const config: RunConfig = { ...PRESETS.quick, evalEvery: 0, checkpointEvery: 0, lora: { ...PRESETS.quick.lora, targetModules: ['q_proj', 'v_proj'] }, train };
    const kept = runMemoryEstimate(config, modelConfig, false).trainingBytes, recomputed = runMemoryEstimate(config, modelConfig, true).trainingBytes;
    expect(recomputed).toBeLessThan(kept);
    nav.deviceMemory = (kept + recomputed) / 2 / 2 ** 30;
    const off = { ...config, train: { ...train, activationCheckpointing: 'off' as const } };
    await expect(engine.startRun({ name: 'off', config: off, records, dataset: { id: 'd', name: 'd', version: 1 } }))
      .rejects.toThrow(new RegExp(`^Training needs about ${mib(kept)} `));
    const done = await engine.startRun({ name: 'auto', config, records, dataset: { id: 'd', name: 'd', version: 1 } });
    expect(done.status).toBe('completed');
    expect((await store.list()).map((r) => r.name)).toEqual(['auto']);
  });

  it('a model too big as f32 loads with 4-bit weights, and a run trains on that base', async () => {
    const store = createMemoryRunStore();
    const engine = engineOver(store);
    const f32 = estimateMemory(modelConfig, { training: false, loraRank: 0, batchTokens: 512 }).inferenceBytes;
    const q4 = estimateMemory(modelConfig, { training: false, loraRank: 0, batchTokens: 512, weights: 'q4' }).inferenceBytes;
    expect(q4).toBeLessThan(f32);
    nav.deviceMemory = (f32 + q4) / 2 / 2 ** 30;
    await expect(engine.loadModel(source)).rejects.toThrow(`Running this model needs about ${mib(f32)}`);
    const info = await engine.loadModel({ ...source, weights: 'q4' });
    expect(info).toMatchObject({ weights: 'q4', inferenceBytes: q4 });
    // A run that fits only because the base is 4-bit: the engine's check counts the base as it is kept.
    const train = { ...PRESETS.quick.train, maxSteps: 2, batchSize: 2, maxSeqLength: 32, activationCheckpointing: 'off' as const };
    const config: RunConfig = { ...PRESETS.quick, evalEvery: 0, checkpointEvery: 0, lora: { ...PRESETS.quick.lora, targetModules: ['q_proj', 'v_proj'] }, train };
    const asF32 = runMemoryEstimate(config, modelConfig).trainingBytes, asQ4 = runMemoryEstimate({ ...config, train: { ...train, weights: 'q4' } }, modelConfig).trainingBytes;
    nav.deviceMemory = (asF32 + asQ4) / 2 / 2 ** 30;
    const done = await engine.startRun({ name: 'q4 base', config, records, dataset: { id: 'd', name: 'd', version: 1 } });
    expect(done.status).toBe('completed');
  });
});
