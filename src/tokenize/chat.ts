// Chat templates: tokenizer_config.json's `chat_template`, rendered with @huggingface/jinja, the plain-text fallback
// for models without one, the template's end-of-turn marker and where each assistant turn lies in a rendering.
//
// Contract:
//  - `ChatTemplate.render(messages, { addGenerationPrompt })` renders exactly as transformers'
//    `apply_chat_template(tokenize=False)` would, with `bos_token`/`eos_token` from the same config.
//  - `endOfTurn` is the template's end-of-turn marker (<|im_end|>, <|eot_id|>, <end_of_turn>, </s>): found by
//    rendering a probe conversation and reading the tag that follows an assistant message. It may differ
//    from the tokenizer's EOS (Llama 3: EOS <|end_of_text|>, end of turn <|eot_id|>); generation must stop
//    on it, and training must teach it.
//  - `assistantSpans(messages)`: where, in the rendered conversation, each assistant turn's generated part lies
//    (loss-mask.ts turns the spans into the loss mask; its header says how they are found).
//  - Rendering runs under a budget (render-budget.ts): a template is code from the model folder.
// Not here: the tokenizer itself (tokenizer.ts), the loss mask (loss-mask.ts), batching and padding.
import { Template } from '@huggingface/jinja';
import { withRenderBudget } from './render-budget';
import { specialTokenText } from './tokenizer';

export type Role = 'system' | 'user' | 'assistant';

/** One turn of a conversation, as a chat template renders it. */
export interface ChatMessage {
  role: Role;
  content: string;
}

/** A character span [start, end) of the rendered text. */
export interface Span {
  start: number;
  end: number;
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

  /** Renders under the render budget (render-budget.ts): a template is code from the model folder. */
  render(messages: ChatMessage[], opts: { addGenerationPrompt: boolean }): string {
    try {
      return withRenderBudget(() => this.template.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        bos_token: this.bosToken,
        eos_token: this.eosToken,
        add_generation_prompt: opts.addGenerationPrompt,
      }));
    } catch (e) {
      throw new Error(`chat_template: rendering failed (${(e as Error).message})`);
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

