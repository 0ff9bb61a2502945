// A chat template is code from a model folder: rendering it is bounded in time, output and range() length
// (src/tokenize/render-budget.ts), and the bound is an error naming what ran over (tests/node/cli-hardening.test.ts
// sees it from the CLI). The budget lives exactly as long as a render: the interpreter is the library's own outside.
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { ChatTemplate } from '../../src/tokenize/chat';
import { RENDER_BUDGET } from '../../src/tokenize/render-budget';

const user = [{ role: 'user' as const, content: 'hi' }];
const template = (source: string) => ChatTemplate.fromTokenizerConfig({ chat_template: source, eos_token: '</s>' });

describe('chat template render budget', () => {
  it('refuses range() over the limit before building it, and allows it at the limit', () => {
    expect(() => template('{% for i in range(100000000) %}x{% endfor %}').render(user, { addGenerationPrompt: false })).toThrow(/range\(\) of 100000000 items is over the limit of 100000/);
    expect(template(`{{ range(${RENDER_BUDGET.rangeLength}) | length }}`).render(user, { addGenerationPrompt: false })).toBe(String(RENDER_BUDGET.rangeLength));
    expect(template('{{ range(2, 11, 3) | join(",") }}').render(user, { addGenerationPrompt: false })).toBe('2,5,8');
    expect(template('{{ range(5, 0, -2) | join(",") }}').render(user, { addGenerationPrompt: false })).toBe('5,3,1');
  });

  it('stops nested loops that run past the time budget', () => {
    const loops = '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}';
    expect(() => template(loops).render(user, { addGenerationPrompt: false })).toThrow(/took longer than 2000 ms/);
  });

  it('stops output past the output budget', () => {
    const doubling = "{% set s = namespace(t='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}{% set s.t = s.t + s.t %}{% endfor %}{{ s.t }}";
    expect(() => template(doubling).render(user, { addGenerationPrompt: false })).toThrow(/produced more than 16777216 characters/);
  });

  it('leaves ordinary templates exactly as they were', () => {
    const chatml = "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    expect(template(chatml).render(user, { addGenerationPrompt: true })).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('patches nothing outside a render: the library renders as shipped before, after and after a refused render', () => {
    const evaluate = Interpreter.prototype.evaluate, set = Environment.prototype.set;
    const long = new Template('{{ range(200000) | length }}');
    expect(long.render({})).toBe('200000');
    expect(() => template('{{ range(200000) | length }}').render(user, { addGenerationPrompt: false })).toThrow(/over the limit/);
    expect(Interpreter.prototype.evaluate).toBe(evaluate);
    expect(Environment.prototype.set).toBe(set);
    expect(long.render({})).toBe('200000');
  });
});
