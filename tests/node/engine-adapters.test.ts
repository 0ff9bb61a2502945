// Imported PEFT adapters in the engine, through its real message protocol (client ⇄ serveEngine over a
// MessageChannel): an adapter zip (files inside a folder, as our Export writes them) imports onto the loaded
// model and then answers, scores and exports exactly like the same files applied the CLI's way (a Transformer
// built from adapter_config.json + applyPeftAdapter), and differently from the base model; mismatched or
// broken adapters are refused with messages that name the problem, and nothing is stored; a run can start
// from an imported adapter (its first loss is the adapter's loss, not a fresh LoRA's) and resumes after a
// "reload" to the same losses bit for bit; batch evaluations are stored with their runs and adapters.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { applyPeftAdapter, exportPeftAdapter, loraFromPeftConfig, peftExportFiles, type PeftAdapterFiles } from '../../src/export/peft';
import { zipExport } from '../../src/export/zip';
import { generateAll } from '../../src/generate/generate';
import { loadHfModel, stopTokenIds } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { filesFromDirectory } from '../../src/io/node-files';
import { parseSafetensors, readTensorF32, writeSafetensors } from '../../src/io/safetensors';
import { BASE_MODEL_MISMATCH } from '../../src/io/validate';
import type { LoraConfig } from '../../src/model/lora';
import { mulberry32 } from '../../src/model/random';
import { Transformer } from '../../src/model/transformer';
import { createMemoryRunStore, type EvaluationRecord } from '../../src/storage/runs';
import { tokenizeConversation } from '../../src/tokenize/loss-mask';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import { evaluateLoss } from '../../src/train/trainer';
import type { EngineEvent, ImportAdapterArgs, StartRunArgs } from '../../src/engine/api';
import { droppedFiles, engineOver } from '../helpers/engine';
import { testGpu } from '../helpers/gpu';


const modelFiles = buildTinyModel('llama-small', 4);
const source = droppedFiles('tiny-llama', modelFiles);
const LORA: LoraConfig = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] };

/** A PEFT adapter for a model folder with seeded random values in every A and B (B ≠ 0: it changes answers). */
/** A random adapter whose adapter_config.json names `baseModel` (the tiny model's folder unless said otherwise). */
async function randomAdapter(files: Map<string, Uint8Array> | ReturnType<typeof filesFromDirectory>, lora: LoraConfig, seed: number, baseModel = 'models/tiny-llama'): Promise<PeftAdapterFiles> {
  const m = await loadHfModel(files instanceof Map ? filesFromMap('base', files) : files);
  const net = new Transformer(await testGpu(), m.config, m.weights, { kind: 'lora', lora }, seed);
  const r = mulberry32(seed);
  net.params.writeFlat('params', Float32Array.from({ length: net.params.flat!.size }, () => (r() * 2 - 1) * 0.5));
  const out = await exportPeftAdapter(net, baseModel);
  net.destroy();
  return out;
}

const upload = (name: string, entries: [string, Uint8Array | string][]) => ({
  name, files: entries.map(([path, bytes]) => ({ path, file: new Blob([typeof bytes === 'string' ? bytes : bytes.slice()]) })),
});
const zipOf = (files: PeftAdapterFiles, folder = 'my-adapter') => zipExport(peftExportFiles(files), { folder });

const chat = (q: string, a: string) => ({ messages: [{ role: 'user' as const, content: q }, { role: 'assistant' as const, content: a }] });
const TRAIN = [chat('What is 2+2?', 'Four.'), chat('Name a colour.', 'Blue.'), chat('Say hi.', 'Hi there!'), chat('Capital of France?', 'Paris.')];
const records: StartRunArgs['records'] = [...TRAIN.map((r) => ({ ...r, split: 'train' as const })), { ...chat('A fruit?', 'An apple.'), split: 'validation' }];
const MAX_LEN = 48;
const config: RunConfig = {
  ...PRESETS.quick,
  // Not the adapter's shape: starting from the adapter must replace rank, alpha and targets.
  lora: { rank: 2, alpha: 2, dropout: 0, useRslora: false, targetModules: ['q_proj'] },
  // One batch holds every training example, so step 1's loss is the mean over exactly the rows evaluateLoss scores.
  train: { ...PRESETS.quick.train, lr: 1e-2, schedule: 'constant', warmupSteps: 0, maxSteps: 4, batchSize: TRAIN.length, gradAccumSteps: 1, maxSeqLength: MAX_LEN, seed: 5 },
  packing: false, assistantOnly: true, evalEvery: 2, checkpointEvery: 2, earlyStopPatience: 0,
};
const runArgs: StartRunArgs = { name: 'from imported', config, records, dataset: { id: 'd', name: 'qa', version: 3 } };
const sampling = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 8, stopStrings: [] };

