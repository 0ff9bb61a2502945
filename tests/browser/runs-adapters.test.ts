// The runs database in Chromium's real IndexedDB: a version-1 database (runs, checkpoints, data only, as the
// studio wrote it before imported adapters) opens as version 2 with its runs, checkpoints and data intact and
// the new stores ready; imported adapters (record + files in one transaction) and evaluations survive a
// reopen; deleting a run or an adapter deletes the evaluations that name it, and nothing else. A preference run's
// record (its method, start and points with rewards) and its pairs survive a reopen, as a resume after a reload reads them.
// A version-2 database opens as version 3 with its evaluations kept and a conversations store: Compare's conversations
// survive a reopen, list the last changed first, delete one by one, and go with a run or adapter they compared.
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { openRunStore, type AdapterRecord, type ConversationRecord, type EvaluationRecord, type RunRecord } from '../../src/storage/runs';
import { PRESETS } from '../../src/train/presets';

const run = (id: string, createdAt: number): RunRecord => ({
  id, name: id, createdAt, updatedAt: createdAt, status: 'completed', error: null,
  model: { name: 'm', parameters: 1, fingerprint: 'fp' }, dataset: null, config: PRESETS.quick,
  trainExamples: 1, validationExamples: 0, totalSteps: 1, metrics: [], evals: [], checkpoints: { last: 1, best: null }, bestValLoss: null, final: null,
});

const adapter: AdapterRecord = {
  id: 'adapter-1', name: 'imported', createdAt: 5, source: 'imported.zip', model: { name: 'm', parameters: 1, fingerprint: 'fp' },
  baseModel: 'org/base', lora: { rank: 2, alpha: 4, dropout: 0, useRslora: false, targetModules: ['q_proj'] }, parameters: 12,
};

const evaluation = (id: string, subjects: string[], createdAt: number): EvaluationRecord => ({
  id, createdAt, model: { name: 'm', fingerprint: 'fp' }, dataset: { id: 'd', name: 'qa', version: 2 },
  sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 8, stopStrings: [], chatTemplate: true },
  columns: [{ id: 'base', label: 'Base', adapter: { kind: 'base' } }], subjects, total: 0, rows: [], summaries: {}, marks: {}, error: null,
});

