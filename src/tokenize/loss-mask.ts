// A conversation as training input: its tokens and the loss mask that marks which of them are targets, and the one
// way records become training and evaluation examples.
//
// Contract:
//  - `tokenizeConversation(...).lossMask[i] = 1` marks token i as a training target (predicted from
//    tokens < i). With `assistantOnly`, the targets are, for each assistant turn, everything the model
//    would have to generate after the generation prompt: the turn's content as rendered (trimmed, or with
//    earlier <think> blocks stripped, as the template says) and its end-of-turn token. The newline some
//    templates write after the end-of-turn token is NOT a target: generation stops at end-of-turn, so the
//    model never produces it; what follows end-of-turn belongs to the next turn's framing. Template
//    scaffolding that the template writes after the assistant header but before the content (Qwen3 writes
//    an empty '<think>\n\n</think>\n\n' into the last assistant turn) is part of what the model generates
//    after the generation prompt, so it is a target too. System and user text and the assistant header
//    never are. Without `assistantOnly`, every token but the first is a target.
//  - `examplesFromRecords` is the one way records become training and evaluation examples: each conversation as
//    above, cut to maxSeqLength + 1 tokens (a batch row's maxSeqLength positions, plus the last target).
//    `ExamplesOnDemand` gives the same examples one at a time, each tokenized when first asked for.
//
// How the mask is found without {% generation %} markers (Qwen3, Llama 3.x and Gemma 3 have none):
//  1. R = the full rendering. The assistant header H is what `add_generation_prompt` appends to the
//     conversation before the turn (or, for templates that always append it, like the Llama 3.0 one, the
//     framing text before the assistant message in a probe rendering with placeholder contents). It is
//     probed once per template; the conversation's own prefix is rendered only if that header is not found.
//  2. Walking R left to right, each assistant turn's span starts right after the next H and ends right after
//     the next end-of-turn marker. Rendering the whole conversation once (not prefixes) makes this robust to
//     templates that rewrite earlier turns (Qwen3 strips <think> from assistant turns before the last user
//     message), and each span is checked to contain the turn's content (its part after </think>, trimmed):
//     a template that defeats this gives an error, never a silently wrong mask.
//  3. Tokens: R is cut at the span boundaries and each piece is tokenized on its own (no special tokens
//     added: templates write <bos> themselves), so mask boundaries fall exactly on token boundaries and the
//     prompt part is tokenized exactly as it is at inference, when generation starts after the header. If
//     the pieces do not decode back to R (tokenizers that prepend a space to every piece, e.g. Llama 2's
//     sentencepiece), the whole text is tokenized at once and spans are mapped through decoded prefix
//     lengths instead (a token straddling a span start is left out of the mask).
// Not here: rendering and the assistant spans (chat.ts), the tokenizer (tokenizer.ts), batching (src/train/batch.ts).
import type { ChatMessage, ChatTemplate, Span } from './chat';
import type { Tokenizer } from './tokenizer';

export interface TokenizedConversation {
  inputIds: number[];
  /** 1 where the token is a training target. Same length as inputIds. */
  lossMask: number[];
  /** Tokens cut from the end by maxLength. */
  truncated: number;
}

/**
 * Tokenize a conversation for training. See the file header for what the mask marks and why.
 * Conversations with no assistant message get an all-zero mask under `assistantOnly`.
 * `answerFrom` (with `assistantOnly`): only the assistant turns at or after this message index are marked, the
 * earlier ones are context (a preference pair's answer after its prompt).
 */
export function tokenizeConversation(
  tok: Tokenizer,
  template: ChatTemplate,
  messages: ChatMessage[],
  opts: { assistantOnly: boolean; maxLength?: number; answerFrom?: number },
): TokenizedConversation {
  let inputIds: number[];
  let lossMask: number[];
  if (opts.assistantOnly) {
    ({ inputIds, lossMask } = tokenizeWithSpans(tok, template.assistantSpans(messages)));
    if (opts.answerFrom) {
      // Each assistant turn is one run of ones; the first `before` runs are context.
      const before = messages.slice(0, opts.answerFrom).filter((m) => m.role === 'assistant').length;
      let runs = 0;
      lossMask = lossMask.map((m, i) => {
        if (m && !lossMask[i - 1]) runs++;
        return m && runs > before ? 1 : 0;
      });
    }
  } else {
    // The same ids as with assistantOnly where the template allows it, so the option changes only the mask.
    let spanned: { text: string; spans: Span[] } | null = null;
    try {
      spanned = template.assistantSpans(messages);
    } catch {
      spanned = null;
    }
    inputIds = spanned ? tokenizeWithSpans(tok, spanned).inputIds
      : tok.encode(template.render(messages, { addGenerationPrompt: false }), { addSpecialTokens: false });
    lossMask = inputIds.map((_, i) => (i === 0 ? 0 : 1));
  }
  let truncated = 0;
  if (opts.maxLength !== undefined && inputIds.length > opts.maxLength) {
    truncated = inputIds.length - opts.maxLength;
    inputIds = inputIds.slice(0, opts.maxLength);
    lossMask = lossMask.slice(0, opts.maxLength);
  }
  return { inputIds, lossMask, truncated };
}

