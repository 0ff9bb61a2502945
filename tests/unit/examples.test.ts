// examplesFromRecords, the one mapping from records to training examples: a conversation longer than the
// sequence keeps exactly maxSeqLength + 1 tokens (its prefix), which makeBatch turns into maxSeqLength
// positions that all have a next-token target; shorter conversations are left whole. On the built-in
// model's own tokenizer and chat template.
import { describe, expect, it } from 'vitest';
import { loadHfModel, templateOf } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { examplesFromRecords, tokenizeConversation } from '../../src/tokenize/loss-mask';
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
});
