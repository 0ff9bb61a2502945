// What the studio keeps per example on top of the lead's Conversation (types.ts): the row as it was read,
// the shape it was read as, and the curator's marks (flag, split, edited). Records are immutable values:
// every edit makes a new object with a higher `rev`, so the store can keep old arrays for undo and the
// storage layer can tell unchanged chunks by reference-free keys (id + rev).
// This file holds types and tiny pure helpers only; parsing lives in import.ts, normalising in shapes.ts.
import type { ChatMessage, Conversation } from './types';

/** The source shapes the importer recognises; 'mapped' means the user mapped columns by hand. */
export type ShapeName =
  | 'messages' | 'sharegpt' | 'alpaca' | 'prompt-completion' | 'text'
  | 'preference' | 'preference-implicit' | 'hh-rlhf'
  | 'mapped';

export type Split = 'train' | 'validation';

export interface DatasetRecord extends Conversation {
  /**
   * A preference pair's rejected answer (its final assistant turns); `messages` then holds the prompt and the
   * chosen answer (TRL's implicit-prompt form), so every SFT tool reads the chosen side. Absent for SFT rows.
   */
  rejected?: ChatMessage[];
  /** The row as read (after JSON/CSV/Parquet decoding): export in the original shape, split by column. */
  original: Record<string, unknown>;
  shape: ShapeName;
  flagged: boolean;
  split: Split;
  /** True once the user changed the messages; the original shape is then rebuilt from messages on export. */
  edited: boolean;
  /** 0 as imported; a fresh nextRev() on every change, so (id, rev) names one immutable content. */
  rev: number;
}

/** A user's map from a file's columns to turns, remembered per column signature. */
export interface ColumnMap {
  prompt: string;
  response: string;
  input?: string;
  system?: string;
}

/**
 * One problem found while importing. 'error': the row was not imported and can be fixed (edit `raw`,
 * retry) or dropped. 'warning': the row (or file) was imported and something was adjusted or ignored.
 * line is 1-based (for Parquet: the row number); 0 means the whole file.
 */
export interface ImportIssue {
  id: string;
  file: string;
  line: number;
  severity: 'error' | 'warning';
  reason: string;
  /** The offending text, for fixing by hand (JSON for JSON formats, the CSV row for CSV); may be cut. */
  raw: string;
  /** False when raw was cut (a huge row) and so cannot be fixed in place. */
  fixable: boolean;
}

let revCounter = 0;

/**
 * A revision number never handed out before, in this session or (clock permitting) an earlier one:
 * milliseconds × 1024 + a counter. Undo brings back an old object with its old rev, and a new edit after
 * it gets a new rev, so one (id, rev) never names two contents (storage chunk keys rely on this).
 */
export function nextRev(prev: number): number {
  revCounter = (revCounter + 1) % 1024;
  return Math.max(prev + 1, Date.now() * 1024 + revCounter);
}

/** An edit; a pair's rejected answer is replaced too when `rejected` is given. */
export function withMessages(rec: DatasetRecord, messages: ChatMessage[], rejected?: ChatMessage[]): DatasetRecord {
  return { ...rec, messages, ...(rec.rejected && rejected ? { rejected } : {}), edited: true, rev: nextRev(rec.rev) };
}

export function withFlag(rec: DatasetRecord, flagged: boolean): DatasetRecord {
  return { ...rec, flagged, rev: nextRev(rec.rev) };
}

export function withSplit(rec: DatasetRecord, split: Split): DatasetRecord {
  return rec.split === split ? rec : { ...rec, split, rev: nextRev(rec.rev) };
}

/** A preference pair split in three; null for an SFT record. */
export interface PreferenceParts {
  prompt: ChatMessage[];
  /** The preferred answer: one or more assistant turns. */
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}

/** A pair's parts: the chosen answer is the final run of assistant turns of `messages`, the prompt what precedes it. */
export function preferenceParts(rec: Pick<DatasetRecord, 'messages' | 'rejected'>): PreferenceParts | null {
  if (!rec.rejected) return null;
  let k = rec.messages.length;
  while (k > 0 && rec.messages[k - 1].role === 'assistant') k--;
  return { prompt: rec.messages.slice(0, k), chosen: rec.messages.slice(k), rejected: rec.rejected };
}

/** The first user turn (what the table shows as "prompt"). */
export function promptOf(rec: Pick<Conversation, 'messages'>): string {
  return rec.messages.find((m) => m.role === 'user')?.content ?? '';
}

/** The last assistant turn (what the table shows as "response", and what quality checks judge). */
export function responseOf(rec: Pick<Conversation, 'messages'>): string {
  for (let i = rec.messages.length - 1; i >= 0; i--) if (rec.messages[i].role === 'assistant') return rec.messages[i].content;
  return '';
}

export function charLength(rec: Pick<Conversation, 'messages'>): number {
  let n = 0;
  for (const m of rec.messages) n += m.content.length;
  return n;
}
