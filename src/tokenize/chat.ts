// Chat templates (tokenizer_config.json's `chat_template`, rendered with @huggingface/jinja) and the
// tokenization of a conversation into training inputs with an assistant-only loss mask.
//
// Contract:
//  - `ChatTemplate.render(messages, { addGenerationPrompt })` renders exactly as transformers'
//    `apply_chat_template(tokenize=False)` would, with `bos_token`/`eos_token` from the same config.
//  - `endOfTurn` is the template's end-of-turn marker (<|im_end|>, <|eot_id|>, <end_of_turn>, </s>): found by
//    rendering a probe conversation and reading the tag that follows an assistant message. It may differ
//    from the tokenizer's EOS (Llama 3: EOS <|end_of_text|>, end of turn <|eot_id|>); generation must stop
//    on it, and training must teach it.
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
// Not here: the tokenizer itself (tokenizer.ts), batching and padding (the training data pipeline).
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { specialTokenText, type Tokenizer } from './tokenizer';

export type Role = 'system' | 'user' | 'assistant';

/** One turn of a conversation, as a chat template renders it. */
export interface ChatMessage {
  role: Role;
  content: string;
}

// ---- render budget ----
// A chat template is code from the model folder: `range(100000000)` or a loop nested three deep must end in
// an error, not in gigabytes and a crash. Rendering is synchronous, so the budget is checked from inside
// the interpreter: every evaluated node counts against a time limit and every string it produces against
// an output limit; the global `range` is replaced (as the environment is set up) by one that refuses long
// sequences before building them. Outside ChatTemplate.render the interpreter behaves as shipped.
/** Limits of one render: far above what any real chat template needs for a conversation. */
export const RENDER_BUDGET = { milliseconds: 2000, outputChars: 16 * 1024 * 1024, rangeLength: 100_000 };

interface Budget { deadline: number; nodes: number }
let active: Budget | null = null;

function spend(budget: Budget): void {
  if (++budget.nodes % 1024 === 0 && performance.now() > budget.deadline) throw new Error(`took longer than ${RENDER_BUDGET.milliseconds} ms`);
}

const evaluate = Interpreter.prototype.evaluate;
Interpreter.prototype.evaluate = function (this: Interpreter, ...args: Parameters<typeof evaluate>) {
  const value = evaluate.apply(this, args);
  if (active) {
    spend(active);
    if (typeof value.value === 'string' && value.value.length > RENDER_BUDGET.outputChars) throw new Error(`produced more than ${RENDER_BUDGET.outputChars} characters`);
  }
  return value;
};
// A loop with an empty body evaluates no node per iteration, but its body's block still runs: count that too.
// (evaluateBlock is private in the typings, public at run time.)
const blocks = Interpreter.prototype as unknown as { evaluateBlock: (...args: unknown[]) => unknown };
const evaluateBlock = blocks.evaluateBlock;
blocks.evaluateBlock = function (this: Interpreter, ...args: unknown[]) {
  if (active) spend(active);
  return evaluateBlock.apply(this, args);
};

const set = Environment.prototype.set;
Environment.prototype.set = function (this: Environment, name: string, value: unknown) {
  return set.call(this, name, active && name === 'range' ? boundedRange : value);
};

function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) { stop = start; start = 0; }
  if (step === 0) throw new Error('range() step must not be zero');
  const length = Math.max(0, Math.ceil((stop - start) / step));
  if (!(length <= RENDER_BUDGET.rangeLength)) throw new Error(`range() of ${length} items is over the limit of ${RENDER_BUDGET.rangeLength}`);
  return Array.from({ length }, (_, i) => start + i * step);
}

/** A character span [start, end) of the rendered text. */
interface Span {
  start: number;
  end: number;
}

export interface TokenizedConversation {
  inputIds: number[];
  /** 1 where the token is a training target. Same length as inputIds. */
  lossMask: number[];
  /** Tokens cut from the end by maxLength. */
  truncated: number;
}

