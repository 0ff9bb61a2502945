// A Compare conversation's pure parts (src/eval/conversation.ts): the messages each column is asked per turn in the
// shared and the own history, the reference's precedence (frozen, edited, better, first column), a failed turn
// cutting what follows, the marked turns as TRL preference pairs (the conversation so far as the prompt) and the
// conversation as SFT rows, both read back by the Data step's importer and the preference trainer's reader.
// Expected values are written from the conversation below, never from running the functions.
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../src/data/bytes';
import { importSource } from '../../src/data/import';
import type { ChatMessage } from '../../src/data/types';
import { askedMessages, conversationJsonl, conversationMessages, conversationPairs, referenceOf, type Conversation, type TurnAnswer } from '../../src/eval/conversation';
import { preferenceJsonl } from '../../src/eval/export';
import { preferencePairsFromJsonl } from '../../src/train/preference-pairs';

const u = (content: string): ChatMessage => ({ role: 'user', content });
const a = (content: string): ChatMessage => ({ role: 'assistant', content });
const sys = (content: string): ChatMessage => ({ role: 'system', content });
const ok = (text: string): TurnAnswer => ({ text, tokens: [1], finishReason: 'stop-token', done: true, error: null, note: null });
const failed: TurnAnswer = { text: '', tokens: [], finishReason: null, done: true, error: 'device lost', note: null };

/** Three turns, base and tuned: turn 1 frozen at the tuned answer, turn 2 edited, turn 3 marked base better. */
const conversation = (history: Conversation['history']): Conversation => ({
  history, system: 'Be brief.', columns: [{ id: 'base' }, { id: 'tuned' }],
  turns: [
    { user: 'Name a colour.', answers: { base: ok('Colour colour.'), tuned: ok('Blue.') }, better: 'tuned', edited: null, reference: 'Blue.' },
    { user: 'Another?', answers: { base: ok('Red red.'), tuned: ok('Green.') }, better: null, edited: 'Red.', reference: null },
    { user: 'Which is warmer?', answers: { base: ok('Red.'), tuned: ok('Green is.') }, better: 'base', edited: null, reference: null },
  ],
});

describe('conversation histories', () => {
  it('asks every column the shared reference history, or each its own answers', () => {
    const shared = conversation('shared');
    expect(referenceOf(shared, 0)).toBe('Blue.');          // frozen
    expect(referenceOf(shared, 1)).toBe('Red.');           // edited
    expect(referenceOf(shared, 2)).toBe('Red.');           // the better answer (base's)
    const unmarked = { ...shared, turns: [{ ...shared.turns[2], better: null }] };
    expect(referenceOf(unmarked, 0)).toBe('Red.');         // the first column's
    const sharedTurn3 = [sys('Be brief.'), u('Name a colour.'), a('Blue.'), u('Another?'), a('Red.'), u('Which is warmer?')];
    expect(askedMessages(shared, 'base', 2)).toEqual(sharedTurn3);
    expect(askedMessages(shared, 'tuned', 2)).toEqual(sharedTurn3);
    const own = conversation('own');
    expect(askedMessages(own, 'base', 2)).toEqual([sys('Be brief.'), u('Name a colour.'), a('Colour colour.'), u('Another?'), a('Red red.'), u('Which is warmer?')]);
    expect(askedMessages(own, 'tuned', 1)).toEqual([sys('Be brief.'), u('Name a colour.'), a('Blue.'), u('Another?')]);
    expect(askedMessages(own, 'tuned', 0)).toEqual([sys('Be brief.'), u('Name a colour.')]);
  });

  it('cannot continue past a turn whose answer failed', () => {
    const own = conversation('own');
    own.turns[1].answers.tuned = failed;
    expect(() => askedMessages(own, 'tuned', 2)).toThrow(/^turn 2 has no answer from this model to continue from$/);
    expect(askedMessages(own, 'base', 2)).toHaveLength(6);
    const shared = { ...conversation('shared'), turns: conversation('shared').turns.map((t) => ({ ...t, reference: null, edited: null, better: null })) };
    shared.turns[0].answers.base = failed;
    expect(() => askedMessages(shared, 'tuned', 1)).toThrow(/^turn 1 has no reference answer to continue from$/);
    expect(conversationMessages(shared, 'pick')).toEqual([sys('Be brief.')]);
    expect(conversationMessages(shared, 'tuned')).toEqual([sys('Be brief.'), u('Name a colour.'), a('Blue.'), u('Another?'), a('Green.'), u('Which is warmer?'), a('Green is.')]);
  });
});

describe('conversation exports', () => {
  it('writes each marked turn as a TRL pair with the conversation so far as its prompt', async () => {
    const shared = conversation('shared');
    const pairs = conversationPairs(shared);
    expect(pairs).toEqual([
      { prompt: { kind: 'chat', messages: [sys('Be brief.'), u('Name a colour.')] }, chosen: 'Blue.', rejected: 'Colour colour.' },
      { prompt: { kind: 'chat', messages: [sys('Be brief.'), u('Name a colour.'), a('Blue.'), u('Another?'), a('Red.'), u('Which is warmer?')] }, chosen: 'Red.', rejected: 'Green is.' },
    ]);
    // Own history: the prompt is the better column's own conversation.
    expect(conversationPairs(conversation('own'))[1].prompt).toEqual({ kind: 'chat', messages: [sys('Be brief.'), u('Name a colour.'), a('Colour colour.'), u('Another?'), a('Red red.'), u('Which is warmer?')] });
    // A failed rejected answer makes no pair; a failed better answer makes none at all.
    const broken = conversation('shared');
    broken.turns[0].answers.base = failed;
    broken.turns[2].answers.base = failed;
    expect(conversationPairs(broken)).toEqual([]);

    const text = preferenceJsonl(pairs);
    expect(preferencePairsFromJsonl(text, 'pairs.jsonl')).toEqual([
      { prompt: [sys('Be brief.'), u('Name a colour.')], chosen: [a('Blue.')], rejected: [a('Colour colour.')] },
      { prompt: [sys('Be brief.'), u('Name a colour.'), a('Blue.'), u('Another?'), a('Red.'), u('Which is warmer?')], chosen: [a('Red.')], rejected: [a('Green is.')] },
    ]);
  });

  it('writes SFT rows per column and of the picks, which the Data step imports as conversations', async () => {
    const shared = conversation('shared');
    const pick = [sys('Be brief.'), u('Name a colour.'), a('Blue.'), u('Another?'), a('Red.'), u('Which is warmer?'), a('Red.')];
    const base = [sys('Be brief.'), u('Name a colour.'), a('Colour colour.'), u('Another?'), a('Red red.'), u('Which is warmer?'), a('Red.')];
    expect(conversationMessages(shared, 'pick')).toEqual(pick);
    expect(conversationMessages(shared, 'base')).toEqual(base);
    const text = conversationJsonl([pick, base, [sys('Be brief.')]]);
    expect(text.split('\n')).toHaveLength(3);   // two lines, each ended; the row without an answer is left out
    const r = await importSource(memorySource('sft.jsonl', new TextEncoder().encode(text), 11));
    expect(r.issues).toEqual([]);
    expect(r.records.map((x) => x.messages)).toEqual([pick, base]);
  });
});