/**
 * The training (or evaluation) examples of a list of records: each conversation tokenized as
 * tokenizeConversation does, cut to maxSeqLength + 1 tokens. Why + 1: an example of L tokens gives L - 1
 * (input, next-token target) positions (makeBatch in src/train/batch.ts shifts the targets by one), so
 * maxSeqLength + 1 tokens fill exactly the maxSeqLength positions a batch row has.
 */
export function examplesFromRecords(
  tok: Tokenizer,
  template: ChatTemplate,
  records: readonly { messages: ChatMessage[] }[],
  opts: { assistantOnly: boolean; maxSeqLength: number },
): TokenizedConversation[] {
  const maxLength = opts.maxSeqLength + 1;
  return records.map((r) => tokenizeConversation(tok, template, r.messages, { assistantOnly: opts.assistantOnly, maxLength }));
}

/**
 * examplesFromRecords one record at a time, on first use: `at(i)` tokenizes record i the first time it is asked
 * for and keeps the result, so a run on a huge file tokenizes what its steps take, not the file, before its first
 * step. The same examples as examplesFromRecords, index for index. `onTokenized()` is called after each record
 * tokenized for the first time. A conversation the template or tokenizer refuses throws, naming `describe(i)`.
 */
export class ExamplesOnDemand {
  private readonly done: (TokenizedConversation | undefined)[];
  private count = 0;

  constructor(
    private readonly tok: Tokenizer, private readonly template: ChatTemplate, private readonly records: readonly { messages: ChatMessage[] }[],
    private readonly opts: { assistantOnly: boolean; maxSeqLength: number },
    private readonly hooks: { onTokenized?: () => void; describe?: (i: number) => string } = {},
  ) {
    this.done = new Array(records.length);
  }

  get length(): number {
    return this.records.length;
  }

  /** Records tokenized so far. */
  get tokenized(): number {
    return this.count;
  }

  at(i: number): TokenizedConversation | undefined {
    if (!(i >= 0 && i < this.records.length)) return undefined;
    let e = this.done[i];
    if (!e) {
      try {
        [e] = examplesFromRecords(this.tok, this.template, [this.records[i]], this.opts);
      } catch (err) {
        throw new Error(`${this.hooks.describe?.(i) ?? `conversation ${i + 1}`}: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.done[i] = e;
      this.count++;
      this.hooks.onTokenized?.();
    }
    return e;
  }
}

/** Tokenize `text` so that every span boundary falls on a token boundary, and mark the spans' tokens. */
function tokenizeWithSpans(tok: Tokenizer, { text, spans }: { text: string; spans: Span[] }): { inputIds: number[]; lossMask: number[] } {
  const inputIds: number[] = [];
  const lossMask: number[] = [];
  let pos = 0;
  const piece = (end: number, target: number): void => {
    if (end <= pos) return;
    const ids = tok.encode(text.slice(pos, end), { addSpecialTokens: false });
    for (const id of ids) { inputIds.push(id); lossMask.push(target); }
    pos = end;
  };
  for (const span of spans) {
    piece(span.start, 0);
    piece(span.end, 1);
  }
  piece(text.length, 0);
  if (tok.decode(inputIds) === text) return { inputIds, lossMask };
  return tokenizeWholeWithSpans(tok, text, spans);
}

/** Fallback: tokenize all of `text` at once; map spans to tokens through decoded prefix lengths. */
function tokenizeWholeWithSpans(tok: Tokenizer, text: string, spans: Span[]): { inputIds: number[]; lossMask: number[] } {
  const inputIds = tok.encode(text, { addSpecialTokens: false });
  // Decoding may drop or add a constant prefix (a stripped leading space): measure positions from the end.
  const shift = text.length - tok.decode(inputIds).length;
  const decodedLength = new Map<number, number>();
  const lengthOf = (k: number): number => {
    let n = decodedLength.get(k);
    if (n === undefined) { n = tok.decode(inputIds.slice(0, k)).length + shift; decodedLength.set(k, n); }
    return n;
  };
  /** The smallest k with decode(ids[:k]) covering at least c characters. */
  const boundary = (c: number): number => {
    let lo = 0, hi = inputIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lengthOf(mid) >= c) hi = mid; else lo = mid + 1;
    }
    return lo;
  };
  const lossMask = new Array<number>(inputIds.length).fill(0);
  for (const span of spans) {
    const from = boundary(span.start), to = boundary(span.end);
    for (let k = from; k < to; k++) lossMask[k] = 1;
  }
  return { inputIds, lossMask };
}