const PLAIN_TEMPLATE =
  "{%- for message in messages -%}" +
  "{{ '### ' + (message.role | title) + ':\\n' + (message.content | trim) }}" +
  "{%- if message.role == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n\\n' }}" +
  '{%- endfor -%}' +
  "{%- if add_generation_prompt %}{{ '### Assistant:\\n' }}{% endif -%}";

/** Placeholder message contents for probing a template's framing: no whitespace, no tags. */
const probe = (k: number): string => `QZXPROBE${k}XZQ`;

/** A leading special-token-like tag: <|im_end|>, <|eot_id|>, <end_of_turn>, </s>, [/INST]-style brackets. */
const LEADING_TAG = /^(<\|[^|<>\s]+\|>|<\/?[A-Za-z_][^<>\s]*>|\[[^\]\s]+\])/;

export class ChatTemplate {
  /** The template's end-of-turn marker; '' when the template has none (then a turn ends with its content). */
  readonly endOfTurn: string;
  private readonly template: Template;
  private probeHeader: string | null = null;
  private cachedHeader: string | null | undefined = undefined;

  private constructor(
    readonly source: string,
    private readonly bosToken: string,
    private readonly eosToken: string,
    /** True for the plain-text fallback used when a model ships no chat_template. */
    readonly isFallback: boolean,
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new Error(`chat_template: could not be parsed (${(e as Error).message})`);
    }
    this.endOfTurn = this.findEndOfTurn();
  }

  /**
   * From a parsed tokenizer_config.json. `chat_template` may be a string or a list of { name, template }
   * (the 'default' entry, or `name`). Without one, the plain-text fallback (see `plain`).
   */
  static fromTokenizerConfig(cfg: unknown, opts: { name?: string } = {}): ChatTemplate {
    const config = (cfg && typeof cfg === 'object' ? cfg : {}) as Record<string, unknown>;
    const bos = specialTokenText(config.bos_token) ?? '';
    const eos = specialTokenText(config.eos_token) ?? '';
    const source = ChatTemplate.sourceOf(config.chat_template, opts.name);
    return source === null ? ChatTemplate.plain(eos) : new ChatTemplate(source, bos, eos, false);
  }

  /** True when the config carries a chat template of its own. */
  static hasTemplate(cfg: unknown): boolean {
    return !!cfg && typeof cfg === 'object' && ChatTemplate.sourceOf((cfg as Record<string, unknown>).chat_template) !== null;
  }

  /**
   * Plain-text fallback for base models without a chat template:
   * '### User:\n{content}\n\n### Assistant:\n{content}{eos}\n\n'. The end of turn is the tokenizer's EOS.
   */
  static plain(eosToken: string | null): ChatTemplate {
    return new ChatTemplate(PLAIN_TEMPLATE, '', eosToken ?? '', true);
  }

  private static sourceOf(value: unknown, name?: string): string | null {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) {
      const entries = value.filter((e): e is { name: string; template: string } =>
        !!e && typeof e === 'object' && typeof e.name === 'string' && typeof e.template === 'string');
      const wanted = name ?? 'default';
      const entry = entries.find((e) => e.name === wanted) ?? (name ? undefined : entries[0]);
      if (!entry && name) throw new Error(`chat_template: no template named "${name}" (have ${entries.map((e) => e.name).join(', ')})`);
      return entry ? entry.template : null;
    }
    return null;
  }

  render(messages: ChatMessage[], opts: { addGenerationPrompt: boolean }): string {
    const outer = active;
    active ??= { deadline: performance.now() + RENDER_BUDGET.milliseconds, nodes: 0 };
    try {
      return this.template.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        bos_token: this.bosToken,
        eos_token: this.eosToken,
        add_generation_prompt: opts.addGenerationPrompt,
      });
    } catch (e) {
      throw new Error(`chat_template: rendering failed (${(e as Error).message})`);
    } finally {
      active = outer;
    }
  }

  /**
   * Character spans, in `render(messages, { addGenerationPrompt: false })`, of what each assistant turn
   * generates: from the end of its header to the end of its end-of-turn marker (see the file header).
   */
  assistantSpans(messages: ChatMessage[]): { text: string; spans: Span[] } {
    const text = this.render(messages, { addGenerationPrompt: false });
    const spans: Span[] = [];
    let cursor = 0;
    messages.forEach((message, i) => {
      if (message.role !== 'assistant') return;
      // The header is almost always the same for every turn: try the one probed once per template first,
      // and render this conversation's prefix (two renders a turn) only when it is not found.
      let header = this.genericHeader();
      let at = header ? text.indexOf(header, cursor) : -1;
      if (at < 0) {
        header = this.assistantHeader(messages.slice(0, i));
        at = header ? text.indexOf(header, cursor) : -1;
      }
      if (!header || at < 0) throw new Error(`chat_template: cannot find the header of assistant message ${i} in the rendered conversation`);
      const start = at + header.length;
      const content = visibleContent(message.content);
      let end: number;
      if (this.endOfTurn !== '') {
        const eot = text.indexOf(this.endOfTurn, start);
        if (eot < 0) throw new Error(`chat_template: assistant message ${i} has no end-of-turn marker ${this.endOfTurn}`);
        end = eot + this.endOfTurn.length;
      } else {
        const c = text.indexOf(content, start);
        if (c < 0) throw new Error(`chat_template: cannot find assistant message ${i}'s content`);
        end = c + content.length;
      }
      if (!text.slice(start, end).includes(content)) {
        throw new Error(`chat_template: the span found for assistant message ${i} does not contain its content; the template renders it in a way this mask cannot follow`);
      }
      spans.push({ start, end });
      cursor = end;
    });
    return { text, spans };
  }

  /** The assistant header after a one-user-message probe conversation, computed once; null if it cannot be probed. */
  private genericHeader(): string | null {
    if (this.cachedHeader === undefined) {
      try {
        this.cachedHeader = this.assistantHeader([{ role: 'user', content: probe(0) }]);
      } catch {
        this.cachedHeader = null;
      }
    }
    return this.cachedHeader;
  }

  /** The assistant header: what add_generation_prompt appends after `before`, else the probed framing. */
  private assistantHeader(before: ChatMessage[]): string {
    if (before.length > 0) {
      const without = this.render(before, { addGenerationPrompt: false });
      const withPrompt = this.render(before, { addGenerationPrompt: true });
      if (withPrompt.length > without.length && withPrompt.startsWith(without)) return withPrompt.slice(without.length);
    }
    // The template always appends the header (Llama 3.0) or renders nothing for the prompt: take the framing
    // between a user message and the following assistant message, less the user turn's end-of-turn marker.
    if (this.probeHeader === null) {
      const text = this.render([{ role: 'user', content: probe(0) }, { role: 'assistant', content: probe(1) }], { addGenerationPrompt: false });
      const a = text.indexOf(probe(0)), b = text.indexOf(probe(1));
      if (a < 0 || b < 0) throw new Error('chat_template: cannot find the assistant header (probe contents not rendered)');
      let framing = text.slice(a + probe(0).length, b);
      if (this.endOfTurn !== '' && framing.startsWith(this.endOfTurn)) framing = framing.slice(this.endOfTurn.length);
      this.probeHeader = framing.replace(/^\n/, '');
    }
    return this.probeHeader;
  }

  private findEndOfTurn(): string {
    const probes: ChatMessage[][] = [
      [{ role: 'user', content: probe(0) }, { role: 'assistant', content: probe(1) }, { role: 'user', content: probe(2) }],
      [{ role: 'user', content: probe(0) }, { role: 'assistant', content: probe(1) }],
    ];
    for (const messages of probes) {
      let text: string;
      try {
        text = this.render(messages, { addGenerationPrompt: false });
      } catch {
        continue;
      }
      const at = text.indexOf(probe(1));
      if (at < 0) continue;
      const match = LEADING_TAG.exec(text.slice(at + probe(1).length));
      if (match) return match[1];
    }
    return this.eosToken;
  }
}

/** What of an assistant message a template is sure to render: its part after </think>, trimmed. */
function visibleContent(content: string): string {
  const parts = content.split('</think>');
  return parts[parts.length - 1].trim();
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
