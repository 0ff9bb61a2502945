// The checks a curator expects, one verdict per record, each usable as a table filter:
//   empty-response   no assistant turn, or only whitespace in the last one
//   repeats-prompt   the response equals the prompt, or starts with it (prompts of 20+ chars), after
//                    collapsing whitespace and case
//   too-long         the example has more tokens than maxSeqLen (overBy says how many would be cut)
//   short-answer     the response has fewer than minAnswerWords words (but is not empty)
// Token counts come from a counter the caller passes (the chosen model's tokenizer); without one they are
// estimated as ceil(chars / 4) and marked estimated, which the UI must say.
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
  let chars = 0;
  for (const m of c.messages) chars += m.content.length;
  return Math.ceil(chars / 4);
}

function norm(s: string): string {
  return s.replace(/\s+/g, ' ').trim().toLowerCase();
}

export function checkRecord(c: Pick<Conversation, 'messages'>, opts: QualityOptions = DEFAULT_QUALITY): QualityResult {
  const checks: QualityCheck[] = [];
  const response = norm(responseOf(c));
  const prompt = norm(promptOf(c));
  const hasAssistant = c.messages.some((m) => m.role === 'assistant');
  if (!hasAssistant || response === '') checks.push('empty-response');
  else {
    if (prompt && (response === prompt || (prompt.length >= 20 && response.startsWith(prompt)))) checks.push('repeats-prompt');
    if (response.split(' ').length < opts.minAnswerWords) checks.push('short-answer');
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
