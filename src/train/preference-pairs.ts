// Preference pairs: a prompt (messages) and two answers, chosen and rejected (assistant messages). Rows are read by
// the Data step's reader (src/data/shapes.ts: TRL's explicit and implicit prompt, Anthropic HH); a curated record with
// a rejected answer becomes a pair here (pairOfRecord); preference JSONL is read whole or refused at its first bad
// line. Tokens: prompt + answer through the chat template (tokenizeConversation); the mask marks the answer's turns
// only (what the model generates after the prompt's generation header), never an assistant turn of the prompt.
// Not here: the losses and the trainer (preference.ts).
import { preferenceParts, type DatasetRecord, type PreferenceParts } from '../data/record';
import { normalisePreference } from '../data/shapes';
import type { ChatMessage } from '../data/types';
import type { ChatTemplate } from '../tokenize/chat';
import { tokenizeConversation } from '../tokenize/loss-mask';
import type { Tokenizer } from '../tokenize/tokenizer';
import type { Example } from './batch';

/** A pair as the trainer takes it: the prompt and two answers (assistant turns), chosen and rejected. */
export type PreferencePair = PreferenceParts;

/** A Data-step record that carries a rejected answer, as a pair; an error naming what is missing otherwise. */
export function pairOfRecord(rec: Pick<DatasetRecord, 'messages' | 'rejected'>): PreferencePair {
  const pair = preferenceParts(rec);
  if (!pair) throw new Error('not a preference pair (no rejected answer)');
  if (pair.prompt.length === 0) throw new Error('the pair has no prompt (it must end its prompt with a user or system turn)');
  for (const side of ['chosen', 'rejected'] as const) {
    if (pair[side].length === 0 || pair[side].some((m) => m.role !== 'assistant')) throw new Error(`${side}: the answer must be assistant messages after the prompt`);
  }
  return pair;
}

/** A row in any preference form the Data step reads (src/data/shapes.ts: TRL explicit or implicit prompt, HH), as a pair. */
export function preferencePairOf(row: unknown): PreferencePair {
  const n = normalisePreference(row);
  if (!n.ok) throw new Error(n.reason);
  return pairOfRecord(n);
}

/** JSONL of preference rows in any of those forms (blank lines skipped); the first bad row is an error naming its line. */
export function preferencePairsFromJsonl(text: string, name = 'data'): PreferencePair[] {
  const pairs: PreferencePair[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      pairs.push(preferencePairOf(JSON.parse(line)));
    } catch (e) {
      throw new Error(`${name} line ${i + 1}: ${(e as Error).message.slice(0, 200)}`);
    }
  });
  if (pairs.length === 0) throw new Error(`${name}: no preference rows`);
  return pairs;
}

export interface PreferenceExample { chosen: Example; rejected: Example }

/** prompt + answer through the template, the mask on the answer's turns only (the prompt's assistant turns are context). */
function tokenizeAnswer(tok: Tokenizer, tpl: ChatTemplate, prompt: ChatMessage[], answer: ChatMessage[], maxLength: number): Example {
  const { inputIds, lossMask } = tokenizeConversation(tok, tpl, [...prompt, ...answer], { assistantOnly: true, maxLength, answerFrom: prompt.length });
  if (!lossMask.some(Boolean)) throw new Error(`no answer tokens left within ${maxLength} tokens (the prompt fills the sequence)`);
  return { inputIds, lossMask };
}

export function tokenizePreference(tok: Tokenizer, tpl: ChatTemplate, pair: PreferencePair, maxSeqLength: number): PreferenceExample {
  return {
    chosen: tokenizeAnswer(tok, tpl, pair.prompt, pair.chosen, maxSeqLength + 1),
    rejected: tokenizeAnswer(tok, tpl, pair.prompt, pair.rejected, maxSeqLength + 1),
  };
}
