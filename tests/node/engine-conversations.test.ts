// Compare's conversations and several answers per prompt, in the engine through its real message protocol, on a tiny
// Llama (ChatML, 256 positions):
//  - chat answers a conversation as generate answers the same messages through the chat template; one too long for
//    the context loses its earliest exchanges (system kept), just enough that the rest and maxNewTokens fit, with a
//    note naming the count; a last turn that fills the context alone is refused; turns out of order are refused.
//  - generateSamples gives N sampled answers whose answer g is generate's answer with seed sequenceSeed(seed, g), the
//    same from our batched decoder and from onnxruntime one by one, each token event naming its answer; greedy and a
//    count outside 2..16 are refused.
//  - conversations are stored with their runs and adapters, listed the last changed first in a later engine (a
//    reload), deleted, and dropped with an adapter they compared.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { ChatMessage } from '../../src/data/types';
import { promptIds } from '../../src/engine/evaluate';
import type { EngineEvent } from '../../src/engine/api';
import { sequenceSeed } from '../../src/generate/batch';
import { loadHfModel } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { createMemoryRunStore, type ConversationRecord } from '../../src/storage/runs';
import { droppedFiles, engineOver } from '../helpers/engine';

const files = buildTinyModel('llama-small', 4);
const source = droppedFiles('tiny', files);
const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 3, maxNewTokens: 6, stopStrings: [] };
const u = (content: string): ChatMessage => ({ role: 'user', content });
const a = (content: string): ChatMessage => ({ role: 'assistant', content });

