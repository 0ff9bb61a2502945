// One engine for the page and the command line (src/engine/engine.ts): the same calls through the worker channel (the
// page's client over a MessageChannel to serveEngine, workers/engine-channel.ts) and through the command line's host
// (src/engine/host-node.ts on the default Node GPU, runs in a folder as `studio train` keeps them) give the same
// results: the model's info and fingerprint, a run's curve bit for bit, generated tokens, losses, batch evaluation
// scores and export files. A run that would not fit a budget the test sets (navigator.deviceMemory caps what a
// software adapter's probe takes) is refused the same way by both, with both numbers, and the folder keeps nothing.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import type { Engine, EvaluateCallArgs, ModelSource, StartRunArgs } from '../../src/engine/api';
import { createEngine } from '../../src/engine/engine';
import { nodeHost } from '../../src/engine/host-node';
import { folderRunStore } from '../../src/engine/run-folder';
import { mib } from '../../src/gpu/memory';
import { abandon, claimOutputFolder, STAGING_MARK } from '../../src/io/output';
import { PRESETS, runMemoryEstimate, type RunConfig } from '../../src/train/presets';
import { enginePair } from '../helpers/engine';

const nav = globalThis.navigator as { deviceMemory?: number };
afterEach(() => { delete nav.deviceMemory; });

const dir = mkdtempSync(join(tmpdir(), 'engine-hosts-'));
const modelDir = join(dir, 'tiny');
makeTinyModel('llama-small', modelDir, 5);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The page's source: the folder's files as dropped, under the folder's name (as the command line names a folder). */
const dropped = { kind: 'files' as const, name: 'tiny', files: readdirSync(modelDir).map((f) => ({ path: f, file: new Blob([readFileSync(join(modelDir, f))]) })) };
const folder = { kind: 'folder' as const, path: modelDir };

const QA = [['What is 2+2?', 'Four.'], ['Name a colour.', 'Blue.'], ['Say hi.', 'Hi there!'], ['Capital of France?', 'Paris.'], ['A fruit?', 'An apple.']];
const records: StartRunArgs['records'] = QA.map(([q, a], i) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }], split: i < 4 ? 'train' : 'validation' }));
const config: RunConfig = {
  ...PRESETS.quick,
  lora: { rank: 4, alpha: 8, dropout: 0.1, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
  train: { ...PRESETS.quick.train, lr: 1e-2, schedule: 'cosine', warmupSteps: 1, maxSteps: 4, batchSize: 2, maxSeqLength: 48, seed: 7 },
  evalEvery: 2, checkpointEvery: 2,
};
const sampling = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 6, stopStrings: [] };

/** Every call of the comparison, on one engine: what both hosts must agree on. */
async function session(engine: Engine, source: ModelSource) {
  const info = await engine.loadModel({ source });
  const run = await engine.startRun({ name: 'same', config, records, dataset: { id: 'd', name: 'qa', version: 1 } });
  const adapter = { kind: 'run' as const, runId: run.runId, checkpoint: 'last' as const };
  const generated = await engine.generate({ adapter, prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Say hi.' }] }, sampling, backend: 'webgpu' });
  const loss = await engine.evaluateLoss({ adapter, records, maxSeqLength: 48 });
  const batch: EvaluateCallArgs = { records, columns: [{ id: 'base', adapter: { kind: 'base' } }, { id: 'tuned', adapter }], chatTemplate: true, sampling, backend: 'webgpu', maxSeqLength: 48 };
  const evaluated = await engine.evaluate(batch);
  const gguf = await engine.exportModel({ adapter, format: 'gguf', dtype: 'F16' });
  return {
    info: { ...info, memoryBudget: null },
    curve: run.run.metrics.map((p) => [p.step, p.epoch, p.loss, p.lr, p.gradNorm]),
    evals: run.run.evals,
    tokens: generated.tokens, loss,
    rows: evaluated.rows.map((r) => Object.values(r.outputs).map((o) => o.tokens)),
    summaries: Object.values(evaluated.summaries).map(({ tokensPerSecond: _, ...s }) => s),
    // The card carries the export's date; the model's files are the run's weights.
    files: gguf.files.filter(([name]) => name !== 'README.md'),
  };
}

const claim = claimOutputFolder(join(dir, 'out'), [{ path: modelDir, what: 'the model folder' }]);
afterAll(() => abandon(claim));

describe('one engine for the page and the command line', () => {
  it('the page client over the channel and the CLI host give the same results', async () => {
    const page = await session(enginePair().engine, dropped);
    const cli = await session(createEngine(nodeHost({ runStore: folderRunStore(claim) })), folder);
    expect(cli.curve.map((c) => c[0])).toEqual([1, 2, 3, 4]);
    expect(cli.evals.map((e) => e.step)).toEqual([2, 4]);
    expect(cli.tokens.length).toBeGreaterThan(0);
    expect(cli).toEqual(page);
    // The CLI host kept its run in the folder, as `studio train` does.
    expect(readdirSync(claim.staging).sort()).toEqual([STAGING_MARK, 'checkpoint-best.ckpt', 'checkpoint-last.ckpt', 'data.json', 'run.json']);
  });

  it('both refuse a run that would not fit the budget, with both numbers, and keep nothing', async () => {
    const fresh = claimOutputFolder(join(dir, 'refused'), [{ path: modelDir, what: 'the model folder' }]);
    const store = folderRunStore(fresh);
    const cli = createEngine(nodeHost({ runStore: store }));
    const page = enginePair().engine;
    const { config: model } = await cli.loadModel({ source: folder });
    await page.loadModel({ source: dropped });
    const big: RunConfig = { ...config, evalEvery: 0, train: { ...config.train, batchSize: 8, maxSeqLength: 200, activationCheckpointing: 'off' } };
    const need = runMemoryEstimate(big, model).trainingBytes;
    nav.deviceMemory = need / 2 / 2 ** 30;
    const refusal = new RegExp(`^Training needs about ${mib(need)} .*could give ${mib(need / 2)}`);
    const args = { name: 'too big', config: big, records, dataset: null };
    const [fromCli, fromPage] = await Promise.all([cli.startRun(args).catch((e: Error) => e.message), page.startRun(args).catch((e: Error) => e.message)]);
    expect(fromCli).toMatch(refusal);
    expect(fromCli).toBe(fromPage);
    expect(await cli.listRuns()).toEqual([]);
    expect(readdirSync(fresh.staging)).toEqual([STAGING_MARK]);
    abandon(fresh);
  });
});
