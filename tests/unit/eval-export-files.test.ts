// The Export tab's zips (app/features/export/build.ts) of the engine's files with the card it writes for a run
// (src/engine/cards.ts): the adapter files or the kit built from the dataset's records, each in one top-level
// folder `<run>-<format>` with a README model card.
import { describe, expect, it } from 'vitest';
import { strFromU8, unzipSync } from 'fflate';
import { exportZip, fileStem } from '../../app/features/export/build';
import { modelCard } from '../../src/export/card';
import type { ExportFormat } from '../../src/export/formats';
import type { ExportFiles } from '../../src/export/merged';
import { withReadme } from '../../src/export/zip';
import { runCard } from '../../src/engine/cards';
import { EXPORT_FORMATS } from '../../src/export/formats';
import { peftExportFiles } from '../../src/export/peft';
import { PRESETS } from '../../src/train/presets';
import type { RunRecord } from '../../src/storage/runs';

const config = PRESETS.quick;
const run: RunRecord = {
  id: 'r1', name: 'Run 1 / rank 4', createdAt: 0, updatedAt: 0, status: 'completed', error: null,
  model: { name: 'org/tiny-llama', parameters: 1000, fingerprint: 'f' }, dataset: { id: 'd', name: 'qa', version: 3 }, config,
  trainExamples: 6, validationExamples: 3, totalSteps: 10, metrics: [{ step: 10, epoch: 1, loss: 0.51234, lr: 0, gradNorm: 1, tokensPerSecond: 1, elapsed: 1 }],
  evals: [], checkpoints: { last: 10, best: null }, bestValLoss: null, final: { trainLoss: 0.51234, valLoss: null, steps: 10, seconds: 1 },
};

/** What the engine returns for a run's export (its files and card), zipped as the Export tab zips it. */
const runZip = (r: RunRecord, format: ExportFormat, files: ExportFiles, date?: string) => exportZip(r.name, format, withReadme(files, modelCard(runCard(r, format, date))));

describe('export zips', () => {
  it('packs the PEFT adapter files unchanged with a model card naming base, dataset version and metrics', () => {
    const weights = new Uint8Array([1, 2, 3, 250]);
    const { name, bytes } = runZip(run, 'peft', peftExportFiles({ 'adapter_model.safetensors': weights, 'adapter_config.json': '{"peft_type":"LORA"}' }), '2026-01-01');
    expect(name).toBe('Run_1_rank_4-peft.zip');
    const files = unzipSync(bytes);
    expect(Object.keys(files).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'README.md'].map((f) => `Run_1_rank_4-peft/${f}`).sort());
    expect(Array.from(files['Run_1_rank_4-peft/adapter_model.safetensors'])).toEqual([1, 2, 3, 250]);
    const card = strFromU8(files['Run_1_rank_4-peft/README.md']);
    expect(card).toMatch(/base_model: "?org\/tiny-llama"?/);
    expect(card).toContain('qa, version 3 (9 conversations)');
    expect(card).toContain('0.5123');
  });

  it('packs the training kit from the given records and refuses an empty dataset', async () => {
    const records = [{ messages: [{ role: 'user' as const, content: 'q' }, { role: 'assistant' as const, content: 'a' }] }];
    const kit = (r: typeof records) => EXPORT_FORMATS.kit.build({ name: 'org/tiny-llama', records: r, run: run.config, kitModel: { hub: 'org/tiny-llama' } });
    const files = unzipSync(runZip(run, 'kit', await kit(records)).bytes);
    expect(strFromU8(files['Run_1_rank_4-kit/train.jsonl'])).toBe('{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}\n');
    expect(Object.keys(files)).toContain('Run_1_rank_4-kit/README.md');
    await expect(kit([])).rejects.toThrow(/no records/);
    expect(fileStem('../..')).toBe('run');
  });
});
