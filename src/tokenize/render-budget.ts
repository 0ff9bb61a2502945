// The render budget of a chat template: a template is code from the model folder, so `range(100000000)` or a loop
// nested three deep must end in an error, not in gigabytes and a crash. Rendering is synchronous, so the budget is
// checked from inside @huggingface/jinja's interpreter: every evaluated node (and every block a loop runs) counts
// against a time limit, every string it produces against an output limit, and the global `range` is replaced, as the
// environment is set up, by one that refuses long sequences before building them.
//
// Contract: withRenderBudget(render) runs `render` with the interpreter's evaluate / evaluateBlock and the
// environment's set patched, and puts the library's own back when it returns or throws: the patch lives exactly as
// long as one (synchronous) render, so nothing else ever meets a patched interpreter. A render inside a render
// shares the outer budget.
import { Environment, Interpreter } from '@huggingface/jinja';

/** Limits of one render: far above what any real chat template needs for a conversation. */
export const RENDER_BUDGET = { milliseconds: 2000, outputChars: 16 * 1024 * 1024, rangeLength: 100_000 };

interface Budget { deadline: number; nodes: number }
let active: Budget | null = null;

function spend(budget: Budget): void {
  if (++budget.nodes % 1024 === 0 && performance.now() > budget.deadline) throw new Error(`took longer than ${RENDER_BUDGET.milliseconds} ms`);
}

function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) { stop = start; start = 0; }
  if (step === 0) throw new Error('range() step must not be zero');
  const length = Math.max(0, Math.ceil((stop - start) / step));
  if (!(length <= RENDER_BUDGET.rangeLength)) throw new Error(`range() of ${length} items is over the limit of ${RENDER_BUDGET.rangeLength}`);
  return Array.from({ length }, (_, i) => start + i * step);
}

// evaluateBlock is private in the typings, public at run time.
const interpreter = Interpreter.prototype as unknown as { evaluate: (...args: unknown[]) => { value: unknown }; evaluateBlock: (...args: unknown[]) => unknown };
const environment = Environment.prototype as unknown as { set: (name: string, value: unknown) => unknown };

export function withRenderBudget<T>(render: () => T): T {
  if (active) return render();
  const budget: Budget = { deadline: performance.now() + RENDER_BUDGET.milliseconds, nodes: 0 };
  const { evaluate, evaluateBlock } = interpreter;
  const { set } = environment;
  interpreter.evaluate = function (this: unknown, ...args: unknown[]) {
    const value = evaluate.apply(this, args);
    spend(budget);
    if (typeof value.value === 'string' && value.value.length > RENDER_BUDGET.outputChars) throw new Error(`produced more than ${RENDER_BUDGET.outputChars} characters`);
    return value;
  };
  // A loop with an empty body evaluates no node per iteration, but its body's block still runs: count that too.
  interpreter.evaluateBlock = function (this: unknown, ...args: unknown[]) {
    spend(budget);
    return evaluateBlock.apply(this, args);
  };
  environment.set = function (this: unknown, name: string, value: unknown) {
    return set.call(this, name, name === 'range' ? boundedRange : value);
  };
  active = budget;
  try {
    return render();
  } finally {
    active = null;
    interpreter.evaluate = evaluate;
    interpreter.evaluateBlock = evaluateBlock;
    environment.set = set;
  }
}
