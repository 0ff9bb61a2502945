// Batch evaluation: N conversations × M models (the base model, runs' checkpoints, imported adapters), the one
// loop behind the Compare screen's batch (through the engine's `evaluate` call, answers.ts) and the CLI's `eval` alike.
// Each conversation's prompt (up to its last assistant turn) is answered by every model in turn, a progress
// event per row; then each model's loss over the same conversations' assistant tokens; then one summary per
// model (src/eval/metrics.ts summarize).
//
// A conversation that also carries a rejected answer (a preference pair: `messages` ends with the chosen answer) gives
// its row a `pair`; after the losses each model's log-probs of both answers are added to those rows, so Compare
// can set one model against another on held-out pairs (src/eval/preference.ts batchPreference, versus).
//
// Contract: rows run in order, in chunks of 1, 2, 4, … up to EVALUATE_BATCH rows (the first answers come quickly);
// a chunk's prompts are answered by every model in turn, all at once when the host decodes batches
// (`generateBatch`: src/generate/batch.ts), else one at a time (every model shares one resident Transformer in the
// engine). Then a progress event per row. `stopped()` is read between chunks: a stopped or failed batch returns
// the rows it finished, summarised, with `error` saying why it stopped early (no losses then); a failure never
// loses the rows already done.
// Not here: generating or scoring a loss (the caller's `generate` and `loss`: the engine's answers.ts), storing the
// result (the page stores it with its marks through saveEvaluation).
import type { ChatMessage } from '../data/types';
import { errorMessage } from '../errors';
import type { EvalPrompt, EvalRow } from '../eval/export';
import { promptAndReference, summarize, type EvalSummary, type Generation } from '../eval/metrics';
import { templateOf, type ModelMeta } from '../io/hf';
import type { PreferencePair } from '../train/preference-pairs';

/** The prompt a model is sent: a chat, or with the template off, the raw text of the last user turn. */
type EnginePrompt = { kind: 'chat'; messages: ChatMessage[] } | { kind: 'raw'; text: string };

export function enginePrompt(p: EvalPrompt, chatTemplate: boolean): EnginePrompt {
  if (p.kind === 'raw') return p;
  if (chatTemplate) return { kind: 'chat', messages: p.messages };
  return { kind: 'raw', text: p.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '' };
}

