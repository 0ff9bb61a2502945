// Scoring generated answers against references, shared by the Compare screen's batch evaluation and the CLI's
// `eval` so both report the same numbers for the same model, adapter and data.
//
// Contract:
//  - promptAndReference(messages): the conversation up to its last assistant turn (the prompt) and that turn's
//    content (the reference); null when there is no assistant turn. Both the CLI and the app build prompts so.
//  - normalizeAnswer: Unicode NFC, whitespace runs collapsed to one space, trimmed. Case and punctuation are
//    kept (an answer that differs in them is not an exact match). exactMatch compares normalised strings.
//  - rougeL: LCS-based F1 over lower-cased word tokens (runs of letters/digits, Unicode-aware), as Google's
//    rouge-score computes `rougeL` with β = 1 and no stemming; 0 when either side has no tokens.
//  - Lengths count generated tokens without the end-of-turn token that stopped them. A clean stop is a stop at
//    the end-of-turn token or a stop string; running out of max new tokens is not clean.
// Not here: generating (the engine), loss and perplexity (src/train/trainer.ts evaluateLoss), exports (export.ts).
import type { ChatMessage } from '../data/types';

type FinishReason = 'stop-token' | 'stop-string' | 'length' | null;

/** One generated answer as the engine returns it. */
export interface Generation { text: string; tokens: number[]; finishReason: FinishReason; tokensPerSecond?: number }

export function promptAndReference(messages: ChatMessage[]): { prompt: ChatMessage[]; reference: string } | null {
  const lastA = messages.map((m) => m.role).lastIndexOf('assistant');
  if (lastA < 0) return null;
  return { prompt: messages.slice(0, lastA), reference: messages[lastA].content };
}

export function normalizeAnswer(s: string): string {
  return s.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

export function exactMatch(output: string, reference: string): boolean {
  return normalizeAnswer(output) === normalizeAnswer(reference);
}

/** Lower-cased word tokens: maximal runs of letters, marks and digits. */
export function rougeTokens(s: string): string[] {
  return s.normalize('NFC').toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

/** Length of the longest common subsequence of two token lists (O(n·m) time, O(m) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const row = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0; // row[j-1] of the previous i
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(up, row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

interface RougeL { precision: number; recall: number; f: number }

export function rougeL(output: string, reference: string): RougeL {
  const c = rougeTokens(output), r = rougeTokens(reference);
  if (c.length === 0 || r.length === 0) return { precision: 0, recall: 0, f: 0 };
  const lcs = lcsLength(c, r);
  const precision = lcs / c.length, recall = lcs / r.length;
  const f = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f };
}

/** Generated tokens, not counting the end-of-turn token that ended the answer. */
export function answerLength(g: Pick<Generation, 'tokens' | 'finishReason'>): number {
  return g.tokens.length - (g.finishReason === 'stop-token' ? 1 : 0);
}

export function stoppedCleanly(g: Pick<Generation, 'finishReason'>): boolean {
  return g.finishReason === 'stop-token' || g.finishReason === 'stop-string';
}

/** One model's scores over a set of examples. Loss/perplexity come from elsewhere (null when not measured). */
export interface EvalSummary {
  examples: number;
  exactMatch: number;
  rougeL: number;
  averageLength: number;
  cleanStopRate: number;
  tokensPerSecond: number | null;
  loss: number | null;
  perplexity: number | null;
}

export function summarize(pairs: { output: Generation; reference: string }[], loss: number | null = null): EvalSummary {
  const n = pairs.length;
  const mean = (f: (p: { output: Generation; reference: string }) => number) => (n ? pairs.reduce((s, p) => s + f(p), 0) / n : 0);
  const speeds = pairs.map((p) => p.output.tokensPerSecond).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return {
    examples: n,
    exactMatch: mean((p) => (exactMatch(p.output.text, p.reference) ? 1 : 0)),
    rougeL: mean((p) => rougeL(p.output.text, p.reference).f),
    averageLength: mean((p) => answerLength(p.output)),
    cleanStopRate: mean((p) => (stoppedCleanly(p.output) ? 1 : 0)),
    tokensPerSecond: speeds.length ? speeds.reduce((a, b) => a + b, 0) / speeds.length : null,
    loss,
    perplexity: loss === null ? null : Math.exp(loss),
  };
}

// ---- Preferences: which answer is better, per prompt ----

export type Verdict = 'base' | 'tuned' | 'tie';

export interface WinTally { base: number; tuned: number; tie: number; total: number; /** (tuned + tie/2) / total; null with no marks. */ winRate: number | null }

export function winRate(verdicts: Iterable<Verdict>): WinTally {
  const t = { base: 0, tuned: 0, tie: 0 };
  for (const v of verdicts) t[v]++;
  const total = t.base + t.tuned + t.tie;
  return { ...t, total, winRate: total ? (t.tuned + t.tie / 2) / total : null };
}
