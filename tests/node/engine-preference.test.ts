// Preference runs in the engine (startPreferenceRun → src/engine/preference-run.ts), through its real message
// protocol (client ⇄ serveEngine over a MessageChannel):
//  - a fresh DPO run reports each step's loss, rewards, margins and accuracy; its first step is the reference
//    itself (loss ln 2, margin 0); the losses equal PreferenceTrainer's on a Transformer built outside the engine
//    (1e-6 relative: same kernels, same values); the returned PEFT adapter scores like those trained values;
//  - a run continuing an SFT run's checkpoint takes that run's LoRA shape and starts at the SFT values (against the
//    adapter switched off its first margin is not 0);
//  - cancel between steps stops it with the steps so far.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { applyPeftAdapter, loraFromPeftConfig } from '../../src/export/peft';
import { loadHfModel, templateOf } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { Transformer } from '../../src/model/transformer';
import { createMemoryRunStore } from '../../src/storage/runs';
import { preferencePairOf, PreferenceTrainer, tokenizePreference, type PreferenceConfig } from '../../src/train/preference';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import type { EngineEvent } from '../../workers/protocol-engine';
import { droppedFiles, engineOver } from '../helpers/engine';
import { testGpu } from '../helpers/gpu';

const modelFiles = buildTinyModel('llama-small', 4);
const source = droppedFiles('tiny-llama', modelFiles);
const pairs = [
  { prompt: 'Where does Mira live?', chosen: 'Mira lives in Tollen.', rejected: 'Tollen.' },
  { prompt: 'Who keeps the lighthouse?', chosen: 'Old Bram keeps it.', rejected: 'Bram.' },
  { prompt: 'Name a colour.', chosen: 'Blue, like the sea.', rejected: 'Blue.' },
].map(preferencePairOf);
const config: RunConfig = {
  ...PRESETS.quick,
  lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] },
  train: { ...PRESETS.quick.train, lr: 1e-2, maxSteps: 3, batchSize: 2, maxSeqLength: 48, seed: 5 },
};
const preference: PreferenceConfig = { method: 'dpo', beta: 0.1, labelSmoothing: 0, reference: 'start' };
const steps = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'preference-step' ? [e.point] : []));

describe('engine: preference runs', () => {
  it('a fresh DPO run: live rewards and margins, the in-process trainer\'s losses, the trained adapter back', async () => {
    const engine = engineOver(createMemoryRunStore());
    await engine.loadModel(source);
    const events: EngineEvent[] = [];
    const out = await engine.startPreferenceRun({ config, preference, pairs }, (e) => events.push(e));
    expect(out.status).toBe('completed');
    expect(steps(events)).toEqual(out.points);
    expect(out.points.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(Math.abs(out.points[0].loss - Math.LN2)).toBeLessThan(1e-6);
    expect(out.points[0].margins).toBe(0);
    expect(out.points[2].margins).toBeGreaterThan(0);
    expect(out.points[2].rewardsChosen).toBeGreaterThan(out.points[2].rewardsRejected);

    // The same run outside the engine: a Transformer from the same files and seed, the same trainer.
    const m = await loadHfModel(filesFromMap('tiny-llama', modelFiles));
    const net = new Transformer(await testGpu(), m.config, m.weights, { kind: 'lora', lora: config.lora }, config.train.seed);
    const data = pairs.map((p) => tokenizePreference(m.tokenizer, templateOf(m), p, config.train.maxSeqLength));
    const t = new PreferenceTrainer(net, data, config.train, preference, m.tokenizer.padTokenId ?? 0);
    for (const p of out.points) {
      const s = await t.step();
      expect(Math.abs(s.loss - p.loss) / p.loss).toBeLessThan(1e-6);
      expect(Math.abs(s.margins - p.margins)).toBeLessThan(1e-6 * Math.max(1, Math.abs(p.margins)));
    }
    // The returned adapter holds those trained values.
    expect(loraFromPeftConfig(out.adapter['adapter_config.json']).lora).toMatchObject({ rank: 4, alpha: 8 });
    const trained = await net.params.readFlat('params');
    const back = new Transformer(await testGpu(), m.config, m.weights, { kind: 'lora', lora: config.lora });
    applyPeftAdapter(back, out.adapter['adapter_model.safetensors']);
    const got = await back.params.readFlat('params');
    expect(Math.max(...got.map((v, i) => Math.abs(v - trained[i])))).toBeLessThan(1e-6);
    net.destroy();
    back.destroy();
  });

  it('continues an SFT run\'s checkpoint with its LoRA shape; cancel stops between steps', async () => {
    const engine = engineOver(createMemoryRunStore());
    await engine.loadModel(source);
    const sftLora = { rank: 2, alpha: 4, dropout: 0, useRslora: false, targetModules: ['q_proj', 'o_proj'] };
    const records = pairs.map((p) => ({ messages: [...p.prompt, ...p.chosen], split: 'train' as const }));
    const sft = await engine.startRun({ name: 'sft', config: { ...config, evalEvery: 0, lora: sftLora, train: { ...config.train, maxSteps: 2 } }, records, dataset: null });
    expect(sft.status).toBe('completed');

    const events: EngineEvent[] = [];
    let runId = '';
    // Reference: the adapter off, so the first step's margin shows the SFT values are in (a fresh adapter's is 0).
    const out = await engine.startPreferenceRun({ config, preference: { ...preference, reference: 'base' }, pairs, start: { kind: 'run', runId: sft.runId, checkpoint: 'last' } }, (e) => {
      events.push(e);
      if (e.type === 'preference-step' && e.point.step === 1) {
        runId = e.runId;
        void engine.control(runId, 'cancel');
      }
    });
    expect(out.runId).toBe(runId);
    expect(out.status).toBe('cancelled');
    // The cancel lands between steps: after step 1 or, when step 2 had already begun, after it; never all 3.
    expect(out.points.length).toBeLessThan(3);
    expect(steps(events)).toEqual(out.points);
    expect(Math.abs(out.points[0].margins)).toBeGreaterThan(1e-4);
    expect(loraFromPeftConfig(out.adapter['adapter_config.json']).lora).toMatchObject({ rank: 2, alpha: 4, targetModules: ['o_proj', 'q_proj'] });
  });
});
