// The engine's model exports and evaluation loss, through its real message protocol: after a short run,
// exportModel gives a merged HF folder that loads back through loadHfModel, a GGUF LoRA (with its base GGUF and
// Modelfile) and a merged GGUF model with their Modelfiles, each with the run's README model card,
// and an ONNX model; evaluateLoss counts the same tokens under base and adapter, and the adapter's loss on
// the rows it trained on is lower than the base model's.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { loadHfModel } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import type { StartRunArgs } from '../../src/engine/api';
import { droppedFiles, engineOver } from '../helpers/engine';


describe('engine exports and evaluation', () => {
  it('exports merged, GGUF and ONNX files and evaluates loss under an adapter', async () => {
    const engine = engineOver();

    const files = buildTinyModel('llama-small', 2);
    const source = droppedFiles('tiny', files);
    await engine.loadModel(source);
    const records: StartRunArgs['records'] = [['Say hi.', 'Hi!'], ['Say bye.', 'Bye!'], ['Count.', 'One two.']].map(([q, a]) => ({
      messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }], split: 'train',
    }));
    const config: RunConfig = {
      ...PRESETS.quick,
      lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
      train: { ...PRESETS.quick.train, lr: 3e-2, maxSteps: 4, batchSize: 3, gradAccumSteps: 1, maxSeqLength: 48, seed: 1 },
      evalEvery: 0, checkpointEvery: 4,
    };
    const { runId, status } = await engine.startRun({ name: 'r', config, records, dataset: null });
    expect(status).toBe('completed');

    const merged = new Map((await engine.exportModel({ adapter: { kind: 'run', runId, checkpoint: 'last' }, format: 'merged', dtype: 'F32' })).files);
    expect([...merged.keys()]).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));
    const back = await loadHfModel(filesFromMap('merged', merged));
    expect(back.config.numLayers).toBe(2);

    const gguf = new Map((await engine.exportModel({ adapter: { kind: 'run', runId, checkpoint: 'last' }, format: 'gguf-lora' })).files);
    const [ggufBytes] = [...gguf.values()];
    expect(new TextDecoder().decode(ggufBytes.slice(0, 4))).toBe('GGUF');
    expect([...gguf.keys()]).toEqual(['adapter-f32.gguf', 'base-f16.gguf', 'Modelfile', 'README.md']);
    expect(new TextDecoder().decode(gguf.get('README.md'))).toContain('(3 conversations)');
    const ggufModel = new Map((await engine.exportModel({ adapter: { kind: 'run', runId, checkpoint: 'last' }, format: 'gguf', dtype: 'Q8_0' })).files);
    expect([...ggufModel.keys()]).toEqual(['model-q8_0.gguf', 'Modelfile', 'README.md']);
    expect(new TextDecoder().decode(ggufModel.get('Modelfile'))).toContain('FROM ./model-q8_0.gguf\n');

    const onnx = new Map((await engine.exportModel({ adapter: { kind: 'run', runId, checkpoint: 'last' }, format: 'onnx' })).files);
    expect(onnx.has('onnx/model.onnx')).toBe(true);

    const evalArgs = { records: records.map((r) => ({ messages: r.messages })), maxSeqLength: 48 };
    const tuned = await engine.evaluateLoss({ ...evalArgs, adapter: { kind: 'run', runId, checkpoint: 'last' } });
    const base = await engine.evaluateLoss({ ...evalArgs, adapter: { kind: 'base' } });
    expect(tuned.tokens).toBe(base.tokens);
    expect(tuned.tokens).toBeGreaterThan(0);
    expect(tuned.loss).toBeLessThan(base.loss); // 4 steps at lr 3e-2 on these very rows
    engine.dispose();
  });
});