/** The token ids a model is given for a prompt: a chat through the model's template, raw text as it is. */
export function promptIds(m: ModelMeta, prompt: EnginePrompt): number[] {
  if (prompt.kind === 'raw') return m.tokenizer.encode(prompt.text, { addSpecialTokens: true });
  return m.tokenizer.encode(templateOf(m).render(prompt.messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
}

/** What a batch needs from whoever holds the models; `M` names a model (an AdapterRef in the worker). */
interface EvaluateHost<M> {
  generate(model: M, prompt: EnginePrompt): Promise<Generation>;
  /** Answers to several prompts at once, in order (the same answers as `generate` one by one); optional. */
  generateBatch?(model: M, prompts: EnginePrompt[]): Promise<Generation[]>;
  /** Mean assistant-token loss of the conversations under `model`, and how many tokens it counted. */
  loss(model: M, records: { messages: ChatMessage[] }[]): Promise<{ loss: number; tokens: number }>;
  /** Summed answer log-probs of each pair's chosen and rejected answers under `model`; without it pairs get answers only. */
  pairLogps?(model: M, pairs: PreferencePair[]): Promise<{ chosen: number; rejected: number }[]>;
}

/** A conversation to evaluate; with `rejected`, a preference pair whose chosen answer ends `messages`. */
type EvaluateRecord = { messages: ChatMessage[]; rejected?: ChatMessage[] };

export interface EvaluateArgs<M> {
  records: EvaluateRecord[];
  /** The models, each with an id the result is keyed by. */
  columns: { id: string; adapter: M }[];
  chatTemplate: boolean;
}

export type EvaluateEvent = { type: 'evaluate'; done: number; total: number; row: EvalRow };

export interface EvaluateResult {
  /** Conversations with an assistant turn to score against (rows.length < total when stopped). */
  total: number;
  rows: EvalRow[];
  summaries: Record<string, EvalSummary>;
  /** Assistant tokens each model's loss counted (0: no loss measured). */
  tokens: Record<string, number>;
  error: string | null;
}

/** The most rows whose prompts are generated together. */
const EVALUATE_BATCH = 16;

export async function evaluateBatch<M>(
  host: EvaluateHost<M>, args: EvaluateArgs<M>, onEvent: (e: EvaluateEvent) => void = () => {}, stopped: () => boolean = () => false,
): Promise<EvaluateResult> {
  const evaluable = args.records.filter((r) => promptAndReference(r.messages) !== null);
  const rows: EvalRow[] = [];
  let error: string | null = null;
  try {
    for (let start = 0, size = 1; start < evaluable.length && !stopped(); start += size, size = Math.min(2 * size, EVALUATE_BATCH)) {
      const chunk = evaluable.slice(start, start + size).map((r) => ({ record: r, ...promptAndReference(r.messages)! }));
      const prompts = chunk.map((r): EvalPrompt => ({ kind: 'chat', messages: r.prompt }));
      const outputs: Record<string, Generation>[] = chunk.map(() => ({}));
      for (const c of args.columns) {
        const asked = prompts.map((p) => enginePrompt(p, args.chatTemplate));
        const answers = host.generateBatch ? await host.generateBatch(c.adapter, asked) : await inTurn(asked, (p) => host.generate(c.adapter, p));
        answers.forEach((r, k) => { outputs[k][c.id] = { text: r.text, tokens: r.tokens, finishReason: r.finishReason, tokensPerSecond: r.tokensPerSecond }; });
      }
      chunk.forEach(({ record, reference }, k) => {
        const rejected = record.rejected;
        const row: EvalRow = { index: start + k, prompt: prompts[k], reference, outputs: outputs[k], ...(rejected?.length ? { pair: { rejected: rejected.map((m) => m.content).join('\n') } } : {}) };
        rows.push(row);
        onEvent({ type: 'evaluate', done: rows.length, total: evaluable.length, row });
      });
    }
  } catch (e) {
    error = errorMessage(e);
  }
  const losses: Record<string, number | null> = {}, tokens: Record<string, number> = {};
  for (const c of args.columns) {
    losses[c.id] = null;
    tokens[c.id] = 0;
    if (stopped() || error !== null || rows.length === 0) continue;
    try {
      const r = await host.loss(c.adapter, evaluable.slice(0, rows.length));
      losses[c.id] = r.tokens > 0 ? r.loss : null;
      tokens[c.id] = r.tokens;
    } catch (e) {
      error = errorMessage(e);
    }
  }
  if (host.pairLogps && !stopped() && error === null) {
    try {
      await scorePairs(host, args.columns, rows, evaluable);
    } catch (e) {
      error = errorMessage(e);
    }
  }
  const summaries = Object.fromEntries(args.columns.map((c) => [c.id, summarize(rows.map((r) => ({ output: r.outputs[c.id], reference: r.reference })), losses[c.id])]));
  return { total: evaluable.length, rows, summaries, tokens, error };
}

/** f over the items one after another. */
async function inTurn<T, R>(items: T[], f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const x of items) out.push(await f(x));
  return out;
}

/** Adds every model's log-probs of both answers to the rows that are pairs (all models or none). */
async function scorePairs<M>(host: EvaluateHost<M>, columns: EvaluateArgs<M>['columns'], rows: EvalRow[], records: EvaluateRecord[]): Promise<void> {
  const at = rows.flatMap((r, i) => (r.pair ? [i] : []));
  if (at.length === 0) return;
  const pairs: PreferencePair[] = at.map((i) => {
    const { prompt, reference } = promptAndReference(records[i].messages)!;
    return { prompt, chosen: [{ role: 'assistant', content: reference }], rejected: records[i].rejected! };
  });
  const scored = new Map<string, { chosen: number; rejected: number }[]>();
  for (const c of columns) scored.set(c.id, await host.pairLogps!(c.adapter, pairs));
  at.forEach((i, k) => {
    rows[i] = { ...rows[i], pair: { ...rows[i].pair!, logps: Object.fromEntries(columns.map((c) => [c.id, scored.get(c.id)![k]])) } };
  });
}