describe('engine: imported PEFT adapters', () => {
  it('imports a zipped adapter that answers and scores exactly like the CLI path, unlike the base model', async () => {
    const adapter = await randomAdapter(modelFiles, LORA, 11);
    const engine = engineOver(createMemoryRunStore());
    await engine.loadModel(source);
    const record = await engine.importAdapter(upload('my-adapter.zip', [['my-adapter.zip', zipOf(adapter)]]));
    expect(record).toMatchObject({ name: 'my-adapter', source: 'my-adapter.zip', lora: { rank: 4, alpha: 8, targetModules: [...LORA.targetModules].sort() }, model: { name: 'tiny-llama' } });
    expect((await engine.listAdapters()).map((a) => a.id)).toEqual([record.id]);

    // Reference: the CLI's buildModel (config → Transformer, applyPeftAdapter), outside the engine.
    const m = await loadHfModel(filesFromMap('tiny-llama', modelFiles));
    const ref = new Transformer(await testGpu(), m.config, m.weights, { kind: 'lora', lora: loraFromPeftConfig(adapter['adapter_config.json']).lora });
    applyPeftAdapter(ref, adapter['adapter_model.safetensors']);
    const text = 'Say hi. The capital';
    const refGen = await generateAll(ref, m.tokenizer.encode(text, { addSpecialTokens: true }), { ...sampling, stopTokenIds: stopTokenIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }) });
    const examples = TRAIN.map((r) => tokenizeConversation(m.tokenizer, m.chatTemplate!, r.messages, { assistantOnly: true, maxLength: MAX_LEN + 1 }));
    const refLoss = await evaluateLoss(ref, examples, 4, MAX_LEN, m.tokenizer.padTokenId ?? 0);
    ref.destroy();

    const imported = { kind: 'imported' as const, adapterId: record.id };
    const gen = await engine.generate({ adapter: imported, prompt: { kind: 'raw', text }, sampling });
    const base = await engine.generate({ adapter: { kind: 'base' }, prompt: { kind: 'raw', text }, sampling });
    expect(gen.tokens).toEqual(refGen.tokens);
    expect(gen.tokens).not.toEqual(base.tokens);
    const evalArgs = { records: TRAIN, maxSeqLength: MAX_LEN };
    const loss = await engine.evaluateLoss({ ...evalArgs, adapter: imported });
    const baseLoss = await engine.evaluateLoss({ ...evalArgs, adapter: { kind: 'base' } });
    // Same kernels, same values, same batches: identical up to f32 summation order (1e-6 relative).
    expect(loss.tokens).toBe(refLoss.tokens);
    expect(Math.abs(loss.loss - refLoss.loss) / refLoss.loss).toBeLessThan(1e-6);
    expect(Math.abs(loss.loss - baseLoss.loss) / baseLoss.loss).toBeGreaterThan(1e-3); // 1000× the tolerance above
    // The base model is untouched afterwards (the adapter's values were taken out again).
    expect((await engine.generate({ adapter: { kind: 'base' }, prompt: { kind: 'raw', text }, sampling })).tokens).toEqual(base.tokens);

    // Stored files come back as imported; the merged export of it loads back and scores like the adapter.
    const stored = await engine.adapterFiles({ adapterId: record.id });
    expect(stored['adapter_config.json']).toBe(adapter['adapter_config.json']);
    expect([...stored['adapter_model.safetensors']]).toEqual([...adapter['adapter_model.safetensors']]);
    const merged = new Map((await engine.exportModel({ adapter: { kind: 'imported', adapterId: record.id }, format: 'merged', dtype: 'F32' })).files);
    const back = await loadHfModel(filesFromMap('merged', merged));
    const mergedNet = new Transformer(await testGpu(), back.config, back.weights, { kind: 'none' });
    const mergedLoss = await evaluateLoss(mergedNet, examples, 4, MAX_LEN, m.tokenizer.padTokenId ?? 0);
    mergedNet.destroy();
    // W + s·B·A folded in f32 vs applied as a side branch: rounding differs slightly (1e-4 relative).
    expect(Math.abs(mergedLoss.loss - loss.loss) / loss.loss).toBeLessThan(1e-4);

    const renamed = await engine.renameAdapter({ adapterId: record.id, name: '  Tuned elsewhere ' });
    expect(renamed.name).toBe('Tuned elsewhere');
    await expect(engine.renameAdapter({ adapterId: record.id, name: ' ' })).rejects.toThrow(/needs a name/);
    await engine.deleteAdapter({ adapterId: record.id });
    expect(await engine.listAdapters()).toEqual([]);
    await expect(engine.generate({ adapter: imported, prompt: { kind: 'raw', text }, sampling })).rejects.toThrow(/No imported adapter/);
    engine.dispose();
  });

  it('refuses adapters for another base, unknown keys, wrong shapes and broken configs, storing nothing', async () => {
    const engine = engineOver(createMemoryRunStore());
    await expect(engine.importAdapter(upload('a.zip', [['a.zip', new Uint8Array([1])]]))).rejects.toThrow(/Load a model first/);
    await engine.loadModel(source);
    const good = await randomAdapter(modelFiles, LORA, 12);
    const cfg = JSON.parse(good['adapter_config.json']);
    const tensors = parseSafetensors(good['adapter_model.safetensors'], 'x');
    const rewrite = (edit: (name: string, shape: number[], data: Float32Array) => { name: string; shape: number[]; data: Float32Array } | null, extra: { name: string; shape: number[]; data: Float32Array }[] = []) => writeSafetensors([
      ...[...tensors.tensors.keys()].flatMap((k) => { const t = readTensorF32(tensors, k); const e = edit(k, t.shape, t.data); return e ? [e] : []; }),
      ...extra,
    ]);
    // The built-in default model: hidden 64 where this one has 32.
    const otherBase = await randomAdapter(filesFromDirectory('public/models/default'), LORA, 13, 'public/models/default');
    const cases: [string, ImportAdapterArgs, RegExp][] = [
      ['other base (name)', upload('default.zip', [['default.zip', zipOf(otherBase)]]), /^default\.zip\/adapter_config\.json: the adapter was trained on public\/models\/default, not on tiny-llama$/],
      // "Import anyway" overrides the name, never the shapes.
      ['other base (shapes)', { ...upload('default.zip', [['default.zip', zipOf(otherBase)]]), ignoreBaseModel: true }, /default\.zip\/adapter_model\.safetensors: base_model\.model\.model\.layers\.0\.\S+ has shape \[4,64\] but this model needs \[4,32\]/],
      ['GPT-2 targets on a Llama', upload('gpt2', [['gpt2/adapter_config.json', JSON.stringify({ ...cfg, target_modules: ['c_attn', 'q_proj'] })], ['gpt2/adapter_model.safetensors', good['adapter_model.safetensors']]]),
        /gpt2\/adapter_config\.json: target module "c_attn" matches no linear layer of this model \(its modules: q_proj, k_proj/],
      ['unknown key', upload('extra', [['adapter_config.json', good['adapter_config.json']], ['adapter_model.safetensors', rewrite((name, shape, data) => ({ name, shape, data }), [{ name: 'base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight', shape: [4, 32], data: new Float32Array(128) }])]]),
        /extra\/adapter_model\.safetensors: tensor base_model\.model\.model\.layers\.7\.self_attn\.q_proj\.lora_A\.weight does not match any LoRA module/],
      ['rank differs from the config', upload('rank', [['adapter_config.json', JSON.stringify({ ...cfg, r: 2 })], ['adapter_model.safetensors', good['adapter_model.safetensors']]]), /has shape \[4,32\] but this model needs \[2,32\]/],
      ['missing tensors', upload('partial', [['adapter_config.json', good['adapter_config.json']], ['adapter_model.safetensors', rewrite((name, shape, data) => (name.includes('down_proj') ? null : { name, shape, data }))]]), /partial\/adapter_model\.safetensors: missing 4 LoRA tensors/],
      ['not JSON', upload('bad', [['adapter_config.json', '{ r: 4'], ['adapter_model.safetensors', good['adapter_model.safetensors']]]), /bad\/adapter_config\.json: not valid JSON/],
      ['not LoRA', upload('ia3', [['adapter_config.json', JSON.stringify({ ...cfg, peft_type: 'IA3' })], ['adapter_model.safetensors', good['adapter_model.safetensors']]]), /peft_type IA3 is not LORA/],
      ['pickle weights', upload('old', [['adapter_config.json', good['adapter_config.json']], ['adapter_model.bin', new Uint8Array(8)]]), /old: no adapter_model\.safetensors \(adapter_model\.bin is PyTorch pickle/],
      ['two adapters in one zip', upload('two.zip', [['two.zip', zipExport(new Map([...[...peftExportFiles(good)].map(([k, v]) => [`a/${k}`, v] as [string, Uint8Array]), ...[...peftExportFiles(good)].map(([k, v]) => [`b/${k}`, v] as [string, Uint8Array])]))]]),
        /two\.zip: adapter_config\.json is in several folders; import one adapter folder at a time/],
      ['truncated weights', upload('cut', [['adapter_config.json', good['adapter_config.json']], ['adapter_model.safetensors', good['adapter_model.safetensors'].slice(0, 200)]]), /cut\/adapter_model\.safetensors/],
    ];
    for (const [what, args, message] of cases) await expect(engine.importAdapter(args), what).rejects.toThrow(message);
    // The name refusal is told apart (by the error's name, which crosses the worker) so the page can offer the override.
    await expect(engine.importAdapter(cases[0][1])).rejects.toMatchObject({ name: BASE_MODEL_MISMATCH });
    expect(await engine.listAdapters()).toEqual([]);
    // The refusals left the resident model usable: a good adapter still imports.
    const ok = await engine.importAdapter(upload('ok', [['adapter_config.json', good['adapter_config.json']], ['adapter_model.safetensors', good['adapter_model.safetensors']]]));
    expect(ok.name).toBe('ok');
    // Other weights of the same shapes (another seed): the adapter answers only on the model it was imported onto.
    await engine.loadModel(droppedFiles('other-llama', buildTinyModel('llama-small', 5)));
    await expect(engine.generate({ adapter: { kind: 'imported', adapterId: ok.id }, prompt: { kind: 'raw', text: 'hi' }, sampling }))
      .rejects.toThrow('Adapter "ok" was imported onto tiny-llama; load that model first.');
    engine.dispose();
  });

  it('starts a run from an imported adapter (first loss = the adapter\'s) and resumes it after a reload bit for bit', async () => {
    const adapter = await randomAdapter(modelFiles, LORA, 14);
    const store = createMemoryRunStore();
    const a = engineOver(store);
    await a.loadModel(source);
    const { id: adapterId } = await a.importAdapter(upload('start.zip', [['start.zip', zipOf(adapter)]]));
    const trainRecords = TRAIN;
    const importedLoss = (await a.evaluateLoss({ adapter: { kind: 'imported', adapterId }, records: trainRecords, maxSeqLength: MAX_LEN })).loss;
    const baseLoss = (await a.evaluateLoss({ adapter: { kind: 'base' }, records: trainRecords, maxSeqLength: MAX_LEN })).loss;

    const fresh = await a.startRun({ ...runArgs, name: 'fresh', config: { ...config, lora: LORA, train: { ...config.train, maxSteps: 1 } } });
    const straight = await a.startRun({ ...runArgs, init: { kind: 'imported', adapterId } });
    expect(straight.status).toBe('completed');
    expect(straight.run.init).toEqual({ adapterId, name: 'start' });
    expect(straight.run.config.lora).toEqual({ ...LORA, targetModules: [...LORA.targetModules].sort(), dropout: config.lora.dropout });
    const first = straight.run.metrics[0].loss;
    // Fresh LoRA (B = 0) starts at the base model's loss; the imported start at the adapter's (f32 batching: 1e-5).
    expect(Math.abs(fresh.run.metrics[0].loss - baseLoss) / baseLoss).toBeLessThan(1e-5);
    expect(Math.abs(first - importedLoss) / importedLoss).toBeLessThan(1e-5);
    expect(Math.abs(first - fresh.run.metrics[0].loss) / baseLoss).toBeGreaterThan(1e-3); // 100× the tolerance above

    // The same start, paused at step 2 and abandoned; the adapter is deleted; a new engine resumes it.
    const b = engineOver(store);
    await b.loadModel(source);
    let runId = '';
    await new Promise<void>((ok) => {
      void b.startRun({ ...runArgs, name: 'paused', init: { kind: 'imported', adapterId } }, (e: EngineEvent) => {
        if (e.type === 'run') runId = e.run.id;
        if (e.type === 'step' && e.point.step === 1) void b.control({ runId: e.runId, action: 'pause' });
        if (e.type === 'status' && e.status === 'paused') ok();
      });
    });
    const c = engineOver(store);
    await c.deleteAdapter({ adapterId: adapterId }); // the run keeps its own copy of the starting values
    await c.loadModel(source);
    const resumed = await c.resumeRun({ runId: runId });
    expect(resumed.status).toBe('completed');
    expect(resumed.run.metrics.map((p) => [p.step, p.loss, p.gradNorm])).toEqual(straight.run.metrics.map((p) => [p.step, p.loss, p.gradNorm]));
    expect(resumed.run.evals).toEqual(straight.run.evals);
    await expect(c.startRun({ ...runArgs, init: { kind: 'imported', adapterId } })).rejects.toThrow(/No imported adapter/);
  });

  it('stores batch evaluations with their runs and adapters, across engines, and drops them with their subject', async () => {
    const store = createMemoryRunStore();
    const a = engineOver(store);
    await a.loadModel(source);
    const adapter = await a.importAdapter(upload('ev.zip', [['ev.zip', zipOf(await randomAdapter(modelFiles, LORA, 15))]]));
    const run = await a.startRun({ ...runArgs, config: { ...config, train: { ...config.train, maxSteps: 1 } } });
    const e: EvaluationRecord = {
      id: 'eval-1', createdAt: 1000, model: { name: 'tiny-llama', fingerprint: 'f' }, dataset: { id: 'd', name: 'qa', version: 3 },
      sampling: { ...sampling, chatTemplate: true },
      columns: [
        { id: 'base', label: 'Base', adapter: { kind: 'base' } },
        { id: `${run.runId}:last`, label: 'Run (last)', adapter: { kind: 'run', runId: run.runId, checkpoint: 'last' } },
        { id: `imported:${adapter.id}`, label: 'ev', adapter: { kind: 'imported', adapterId: adapter.id } },
      ],
      subjects: [run.runId, adapter.id], total: 1,
      rows: [{ index: 0, prompt: { kind: 'chat', messages: [{ role: 'user', content: 'A fruit?' }] }, reference: 'An apple.', outputs: { base: { text: 'x', tokens: [1], finishReason: 'length' } } }],
      summaries: {}, marks: {}, error: null,
    };
    await a.saveEvaluation(e);
    await a.saveEvaluation({ ...e, id: 'eval-2', createdAt: 2000, subjects: [adapter.id] });
    const b = engineOver(store);
    expect((await b.listEvaluations({})).map((x) => x.id)).toEqual(['eval-2', 'eval-1']);
    expect((await b.listEvaluations({ subject: run.runId })).map((x) => x.id)).toEqual(['eval-1']);
    expect((await b.listEvaluations({ subject: run.runId }))[0]).toEqual(e);
    await b.deleteRun({ runId: run.runId });
    expect((await b.listEvaluations({})).map((x) => x.id)).toEqual(['eval-2']);
    await b.deleteAdapter({ adapterId: adapter.id });
    expect(await b.listEvaluations({})).toEqual([]);
  });
});