describe('runs database', () => {
  it('upgrades a v1 database keeping its runs, and stores adapters and evaluations beside them', async () => {
    const name = `runs-upgrade-${Date.now()}`;
    const v1 = await openDB(name, 1, {
      upgrade(d) {
        d.createObjectStore('runs', { keyPath: 'id' });
        d.createObjectStore('checkpoints', { keyPath: ['runId', 'kind'] });
        d.createObjectStore('data', { keyPath: 'runId' });
      },
    });
    await v1.put('runs', run('old', 1));
    await v1.put('checkpoints', { runId: 'old', kind: 'last', step: 1, bytes: new Uint8Array([1, 2, 3]) });
    await v1.put('data', { runId: 'old', records: [] });
    v1.close();

    const s = await openRunStore(name);
    expect((await s.list()).map((r) => r.id)).toEqual(['old']);
    expect(await s.getCheckpoint('old', 'last')).toEqual({ step: 1, bytes: new Uint8Array([1, 2, 3]) });
    expect(await s.getData('old')).toEqual({ records: [], init: null });

    const files = { 'adapter_model.safetensors': new Uint8Array([9, 8, 7]), 'adapter_config.json': '{"r":2}' };
    await s.putAdapter(adapter, files);
    await s.put(run('new', 2));
    await s.putEvaluation(evaluation('e-old', ['old'], 10));
    await s.putEvaluation(evaluation('e-both', ['new', adapter.id], 20));
    await s.putEvaluation(evaluation('e-adapter', [adapter.id], 30));

    const again = await openRunStore(name);
    expect(await again.listAdapters()).toEqual([adapter]);
    expect(await again.getAdapterFiles(adapter.id)).toEqual(files);
    expect((await again.listEvaluations()).map((e) => e.id)).toEqual(['e-adapter', 'e-both', 'e-old']);
    expect((await again.listEvaluations(adapter.id)).map((e) => e.id)).toEqual(['e-adapter', 'e-both']);

    // A rename writes the record only; the files stay.
    await again.putAdapter({ ...adapter, name: 'renamed' });
    expect((await again.getAdapter(adapter.id))?.name).toBe('renamed');
    expect(await again.getAdapterFiles(adapter.id)).toEqual(files);

    await again.remove('old');
    expect((await again.listEvaluations()).map((e) => e.id)).toEqual(['e-adapter', 'e-both']);
    await again.removeAdapter(adapter.id);
    expect(await again.listEvaluations()).toEqual([]);
    expect(await again.getAdapterFiles(adapter.id)).toBeNull();
    expect((await again.list()).map((r) => r.id)).toEqual(['new']);
  });

  it('keeps a preference run\'s record and pairs across a reopen', async () => {
    const name = `runs-preference-${Date.now()}`;
    const pref: RunRecord = {
      ...run('dpo', 3), config: { ...PRESETS.quick, preference: { method: 'dpo', beta: 0.1, labelSmoothing: 0, reference: 'start' } },
      init: { runId: 'sft', name: 'sft run' },
      metrics: [{ step: 1, epoch: 0, loss: Math.LN2, lr: 1e-4, gradNorm: 0.5, tokensPerSecond: 10, elapsed: 1, rewardsChosen: 0, rewardsRejected: 0, margins: 0, accuracy: 0 }],
    };
    const pairs = [{ prompt: [{ role: 'user' as const, content: 'Colour?' }], chosen: [{ role: 'assistant' as const, content: 'Blue, like the sea.' }], rejected: [{ role: 'assistant' as const, content: 'Blue.' }] }];
    const s = await openRunStore(name);
    await s.put(pref);
    await s.putData('dpo', { records: [], pairs, init: null });
    const again = await openRunStore(name);
    expect(await again.get('dpo')).toEqual(pref);
    expect(await again.getData('dpo')).toEqual({ records: [], pairs, init: null });
  });

  it('upgrades a v2 database keeping its evaluations, and keeps conversations with what they compared', async () => {
    const name = `runs-conversations-${Date.now()}`;
    const v2 = await openDB(name, 2, {
      upgrade(d) {
        for (const store of ['runs', 'adapters']) d.createObjectStore(store, { keyPath: 'id' });
        d.createObjectStore('checkpoints', { keyPath: ['runId', 'kind'] });
        d.createObjectStore('data', { keyPath: 'runId' });
        d.createObjectStore('adapterFiles', { keyPath: 'adapterId' });
        d.createObjectStore('evaluations', { keyPath: 'id' }).createIndex('subjects', 'subjects', { multiEntry: true });
      },
    });
    await v2.put('evaluations', evaluation('e-kept', ['r'], 1));
    v2.close();

    const conversation = (id: string, updatedAt: number, subjects: string[]): ConversationRecord => ({
      id, createdAt: 1, updatedAt, title: 'Name a colour.', model: { name: 'm', fingerprint: 'fp' },
      sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 8, stopStrings: [], chatTemplate: true, backend: 'auto' },
      columns: [{ id: 'base', label: 'Base', adapter: { kind: 'base' } }], subjects, history: 'own', system: 'Be brief.',
      turns: [{ user: 'Name a colour.', answers: { base: { text: 'Blue.', tokens: [5, 6], finishReason: 'stop-token', done: true, error: null, note: null } }, better: null, edited: 'Red.', reference: null }],
    });
    const s = await openRunStore(name);
    expect((await s.listEvaluations()).map((e) => e.id)).toEqual(['e-kept']);
    await s.put(run('r', 1));
    await s.putConversation(conversation('c-run', 30, ['r']));
    await s.putConversation(conversation('c-adapter', 20, [adapter.id]));
    await s.putConversation(conversation('c-base', 10, []));
    const again = await openRunStore(name);
    expect((await again.listConversations()).map((c) => c.id)).toEqual(['c-run', 'c-adapter', 'c-base']);
    expect((await again.listConversations('r'))).toEqual([conversation('c-run', 30, ['r'])]);
    await again.removeConversation('c-base');
    await again.remove('r');
    await again.removeAdapter(adapter.id);
    expect(await again.listConversations()).toEqual([]);
    expect(await again.listEvaluations()).toEqual([]);
  });
});
