// The Compare screen's store (app/features/compare/store.ts), built with createCompareStore on the engine through the
// page's client: ask() streams every column's answer in turn (greedy: the engine's own tokens), a batch runs as one
// engine call whose rows arrive as progress and is stored with its marks, and a stored one is shown again (an older
// record's decoder 'engine' read as today's 'webgpu').
import { describe, expect, it } from 'vitest';
import { createCompareStore } from '../../app/features/compare/store';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { droppedFiles, engineOver } from '../helpers/engine';

const messages = (q: string, a: string) => [{ role: 'user' as const, content: q }, { role: 'assistant' as const, content: a }];

describe('compare store', () => {
  it('answers a prompt with every column, runs and stores a batch, and shows it again', async () => {
    const engine = engineOver();
    const info = await engine.loadModel(droppedFiles('tiny', buildTinyModel('llama-small', 2)));
    const store = createCompareStore(() => engine, () => 1000);
    const s = () => store.getState();
    s().setSampling({ maxNewTokens: 4, backend: 'webgpu' });
    const seen: number[] = [];
    const unsubscribe = store.subscribe((st) => { const a = st.answers.base; if (a && !a.done) seen.push(a.tokens.length); });
    await s().ask({ key: 'typed', prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Say hi.' }] }, reference: null });
    unsubscribe();
    const direct = await engine.generate({ adapter: { kind: 'base' }, prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Say hi.' }] }, sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 4, stopStrings: [] }, backend: 'webgpu' });
    expect(s().answers.base).toMatchObject({ done: true, error: null, tokens: direct.tokens });
    expect(seen.length).toBeGreaterThan(0);   // streamed, token by token

    const records = [{ messages: messages('Say hi.', 'Hi!') }, { messages: messages('Count.', 'One two.') }];
    const rows: number[] = [];
    const watch = store.subscribe((st) => { if (st.batch?.running) rows.push(st.batch.rows.length); });
    await s().runBatch(records, { model: { name: info.name, fingerprint: info.fingerprint }, dataset: null });
    watch();
    expect(rows).toContain(1);
    expect(s().batch).toMatchObject({ running: false, total: 2, done: 2, error: null });
    expect(s().batch!.summaries.base.loss).toBeGreaterThan(0);
    const stored = await engine.listEvaluations({});
    expect(stored.map((e) => e.id)).toEqual([s().batch!.id]);

    // Shown again in a fresh store; a record stored when the WebGPU decoder was named 'engine' reads as 'webgpu'.
    const other = createCompareStore(() => engine);
    const older = { ...stored[0], sampling: { ...stored[0].sampling, backend: 'engine' } } as unknown as typeof stored[0];
    other.getState().showStored(older);
    expect(other.getState().batch).toMatchObject({ id: s().batch!.id, rows: s().batch!.rows, running: false, sampling: { backend: 'webgpu' } });
  });
});
