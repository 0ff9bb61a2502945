// examplesFromRecords, the one mapping from records to training examples: a conversation longer than the
// sequence keeps exactly maxSeqLength + 1 tokens (its prefix), which makeBatch turns into maxSeqLength
// positions that all have a next-token target; shorter conversations are left whole. On the built-in
// model's own tokenizer and chat template. ExamplesOnDemand gives the same examples, each tokenized when first asked for.
import { describe, expect, it } from 'vitest';
import { loadHfModel, templateOf } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { examplesFromRecords, ExamplesOnDemand, tokenizeConversation } from '../../src/tokenize/loss-mask';
import { makeBatch } from '../../src/train/batch';

const model = await loadHfModel(filesFromDirectory('public/models/default'));
const tpl = templateOf(model);

describe('examplesFromRecords', () => {
  const long = { messages: [{ role: 'user' as const, content: 'Where does Juno live?' }, { role: 'assistant' as const, content: 'Juno lives in the house by the river, past the old mill, near the bridge.' }] };
  const short = { messages: [{ role: 'user' as const, content: 'Hi' }, { role: 'assistant' as const, content: 'Hello.' }] };

  it('cuts a long conversation to maxSeqLength + 1 tokens, every batch position with a target', () => {
    const whole = tokenizeConversation(model.tokenizer, tpl, long.messages, { assistantOnly: true });
    const maxSeqLength = whole.inputIds.length - 5;
    const [ex] = examplesFromRecords(model.tokenizer, tpl, [long], { assistantOnly: true, maxSeqLength });
    expect(ex.inputIds).toEqual(whole.inputIds.slice(0, maxSeqLength + 1));
    expect(ex.lossMask).toEqual(whole.lossMask.slice(0, maxSeqLength + 1));
    const batch = makeBatch([ex], maxSeqLength);
    expect(batch.T).toBe(maxSeqLength);
    expect([...batch.ids]).toEqual(ex.inputIds.slice(0, maxSeqLength));
    expect([...batch.targets]).toEqual(ex.inputIds.slice(1)); // the last kept token is the last target
  });

  it('leaves conversations within the limit whole, and follows assistantOnly', () => {
    const [a, b] = examplesFromRecords(model.tokenizer, tpl, [short, long], { assistantOnly: false, maxSeqLength: 512 });
    expect(a).toEqual(tokenizeConversation(model.tokenizer, tpl, short.messages, { assistantOnly: false }));
    expect(b).toEqual(tokenizeConversation(model.tokenizer, tpl, long.messages, { assistantOnly: false }));
    expect(b.lossMask.slice(1).every((m) => m === 1)).toBe(true); // every token but the first is a target
    expect(b.lossMask).not.toEqual(examplesFromRecords(model.tokenizer, tpl, [long], { assistantOnly: true, maxSeqLength: 512 })[0].lossMask);
  });

  it('on demand: the same examples index for index, each tokenized once, only when asked for', () => {
    const records = [short, long, short, { messages: [{ role: 'user' as const, content: 'Bye' }, { role: 'assistant' as const, content: 'Goodbye!' }] }];
    const opts = { assistantOnly: true, maxSeqLength: 12 };
    let told = 0;
    const lazy = new ExamplesOnDemand(model.tokenizer, tpl, records, opts, { onTokenized: () => told++ });
    expect(lazy.length).toBe(4);
    expect(lazy.tokenized).toBe(0);
    const eager = examplesFromRecords(model.tokenizer, tpl, records, opts);
    expect(lazy.at(3)).toEqual(eager[3]);
    expect([lazy.tokenized, told]).toEqual([1, 1]);
    expect(lazy.at(3)).toBe(lazy.at(3)); // kept, not made again
    expect(Array.from({ length: 4 }, (_, i) => lazy.at(i))).toEqual(eager);
    expect([lazy.tokenized, told]).toEqual([4, 4]);
    expect(lazy.at(4)).toBeUndefined();
  });

  it('on demand: a conversation the template refuses is named when it is asked for', () => {
    const bad = { messages: [{ role: 'user' as const, content: null as unknown as string }] };
    const lazy = new ExamplesOnDemand(model.tokenizer, tpl, [short, bad], { assistantOnly: true, maxSeqLength: 64 }, { describe: (i) => `train conversation ${i + 1}` });
    expect(lazy.at(0)).toBeDefined();
    expect(() => lazy.at(1)).toThrow(/^train conversation 2: chat_template: rendering failed/);
  });
});
