// What leaves the Compare screen as files: an evaluation as CSV or JSONL (one line per example and model), and
// preferences as a dataset (prompt / chosen / rejected JSONL, the form TRL's DPOTrainer reads): the base-vs-tuned
// marks (markedPairs), and the pairs of several answers to one prompt and of conversation turns, all one form.
//
// Contract:
//  - Preference lines follow TRL's two dataset forms: a chat prompt gives the conversational form
//    {"prompt": [messages], "chosen": [{"role":"assistant",...}], "rejected": [...]}; a raw prompt gives the
//    standard form {"prompt": "...", "chosen": "...", "rejected": "..."}. Ties and identical answers carry no
//    preference and are left out. One JSON object per line, '\n' after each.
//  - CSV is RFC 4180: every field that holds a comma, quote, CR or LF is quoted, quotes doubled; '\r\n' rows.
// Not here: scoring (metrics.ts), downloading (the app's download helper).
import type { ChatMessage } from '../data/types';
import { answerLength, exactMatch, rougeL, stoppedCleanly, type Generation, type Verdict } from './metrics';

export type EvalPrompt = { kind: 'chat'; messages: ChatMessage[] } | { kind: 'raw'; text: string };

export interface PreferenceMark { prompt: EvalPrompt; base: string; tuned: string; verdict: Verdict }

/** One preference: a prompt, the better answer to it and a worse one. */
export interface ChosenRejected { prompt: EvalPrompt; chosen: string; rejected: string }

/** The preferences base-vs-tuned marks carry: the verdict's answer chosen; a tie carries none. */
export function markedPairs(marks: readonly PreferenceMark[]): ChosenRejected[] {
  return marks.filter((m) => m.verdict !== 'tie').map((m) => ({
    prompt: m.prompt, ...(m.verdict === 'tuned' ? { chosen: m.tuned, rejected: m.base } : { chosen: m.base, rejected: m.tuned }),
  }));
}

/** TRL's preference JSONL; a pair whose two answers are the same carries no preference and is left out. */
export function preferenceJsonl(pairs: readonly ChosenRejected[]): string {
  return pairs.filter((p) => p.chosen !== p.rejected).map((p) => JSON.stringify(p.prompt.kind === 'chat'
    ? {
      prompt: p.prompt.messages.map((x) => ({ role: x.role, content: x.content })),
      chosen: [{ role: 'assistant', content: p.chosen }],
      rejected: [{ role: 'assistant', content: p.rejected }],
    }
    : { prompt: p.prompt.text, chosen: p.chosen, rejected: p.rejected }) + '\n').join('');
}

/** The prompt as one line of text for tables: the last user turn of a chat, or the raw text. */
export function promptText(p: EvalPrompt): string {
  if (p.kind === 'raw') return p.text;
  const users = p.messages.filter((m) => m.role === 'user');
  return (users.at(-1) ?? p.messages.at(-1))?.content ?? '';
}

/**
 * A preference pair's other side, on a row whose conversation also has a rejected answer: its text and, once the
 * batch has scored them, each model's summed answer log-probs of the reference (chosen) and rejected answers.
 */
export interface EvalPair { rejected: string; logps?: Record<string, { chosen: number; rejected: number }> }

export interface EvalRow { index: number; prompt: EvalPrompt; reference: string; outputs: Record<string, Generation>; pair?: EvalPair }

interface EvalLine {
  index: number; model: string; prompt: string; reference: string; output: string;
  exact_match: boolean; rouge_l: number; length: number; finish_reason: string | null; clean_stop: boolean; tokens_per_second: number | null;
}

/** One line per example and model, in the order of `models`. */
function evalLines(models: readonly string[], rows: readonly EvalRow[]): EvalLine[] {
  const out: EvalLine[] = [];
  for (const r of rows) {
    for (const model of models) {
      const g = r.outputs[model];
      if (!g) continue;
      out.push({
        index: r.index, model, prompt: promptText(r.prompt), reference: r.reference, output: g.text,
        exact_match: exactMatch(g.text, r.reference), rouge_l: rougeL(g.text, r.reference).f, length: answerLength(g),
        finish_reason: g.finishReason, clean_stop: stoppedCleanly(g), tokens_per_second: g.tokensPerSecond ?? null,
      });
    }
  }
  return out;
}

export function evalJsonl(models: readonly string[], rows: readonly EvalRow[]): string {
  return evalLines(models, rows).map((l) => JSON.stringify(l) + '\n').join('');
}

export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

const COLUMNS: (keyof EvalLine)[] = ['index', 'model', 'prompt', 'reference', 'output', 'exact_match', 'rouge_l', 'length', 'finish_reason', 'clean_stop', 'tokens_per_second'];

export function evalCsv(models: readonly string[], rows: readonly EvalRow[]): string {
  return toCsv(COLUMNS, evalLines(models, rows).map((l) => COLUMNS.map((c) => l[c])));
}
