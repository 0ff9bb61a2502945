// The Export tab's store (app/features/export/store.ts), built with createExportStore on the engine through the page's
// client: a run's export is the engine's files with their card in one zip folder `<run>-<format>`, the kit is made
// from the dataset's unflagged train split, a choice whose model is not loaded is refused with the reason and
// nothing saved, and the ONNX check says the export matches.
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { createExportStore, exportSelectors, type ExportTarget } from '../../app/features/export/store';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { DatasetRecord } from '../../src/data/record';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import { droppedFiles, engineOver } from '../helpers/engine';

const { source } = droppedFiles('tiny', buildTinyModel('llama-small', 2));
const chat = (q: string, a: string, split: 'train' | 'validation', flagged = false) => ({
  id: q, messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }], split, flagged,
} as unknown as DatasetRecord);
const records = [chat('Say hi.', 'Hi!', 'train'), chat('Say bye.', 'Bye!', 'train', true), chat('Count.', 'One two.', 'validation')];
const config: RunConfig = {
  ...PRESETS.quick, lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
  train: { ...PRESETS.quick.train, maxSteps: 2, batchSize: 2, maxSeqLength: 32 }, evalEvery: 0, checkpointEvery: 0,
};

describe('export store', () => {
  it('downloads the engine\'s files with their card as one zip, refuses without the model, and checks ONNX', async () => {
    const engine = engineOver();
    const saved: { name: string; files: Record<string, Uint8Array> }[] = [];
    const store = createExportStore({ engine: () => engine, save: (name, bytes) => saved.push({ name, files: unzipSync(bytes) }) });
    const s = () => store.getState();
    const { runId } = await (async () => {
      const model = await engine.loadModel({ source });
      return { model, ...await engine.startRun({ name: 'Run 1', config, records: records.map((r) => ({ messages: r.messages, split: r.split })), dataset: null }) };
    })();
    const runs = await engine.listRuns();
    const { run, imported } = exportSelectors.chosen('', runs, []);
    expect(run?.id).toBe(runId);

    // Without the model loaded: refused, nothing saved.
    await s().exportFormat('peft', { run, imported, model: null, records });
    expect(s().error).toBe('PEFT adapter export failed, nothing was saved: load the run\'s base model on the Train tab first (the adapter is read from the engine)');
    expect(saved).toEqual([]);

    const target: ExportTarget = { run, imported, model: (await engine.loadModel({ source })), records };
    await s().exportFormat('peft', target);
    expect(s().error).toBeNull();
    expect(saved[0].name).toBe('Run_1-peft.zip');
    expect(Object.keys(saved[0].files).sort()).toEqual(['Run_1-peft/README.md', 'Run_1-peft/adapter_config.json', 'Run_1-peft/adapter_model.safetensors']);
    expect(s().done).toMatch(/^Downloaded Run_1-peft\.zip/);

    await s().exportFormat('kit', target);
    expect(strFromU8(saved[1].files['Run_1-kit/train.jsonl']).trim().split('\n')).toHaveLength(1);   // the unflagged train split

    await s().checkOnnx(target);
    expect(s().onnxCheck).toMatch(/^The ONNX export matches the engine/);
    expect(s().busy).toBeNull();
  });
});
