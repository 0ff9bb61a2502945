// The checks a curator expects, one verdict per record, each usable as a table filter:
//   empty-response   no assistant turn, or only whitespace in the last one
//   repeats-prompt   the response equals the prompt, or starts with it (prompts of 20+ chars), after
//                    collapsing whitespace and case
//   too-long         the example has more tokens than maxSeqLen (overBy says how many would be cut)
//   short-answer     the response has fewer than minAnswerWords words (but is not empty)
// Token counts come from a counter the caller passes (the chosen model's tokenizer); without one they are
// estimated as ceil(chars / 4) and marked estimated, which the UI must say.
// The text work (normalising prompt and response) does not depend on the options: it is done once per
// record as QualityFacts, cached by record object, and for imports computed in the data worker and sent
// packed beside the records (packFacts / rememberPackedFacts), so 100k rows landing do not stall the page;
// records loaded from storage are warmed in slices (warmQualityFacts).
import type { Conversation } from './types';
import { promptOf, responseOf } from './record';

export type QualityCheck = 'empty-response' | 'repeats-prompt' | 'too-long' | 'short-answer';

export const QUALITY_CHECKS: readonly { id: QualityCheck; label: string }[] = [
  { id: 'empty-response', label: 'Empty response' },
  { id: 'repeats-prompt', label: 'Response repeats prompt' },
  { id: 'too-long', label: 'Longer than max sequence length' },
  { id: 'short-answer', label: 'Very short answer' },
];

export interface QualityOptions {
  maxSeqLen: number;
  minAnswerWords: number;
  /** Tokens of the whole example as training sees it; estimateTokens when absent. */
  countTokens?: (c: Pick<Conversation, 'messages'>) => number;
}

export const DEFAULT_QUALITY: QualityOptions = { maxSeqLen: 1024, minAnswerWords: 3 };

export interface QualityResult {
  checks: QualityCheck[];
  tokens: number;
  estimated: boolean;
  /** Tokens past maxSeqLen (0 when it fits). */
  overBy: number;
}

export function estimateTokens(c: Pick<Conversation, 'messages'>): number {
  return Math.ceil(qualityFacts(c).chars / 4);
}

function norm(s: string): string {
  return s.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** What the checks need to know of a record's text, whatever the options. */
export interface QualityFacts {
  /** No assistant turn, or only whitespace in the last one. */
  empty: boolean;
  repeatsPrompt: boolean;
  answerWords: number;
  /** Characters of all turns (for the token estimate). */
  chars: number;
}

type Messages = Pick<Conversation, 'messages'>;

const factsCache = new WeakMap<Messages, QualityFacts>();

function computeFacts(c: Messages): QualityFacts {
  const response = norm(responseOf(c));
  const prompt = norm(promptOf(c));
  const empty = !c.messages.some((m) => m.role === 'assistant') || response === '';
  let chars = 0;
  for (const m of c.messages) chars += m.content.length;
  return {
    empty,
    repeatsPrompt: !empty && prompt !== '' && (response === prompt || (prompt.length >= 20 && response.startsWith(prompt))),
    answerWords: empty ? 0 : response.split(' ').length,
    chars,
  };
}

/** The record's facts, computed once per record object (records are immutable). */
function qualityFacts(c: Messages): QualityFacts {
  let f = factsCache.get(c);
  if (!f) { f = computeFacts(c); factsCache.set(c, f); }
  return f;
}

/**
 * Computes and caches the facts of many records a slice at a time, yielding to the event loop between
 * slices, so records read from storage on the page (a reload of 100k rows) do not stall it.
 */
export async function warmQualityFacts(records: readonly Messages[], slice = 2000): Promise<void> {
  for (let i = 0; i < records.length; i += slice) {
    for (let k = i; k < Math.min(i + slice, records.length); k++) qualityFacts(records[k]);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** Facts of many records as three typed arrays (cheap to post from a worker: they are transferred). */
export interface PackedFacts {
  /** bit 0: empty, bit 1: repeats the prompt */
  flags: Uint8Array;
  answerWords: Uint32Array;
  chars: Uint32Array;
}

export function packFacts(records: readonly Messages[]): PackedFacts {
  const out: PackedFacts = { flags: new Uint8Array(records.length), answerWords: new Uint32Array(records.length), chars: new Uint32Array(records.length) };
  records.forEach((r, i) => {
    const f = qualityFacts(r);
    out.flags[i] = (f.empty ? 1 : 0) | (f.repeatsPrompt ? 2 : 0);
    out.answerWords[i] = f.answerWords;
    out.chars[i] = f.chars;
  });
  return out;
}

/** Caches facts computed elsewhere (the worker) for these record objects, in the same order. */
export function rememberPackedFacts(records: readonly Messages[], p: PackedFacts): void {
  records.forEach((r, i) => {
    factsCache.set(r, { empty: (p.flags[i] & 1) !== 0, repeatsPrompt: (p.flags[i] & 2) !== 0, answerWords: p.answerWords[i], chars: p.chars[i] });
  });
}

export function checkRecord(c: Messages, opts: QualityOptions = DEFAULT_QUALITY): QualityResult {
  const checks: QualityCheck[] = [];
  const f = qualityFacts(c);
  if (f.empty) checks.push('empty-response');
  else {
    if (f.repeatsPrompt) checks.push('repeats-prompt');
    if (f.answerWords < opts.minAnswerWords) checks.push('short-answer');
  }
  const tokens = opts.countTokens ? opts.countTokens(c) : estimateTokens(c);
  const overBy = Math.max(0, tokens - opts.maxSeqLen);
  if (overBy > 0) checks.push('too-long');
  return { checks, tokens, estimated: !opts.countTokens, overBy };
}

export function checkAll(records: readonly Conversation[], opts: QualityOptions = DEFAULT_QUALITY): Map<string, QualityResult> {
  const out = new Map<string, QualityResult>();
  for (const r of records) out.set(r.id, checkRecord(r, opts));
  return out;
}

export function countChecks(results: Iterable<QualityResult>): Record<QualityCheck, number> {
  const counts: Record<QualityCheck, number> = { 'empty-response': 0, 'repeats-prompt': 0, 'too-long': 0, 'short-answer': 0 };
  for (const r of results) for (const c of r.checks) counts[c]++;
  return counts;
}
