// A conversation on Compare, and what is made of it: the user's turns are shared, every column (base, a run, an
// imported adapter) answers each turn; the messages a column is asked at a turn; the conversation as SFT rows
// (messages JSONL) and, with a better answer marked per turn, as preference pairs (export.ts ChosenRejected, the
// one preference form: the conversation so far is the prompt).
//
// Contract:
//  - history 'shared' (the default): at turn t every column is asked [system, u1, r1, …, u_t], r_i being turn i's
//    reference: the text frozen when the next turn was asked (`reference`), else the user's edit, else the answer
//    marked better, else the first column's answer. So every column answers the same prompt at every turn.
//  - history 'own': column c is asked [system, u1, a1(c), …, u_t], its own earlier answers.
//  - A turn's answer counts (in a history, a row, a pair) once it is done without an error; a history stops before
//    the first turn whose answer does not count, so a conversation with a failed turn is cut there.
//  - Pairs: per turn with `better` set, chosen = the better column's answer, rejected = each other column's counted
//    answer; the prompt is what that turn was asked with (shared: the references; own: the better column's history,
//    which the rejected answer did not see: say so where it is offered).
//  - SFT rows: {"messages": [system, u1, a1, …]} with one column's answers, or the reference per turn (the user's pick).
// Not here: generating (the engine's chat call trims what does not fit the context), storing (src/storage/runs.ts).
import type { ChatMessage } from '../data/types';
import type { ChosenRejected } from './export';
import type { Generation } from './metrics';

export type HistoryMode = 'shared' | 'own';

export interface TurnAnswer extends Generation {
  done: boolean;
  error: string | null;
  /** What the engine said of this answer (earlier turns left out to fit the context), or null. */
  note: string | null;
}

export interface ConversationTurn {
  user: string;
  /** Each column's answer, by column id. */
  answers: Record<string, TurnAnswer>;
  /** The column whose answer the user marked better (a preference pair per other column), or null. */
  better: string | null;
  /** The user's own text for this turn's reference (shared history), or null. */
  edited: string | null;
  /** Shared history: the reference the later turns were asked with, frozen when the next turn was asked. */
  reference: string | null;
}

export interface Conversation {
  history: HistoryMode;
  /** A system message before the first turn, or null. */
  system: string | null;
  /** The answering columns in order (the first gives the shared history by default). */
  columns: { id: string }[];
  turns: ConversationTurn[];
}

const counts = (a: TurnAnswer | undefined): a is TurnAnswer => !!a && a.done && a.error === null;

/** Turn t's reference in the shared history: frozen, edited, the better answer, or the first column's; null if none counts. */
export function referenceOf(c: Conversation, t: number): string | null {
  const turn = c.turns[t];
  if (turn.reference !== null) return turn.reference;
  if (turn.edited !== null) return turn.edited;
  const from = turn.better ?? c.columns[0]?.id;
  const a = from === undefined ? undefined : turn.answers[from];
  return counts(a) ? a.text : null;
}

/** The assistant text a history holds for turn t: the reference (shared) or `column`'s answer (own); null if none. */
function historyAnswer(c: Conversation, t: number, column: string): string | null {
  if (c.history === 'shared') return referenceOf(c, t);
  const a = c.turns[t].answers[column];
  return counts(a) ? a.text : null;
}

/** The user and assistant turns before turn `upTo` as `column` is asked them (cut before a turn without an answer). */
function historyBefore(c: Conversation, upTo: number, column: string): ChatMessage[] {
  const out: ChatMessage[] = c.system ? [{ role: 'system', content: c.system }] : [];
  for (let t = 0; t < upTo; t++) {
    const answer = historyAnswer(c, t, column);
    if (answer === null) break;
    out.push({ role: 'user', content: c.turns[t].user }, { role: 'assistant', content: answer });
  }
  return out;
}

/**
 * The messages `column` is asked at turn t: the history before it and turn t's user message. Throws when an earlier
 * turn has no answer for it (a failed or unfinished turn): a later turn cannot be asked past it.
 */
export function askedMessages(c: Conversation, column: string, t: number): ChatMessage[] {
  const history = historyBefore(c, t, column);
  const turnsIn = history.filter((m) => m.role === 'user').length;
  if (turnsIn < t) throw new Error(`turn ${turnsIn + 1} has no ${c.history === 'shared' ? 'reference answer' : 'answer from this model'} to continue from`);
  return [...history, { role: 'user', content: c.turns[t].user }];
}

/** Every marked turn's preferences: the better answer chosen, each other column's answer rejected. */
export function conversationPairs(c: Conversation): ChosenRejected[] {
  const out: ChosenRejected[] = [];
  c.turns.forEach((turn, t) => {
    const chosen = turn.better === null ? undefined : turn.answers[turn.better];
    if (!counts(chosen)) return;
    const prompt = { kind: 'chat' as const, messages: [...historyBefore(c, t, turn.better!), { role: 'user' as const, content: turn.user }] };
    for (const col of c.columns) {
      const a = turn.answers[col.id];
      if (col.id !== turn.better && counts(a)) out.push({ prompt, chosen: chosen.text, rejected: a.text });
    }
  });
  return out;
}

/** The conversation as one SFT row's messages: `column`'s answers, or with 'pick' the reference of each turn. */
export function conversationMessages(c: Conversation, which: string | 'pick'): ChatMessage[] {
  const out: ChatMessage[] = c.system ? [{ role: 'system', content: c.system }] : [];
  for (let t = 0; t < c.turns.length; t++) {
    const a = which === 'pick' ? referenceOf(c, t) : counts(c.turns[t].answers[which]) ? c.turns[t].answers[which].text : null;
    if (a === null) break;
    out.push({ role: 'user', content: c.turns[t].user }, { role: 'assistant', content: a });
  }
  return out;
}

/** SFT JSONL in the messages form the Data step reads: one line per conversation that has an answered turn. */
export function conversationJsonl(rows: readonly ChatMessage[][]): string {
  return rows.filter((ms) => ms.some((m) => m.role === 'assistant'))
    .map((ms) => JSON.stringify({ messages: ms.map((m) => ({ role: m.role, content: m.content })) }) + '\n').join('');
}
