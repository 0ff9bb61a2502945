// One `evaluate` call (src/engine/evaluate.ts through the engine worker's core and its message protocol):
// N conversations × M models (the base model and a run's adapter) give, row by row as progress and summarised
// at the end, exactly what the Compare screen used to assemble from one generate call per row and column and
// one evaluateLoss per column (the same tokens, the same summaries to the last bit). A stop lands between
// rows and returns the rows done. The CLI's `eval` runs the same function: its numbers equal the base column's.
// Conversations that are preference pairs get each model's log-probs of both answers: the base column's
// preference accuracy and margin equal `studio eval --pairs` on the same pairs (an independent path), and `studio
// eval --data` on the pairs file reports the same preference scores as the batch.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import type { EvaluateEvent } from '../../src/engine/evaluate';
import { promptAndReference, summarize } from '../../src/eval/metrics';
import { batchPreference, versus } from '../../src/eval/preference';
import { PRESETS } from '../../src/train/presets';
import type { AdapterChoice, Engine, EngineEvent } from '../../src/engine/api';
import { studioJson } from '../helpers/cli';
import { droppedFiles, engineOver } from '../helpers/engine';

let dir = '', model = '', data = '';
const QA = [['What is 2+2?', 'Four.'], ['Name a colour.', 'Blue.'], ['Say hi.', 'Hi there!'], ['Capital of France?', 'Paris.']];
const records = [
  ...QA.map(([q, a]) => ({ messages: [{ role: 'user' as const, content: q }, { role: 'assistant' as const, content: a }] })),
  { messages: [{ role: 'user' as const, content: 'No answer here.' }] }, // nothing to score against: left out
];
const sampling = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 5, stopStrings: [] };
const maxSeqLength = 64;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'evaluate-'));
  model = join(dir, 'model');
  makeTinyModel('llama-small', model, 2);
  data = join(dir, 'qa.jsonl');
  writeFileSync(data, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loaded(): Promise<{ engine: Engine; tuned: AdapterChoice }> {
  const engine = engineOver();
  await engine.loadModel(droppedFiles('model', new Map(readdirSync(model).map((f) => [f, new Uint8Array(readFileSync(join(model, f)))]))));
  const config = { ...PRESETS.quick, train: { ...PRESETS.quick.train, maxSteps: 3, batchSize: 2, lr: 5e-2, maxSeqLength }, evalEvery: 0, checkpointEvery: 0 };
  const run = await engine.startRun({ name: 'r', config, records: records.slice(0, 4).map((r) => ({ ...r, split: 'train' as const })), dataset: null });
  return { engine, tuned: { kind: 'run', runId: run.runId, checkpoint: 'last' } };
}

describe('engine evaluate', () => {
  it('N prompts × M models in one call: the same answers and summaries as one call per row and column', async () => {
    const { engine, tuned } = await loaded();
    const columns = [{ id: 'base', adapter: { kind: 'base' } as AdapterChoice }, { id: 'tuned', adapter: tuned }];
    const events: EngineEvent[] = [];
    const r = await engine.evaluate({ records, columns, chatTemplate: true, sampling, backend: 'webgpu', maxSeqLength }, (e) => events.push(e));
    expect(r.error).toBeNull();
    expect(r.total).toBe(4);
    const progress = events.filter((e): e is EvaluateEvent => e.type === 'evaluate');
    expect(progress.map((e) => [e.done, e.total])).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    expect(progress.map((e) => e.row)).toEqual(r.rows);

    // The page's former path: one generate per row and column, one evaluateLoss per column, summarised here.
    for (const c of columns) {
      const pairs = [];
      for (const rec of records.slice(0, 4)) {
        const pr = promptAndReference(rec.messages)!;
        const g = await engine.generate({ adapter: c.adapter, prompt: { kind: 'chat', messages: pr.prompt }, sampling, backend: 'webgpu' });
        pairs.push({ output: g, reference: pr.reference });
      }
      expect(r.rows.map((row) => row.outputs[c.id].tokens)).toEqual(pairs.map((x) => x.output.tokens));
      const { loss } = await engine.evaluateLoss({ adapter: c.adapter, records: records.slice(0, 4), maxSeqLength });
      const expected = summarize(r.rows.map((row) => ({ output: row.outputs[c.id], reference: row.reference })), loss);
      expect(r.summaries[c.id]).toEqual(expected);
      expect(r.summaries[c.id].loss).toBe(loss);
    }
    // Training moved the loss: the two columns are two models.
    expect(r.summaries.tuned.loss).not.toBe(r.summaries.base.loss);

    // The CLI's eval is the same function on one model: the base column's numbers.
    const cli = studioJson('eval', model, '--data', data, '--max-new-tokens', '5', '--max-seq-len', String(maxSeqLength), '--json');
    const base = r.summaries.base;
    expect(cli).toMatchObject({ loss: base.loss, exactMatch: base.exactMatch, rougeL: base.rougeL, averageLength: base.averageLength, cleanStopRate: base.cleanStopRate, examples: 4 });
  });

  it('a stop lands between rows and returns the rows done, without losses', async () => {
    const { engine, tuned } = await loaded();
    const columns = [{ id: 'base', adapter: { kind: 'base' } as AdapterChoice }, { id: 'tuned', adapter: tuned }];
    const r = await engine.evaluate({ records, columns, chatTemplate: true, sampling, backend: 'webgpu', maxSeqLength }, (e) => {
      if (e.type === 'evaluate' && e.done === 1) void engine.stopEvaluation();
    });
    expect(r.error).toBeNull();
    expect(r.rows.length).toBeGreaterThanOrEqual(1);
    expect(r.rows.length).toBeLessThan(4);
    expect(r.summaries.base.examples).toBe(r.rows.length);
    expect(r.summaries.tuned.loss).toBeNull();
  });
});

describe('engine evaluate on preference pairs', () => {
  it('rows that are pairs get every model\'s log-probs of both answers; the base column agrees with eval --pairs', async () => {
    const { engine, tuned } = await loaded();
    const columns = [{ id: 'base', adapter: { kind: 'base' } as AdapterChoice }, { id: 'tuned', adapter: tuned }];
    const pairs = QA.map(([q, a], i) => ({ messages: [{ role: 'user' as const, content: q }, { role: 'assistant' as const, content: a }], rejected: [{ role: 'assistant' as const, content: QA[(i + 1) % QA.length][1] }] }));
    const mixed = [...pairs, records[0]]; // the last row is a plain conversation: no pair
    const r = await engine.evaluate({ records: mixed, columns, chatTemplate: true, sampling, backend: 'webgpu', maxSeqLength });
    expect(r.error).toBeNull();
    expect(r.rows.map((row) => row.pair?.rejected ?? null)).toEqual([...pairs.map((p) => p.rejected[0].content), null]);
    for (const row of r.rows.slice(0, 4)) expect(Object.keys(row.pair!.logps!).sort()).toEqual(['base', 'tuned']);
    const base = batchPreference(r.rows, 'base')!;
    const tunedScores = batchPreference(r.rows, 'tuned')!;
    expect(base.pairs).toBe(4);
    expect(tunedScores.logpMargin).not.toBe(base.logpMargin);
    expect(versus(r.rows, 'tuned', 'base')!.margins!.total).toBe(4);

    const file = join(dir, 'pairs.jsonl');
    writeFileSync(file, pairs.map((p) => JSON.stringify({ prompt: p.messages.slice(0, 1), chosen: p.messages.slice(1), rejected: p.rejected })).join('\n') + '\n');
    const cli = studioJson('eval', model, '--pairs', file, '--max-new-tokens', '5', '--max-seq-len', String(maxSeqLength), '--json');
    expect(cli.logpAccuracy).toBe(base.logpAccuracy);
    expect(Math.abs((cli.logpMargin as number) - base.logpMargin!)).toBeLessThan(1e-5);
    // `eval --data` on the same file reads the rows as pairs and scores them as the batch does.
    const data = studioJson('eval', model, '--data', file, '--max-new-tokens', '5', '--max-seq-len', String(maxSeqLength), '--json');
    expect(data.preference).toEqual({ ...base, logpMargin: expect.closeTo(base.logpMargin!, 5) });
  });
});