describe('engine conversations', () => {
  it('answers a conversation through the template, trims the earliest turns to fit the context, refuses what cannot be answered', async () => {
    const engine = engineOver();
    await engine.loadModel(source);
    const meta = await loadHfModel(filesFromMap('tiny', files));
    const base = { kind: 'base' } as const;

    const short = [{ role: 'system' as const, content: 'Be brief.' }, u('Name a colour.'), a('Blue.'), u('And another?')];
    const notes: string[] = [];
    const r = await engine.chat({ adapter: base, messages: short, sampling: greedy, backend: 'webgpu' }, (e) => { if (e.type === 'note') notes.push(e.message); });
    const same = await engine.generate({ adapter: base, prompt: { kind: 'chat', messages: short }, sampling: greedy, backend: 'webgpu' });
    expect(r.tokens.length).toBeGreaterThan(0);
    expect([r.tokens, r.text, r.dropped]).toEqual([same.tokens, same.text, 0]);
    expect(notes).toEqual([]);

    // Eight long exchanges: far more than 256 positions.
    const long: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }];
    for (let t = 0; t < 8; t++) long.push(u(`Question ${t}: tell me about the river, the town and the old bridge over it, once more.`), a(`Answer ${t}: the river runs past the town under the old stone bridge.`));
    long.push(u('Which bridge?'));
    const maxNewTokens = 16;
    const budget = meta.config.maxPositions - maxNewTokens;
    const tokensOf = (ms: ChatMessage[]) => promptIds(meta, { kind: 'chat', messages: ms }).length;
    expect(tokensOf(long)).toBeGreaterThan(meta.config.maxPositions);
    const events: EngineEvent[] = [];
    const trimmed = await engine.chat({ adapter: base, messages: long, sampling: { ...greedy, maxNewTokens }, backend: 'webgpu' }, (e) => events.push(e));
    const d = trimmed.dropped;
    expect(d).toBeGreaterThan(0);
    const kept = [long[0], ...long.slice(1 + 2 * d)];
    // Just enough left out: the kept prompt leaves maxNewTokens, one more exchange would not.
    expect(tokensOf(kept)).toBeLessThanOrEqual(budget);
    expect(tokensOf([long[0], ...long.slice(1 + 2 * (d - 1))])).toBeGreaterThan(budget);
    expect(events.filter((e) => e.type === 'note').map((e) => (e as { message: string }).message))
      .toEqual([`the first ${d} of 9 turns were left out: this model's context of 256 positions holds the last ${9 - d} (${tokensOf(kept)} tokens) and 16 new tokens`]);
    expect(events.filter((e) => e.type === 'token').length).toBe(trimmed.tokens.length);
    const ofKept = await engine.generate({ adapter: base, prompt: { kind: 'chat', messages: kept }, sampling: { ...greedy, maxNewTokens }, backend: 'webgpu' });
    expect(trimmed.tokens).toEqual(ofKept.tokens);

    // A last turn that fills the context on its own is refused (nothing earlier is left to drop).
    await expect(engine.chat({ adapter: base, messages: [u('river '.repeat(400))], sampling: greedy, backend: 'webgpu' })).rejects.toThrow(/^the prompt is \d+ tokens; this model's context is 256 positions/);
    await expect(engine.chat({ adapter: base, messages: [u('Hi'), a('Hello')], sampling: greedy })).rejects.toThrow(/ends with a user turn/);
    await expect(engine.chat({ adapter: base, messages: [u('Hi'), u('Hello'), u('Hey')], sampling: greedy })).rejects.toThrow(/message 2 is "user", not assistant/);
  });

  it('samples several answers to one prompt, each as generate with its derived seed, on both decoders', async () => {
    const engine = engineOver();
    await engine.loadModel(source);
    const prompt = { kind: 'chat' as const, messages: [u('Tell me a story.')] };
    const sampling = { ...greedy, temperature: 1, topK: 0, topP: 1, seed: 11, maxNewTokens: 8 };
    const n = 4;
    const byDecoder: string[][] = [];
    for (const backend of ['webgpu', 'onnx'] as const) {
      const streamed = new Map<number, number>();
      const answers = await engine.generateSamples({ adapter: { kind: 'base' }, prompt, sampling, backend, samples: n }, (e) => {
        if (e.type === 'token') streamed.set(e.sample!, (streamed.get(e.sample!) ?? 0) + 1);
      });
      expect(answers.map((x) => x.backend)).toEqual(Array(n).fill(backend));
      expect([...streamed].sort((x, y) => x[0] - y[0])).toEqual(answers.map((x, g) => [g, x.tokens.length]));
      for (const [g, x] of answers.entries()) {
        const alone = await engine.generate({ adapter: { kind: 'base' }, prompt, sampling: { ...sampling, seed: sequenceSeed(sampling.seed, g) }, backend });
        expect(x.tokens, `${backend} answer ${g}`).toEqual(alone.tokens);
        expect(x.text).toBe(alone.text);
      }
      byDecoder.push(answers.map((x) => x.text));
    }
    expect(byDecoder[1]).toEqual(byDecoder[0]);
    expect(new Set(byDecoder[0]).size).toBeGreaterThan(1);   // sampled: the answers differ

    await expect(engine.generateSamples({ adapter: { kind: 'base' }, prompt, sampling: greedy, samples: 3 })).rejects.toThrow(/with temperature 0 \(greedy\) every answer is the same/);
    for (const samples of [1, 17, 2.5]) {
      await expect(engine.generateSamples({ adapter: { kind: 'base' }, prompt, sampling, samples })).rejects.toThrow(/ask for 2 to 16 answers/);
    }
  });

  it('stores conversations with what they compared, across engines, and drops them with their adapter', async () => {
    const store = createMemoryRunStore();
    const first = engineOver(store);
    const c = (id: string, updatedAt: number, subjects: string[]): ConversationRecord => ({
      id, createdAt: 1, updatedAt, title: 'Name a colour.', model: { name: 'tiny', fingerprint: 'f' },
      sampling: { ...greedy, chatTemplate: true, backend: 'auto' }, history: 'shared', system: null,
      columns: [{ id: 'base', label: 'Base', adapter: { kind: 'base' } }, ...subjects.map((s) => ({ id: `imported:${s}`, label: s, adapter: { kind: 'imported' as const, adapterId: s } }))],
      subjects,
      turns: [{ user: 'Name a colour.', answers: { base: { text: 'Blue.', tokens: [1, 2], finishReason: 'stop-token', done: true, error: null, note: null } }, better: 'base', edited: null, reference: null }],
    });
    await first.saveConversation(c('c-1', 10, ['adapter-1']));
    await first.saveConversation(c('c-2', 20, []));
    await first.saveConversation({ ...c('c-1', 30, ['adapter-1']), title: 'changed' });
    const later = engineOver(store);
    expect((await later.listConversations({})).map((x) => [x.id, x.title])).toEqual([['c-1', 'changed'], ['c-2', 'Name a colour.']]);
    expect((await later.listConversations({ subject: 'adapter-1' }))[0]).toEqual({ ...c('c-1', 30, ['adapter-1']), title: 'changed' });
    await later.deleteConversation({ conversationId: 'c-2' });
    expect((await later.listConversations({})).map((x) => x.id)).toEqual(['c-1']);
    await store.removeAdapter('adapter-1');
    expect(await later.listConversations({})).toEqual([]);
  });
});
