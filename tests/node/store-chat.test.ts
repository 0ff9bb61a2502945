// Compare's conversation store (app/features/compare/chat-store.ts), built with createChatStore on the engine through
// the page's client, with the base model and an imported random adapter as the columns:
//  - shared history: each turn streams every column's answer, each the engine's own chat answer to the messages the
//    shared history gives (the marked-better answer, then the user's edit, as the next turn's reference); a mark made
//    after the next turn was asked changes the pairs, never what was asked; stored after each turn and mark, shown
//    again by a fresh store (a reload), deleted;
//  - own history: each column is asked with its own earlier answers;
//  - refused: a turn with another model loaded; a failure to store is shown and the conversation stays.
import { describe, expect, it } from 'vitest';
import { createChatStore, type ChatSetup } from '../../app/features/compare/chat-store';
import type { Column, Sampling } from '../../app/features/compare/store';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { ChatMessage } from '../../src/data/types';
import type { Engine } from '../../src/engine/api';
import { conversationPairs } from '../../src/eval/conversation';
import { exportPeftAdapter } from '../../src/export/peft';
import { loadHfModel } from '../../src/io/hf';
import { filesFromMap } from '../../src/io/model-files';
import { droppedFiles, engineOver } from '../helpers/engine';
import { withRandomLora } from '../helpers/random-lora';

const files = buildTinyModel('llama-small', 4);
const sampling: Sampling = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 6, stopStrings: [], chatTemplate: true, backend: 'webgpu' };
const u = (content: string): ChatMessage => ({ role: 'user', content });
const a = (content: string): ChatMessage => ({ role: 'assistant', content });

async function setUp(): Promise<{ engine: Engine; setup: ChatSetup; tuned: Column }> {
  const engine = engineOver();
  const info = await engine.loadModel(droppedFiles('tiny', files));
  const { model } = await withRandomLora(await loadHfModel(filesFromMap('tiny', files)), 4, 7, ['q_proj', 'v_proj', 'up_proj']);
  const peft = await exportPeftAdapter(model, 'tiny');
  model.destroy();
  const adapter = await engine.importAdapter({
    name: 'tuned', ignoreBaseModel: true,
    files: Object.entries(peft).map(([path, bytes]) => ({ path, file: new Blob([typeof bytes === 'string' ? bytes : bytes.slice()]) })),
  });
  const tuned: Column = { id: `imported:${adapter.id}`, label: 'tuned (imported)', adapter: { kind: 'imported', adapterId: adapter.id } };
  const columns: Column[] = [{ id: 'base', label: 'Base', adapter: { kind: 'base' } }, tuned];
  return { engine, tuned, setup: { columns, sampling, model: { name: info.name, fingerprint: info.fingerprint } } };
}

describe('conversation store', () => {
  it('answers turns in the shared history, freezes what was asked, stores each change, and shows it after a reload', async () => {
    const { engine, setup, tuned } = await setUp();
    let clock = 100;
    const store = createChatStore({ engine: () => engine, now: () => clock++ });
    const s = () => store.getState();
    const direct = async (column: Column, messages: ChatMessage[]) => (await engine.chat({ adapter: column.adapter, messages, sampling: { ...sampling }, backend: 'webgpu' })).text;
    const [base] = setup.columns;

    const streamed: number[] = [];
    const watch = store.subscribe((st) => { const x = st.conversation?.turns[0]?.answers[tuned.id]; if (x && !x.done) streamed.push(x.tokens.length); });
    await s().send('Name a colour.', setup);
    watch();
    expect(streamed.some((n) => n > 0)).toBe(true);   // streamed, token by token
    const c1 = s().conversation!;
    expect(c1).toMatchObject({ history: 'shared', system: null, title: 'Name a colour.', subjects: [tuned.adapter.kind === 'imported' ? tuned.adapter.adapterId : ''] });
    const base1 = c1.turns[0].answers.base.text, tuned1 = c1.turns[0].answers[tuned.id].text;
    expect(base1).toBe(await direct(base, [u('Name a colour.')]));
    expect(tuned1).toBe(await direct(tuned, [u('Name a colour.')]));
    expect(base1).not.toBe(tuned1);   // the adapter answers otherwise, so the histories below can tell them apart
    expect((await engine.listConversations({}))[0]).toEqual(c1);

    // Marked better: the tuned answer is the reference the second turn is asked with, by every column.
    await s().markBetter(0, tuned.id);
    expect((await engine.listConversations({}))[0].turns[0].better).toBe(tuned.id);
    await s().send('Another?', setup);
    const asked2 = [u('Name a colour.'), a(tuned1), u('Another?')];
    const c2 = s().conversation!;
    expect(c2.turns[0].reference).toBe(tuned1);
    expect(c2.turns[1].answers.base.text).toBe(await direct(base, asked2));
    expect(c2.turns[1].answers[tuned.id].text).toBe(await direct(tuned, asked2));

    // A mark after the fact changes the pair, not the frozen reference; an edit is the next reference.
    await s().markBetter(0, 'base');
    await s().edit(1, 'Red.');
    await s().send('Which is warmer?', setup);
    const c3 = s().conversation!;
    expect(c3.turns.map((t) => t.reference)).toEqual([tuned1, 'Red.', null]);
    expect(c3.turns[2].answers[tuned.id].text).toBe(await direct(tuned, [...asked2, a('Red.'), u('Which is warmer?')]));
    expect(conversationPairs(c3)).toEqual([{ prompt: { kind: 'chat', messages: [u('Name a colour.')] }, chosen: base1, rejected: tuned1 }]);

    // A reload: a fresh store shows the stored conversation, as it was.
    const again = createChatStore({ engine: () => engine });
    await again.getState().refresh();
    expect(again.getState().conversation).toEqual(c3);
    await again.getState().remove(c3.id);
    expect(again.getState().conversation).toBeNull();
    expect(await engine.listConversations({})).toEqual([]);
  });

  it('asks each column with its own answers in the own history, and refuses another model', async () => {
    const { engine, setup, tuned } = await setUp();
    const store = createChatStore({ engine: () => engine });
    const s = () => store.getState();
    s().setHistory('own');
    s().setSystem('Be brief.');
    await s().send('Name a colour.', setup);
    await s().send('Another?', setup);
    const c = s().conversation!;
    for (const col of setup.columns) {
      const own = [{ role: 'system' as const, content: 'Be brief.' }, u('Name a colour.'), a(c.turns[0].answers[col.id].text), u('Another?')];
      expect(c.turns[1].answers[col.id].text).toBe((await engine.chat({ adapter: col.adapter, messages: own, sampling, backend: 'webgpu' })).text);
    }
    expect(c.turns[0].reference).toBeNull();   // nothing is frozen in the own history
    expect(c.turns[1].answers[tuned.id].text).not.toBe(c.turns[1].answers.base.text);

    await s().send('Third?', { ...setup, model: { name: 'other', fingerprint: 'other' } });
    expect(s().error).toMatch(/^This conversation was answered by tiny; load that model to go on, or start a new conversation\.$/);
    expect(s().conversation!.turns).toHaveLength(2);

    // A refused write: shown, and the conversation stays on screen.
    const refusing = { chat: engine.chat, listConversations: engine.listConversations, saveConversation: async () => { throw new Error('the disk is full'); } } as unknown as Engine;
    const full = createChatStore({ engine: () => refusing });
    await full.getState().send('Name a colour.', setup);
    expect(full.getState().error).toBe('The conversation could not be stored: the disk is full');
    expect(full.getState().conversation!.turns[0].answers.base.done).toBe(true);
  });
});
