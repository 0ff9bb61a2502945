// The Compare screen's store (app/features/compare/store.ts), built with createCompareStore on the engine through the
// page's client: ask() streams every column's answer in turn (greedy: the engine's own tokens), askSamples() streams
// several sampled answers from one column (the engine's generateSamples answers) and marking one better gives its
// pairs against the others (greedy sampling refused, shown on every answer), a batch runs as one engine call whose
// rows arrive as progress and is stored with its marks, and a stored one is shown again (an older record's decoder
// 'engine' read as today's 'webgpu').
import { describe, expect, it } from 'vitest';
import { createCompareStore } from '../../app/features/compare/store';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { droppedFiles, engineOver } from '../helpers/engine';

const messages = (q: string, a: string) => [{ role: 'user' as const, content: q }, { role: 'assistant' as const, content: a }];

describe('compare store', () => {
  it('answers a prompt with every column, samples several answers from one, runs and stores a batch, and shows it again', async () => {
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

    // Several answers from one column to the prompt on screen; the better one pairs with each other one.
    s().setSampling({ temperature: 0.9, seed: 5 });
    const growing: number[] = [];
    const unwatch = store.subscribe((st) => { const x = st.samples?.answers[2]; if (x && !x.done) growing.push(x.tokens.length); });
    await s().askSamples({ id: 'base', label: 'Base', adapter: { kind: 'base' } }, 3);
    unwatch();
    expect(growing.some((n) => n > 0)).toBe(true);
    const samples = s().samples!;
    const sampled = await engine.generateSamples({ adapter: { kind: 'base' }, prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Say hi.' }] }, sampling: { temperature: 0.9, topK: 0, topP: 1, repetitionPenalty: 1, seed: 5, maxNewTokens: 4, stopStrings: [] }, backend: 'webgpu', samples: 3 });
    expect(samples.answers.map((x) => [x.text, x.done, x.error])).toEqual(sampled.map((x) => [x.text, true, null]));
    expect(samples.running).toBe(false);
    s().markSample(1);
    expect(s().samples!.better).toBe(1);
    const prompt = { kind: 'chat', messages: [{ role: 'user', content: 'Say hi.' }] };
    expect(s().samplePairs[samples.id]).toEqual([{ prompt, chosen: sampled[1].text, rejected: sampled[0].text }, { prompt, chosen: sampled[1].text, rejected: sampled[2].text }]);
    s().markSample(null);
    expect(s().samplePairs).toEqual({});
    s().setSampling({ temperature: 0 });
    await s().askSamples({ id: 'base', label: 'Base', adapter: { kind: 'base' } }, 2);
    expect(s().samples!.answers.map((x) => x.error)).toEqual(Array(2).fill('several answers need sampling: with temperature 0 (greedy) every answer is the same'));

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
