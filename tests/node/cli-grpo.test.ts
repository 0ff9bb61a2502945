// `train --method grpo` end to end, as a user runs it: prompts as the Data step's records (a last assistant turn the
// reference), a GRPO run continuing an SFT adapter the CLI wrote, with a built-in reward and a JavaScript reward file
// weighted (--reward-weights), β > 0; the JSON summary's `grpo` (settings, each reward's mean, the weighted reward as
// the weights' sum of the means, KL) and the adapter written. A reward file that throws on some answers: those
// answers are counted unscorable with the function's own error, and the run completes. Bad GRPO flags fail with one
// line naming them, before anything loads.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import type { MetricPoint } from '../../src/storage/runs';
import { studio } from '../helpers/cli';

let dir = '';
let model = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-grpo-'));
  model = join(dir, 'model');
  makeTinyModel('llama-small', model, 3);
  const rows = [
    { messages: [{ role: 'user', content: 'Where does Mira live?' }, { role: 'assistant', content: 'Tollen.' }] },
    { messages: [{ role: 'user', content: 'Who keeps the lighthouse?' }, { role: 'assistant', content: 'Bram.' }] },
    { messages: [{ role: 'user', content: 'Name a colour.' }] },
  ];
  writeFileSync(join(dir, 'prompts.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'sft.jsonl'), rows.slice(0, 2).map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'length.mjs'), 'export default ({ completion }) => completion.length / 10;\n');
  writeFileSync(join(dir, 'picky.mjs'), "export default ({ completion }) => { if (/e/.test(completion)) throw new Error('no e please'); return 1; };\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function summaryOf(r: { code: number; stdout: string; stderr: string }) {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('studio CLI: GRPO', () => {
  it('continues an SFT adapter with two weighted rewards; the summary reports them and the adapter is written', () => {
    const sft = join(dir, 'sft');
    expect(studio('train', model, '--data', join(dir, 'sft.jsonl'), '--out', sft, '--max-steps', '2', '--lr', '1e-2', '--rank', '4', '--json').code).toBe(0);

    const out = join(dir, 'grpo');
    const s = summaryOf(studio('train', model, '--method', 'grpo', '--adapter', sft, '--data', join(dir, 'prompts.jsonl'), '--out', out,
      '--reward', 'contains:o', '--reward', join(dir, 'length.mjs'), '--reward-weights', '1,0.5',
      '--num-generations', '4', '--max-new-tokens', '6', '--beta', '0.04', '--max-steps', '2', '--lr', '1e-2', '--json'));
    expect(s).toMatchObject({
      steps: 2, examples: 3, lora: { rank: 4 }, train: { batchSize: 4 },
      grpo: { method: 'grpo', numGenerations: 4, maxNewTokens: 6, beta: 0.04, unscorable: 0, unscorableTotal: 0 },
    });
    expect(s.grpo.rewards.map((r: { name: string; weight: number }) => [r.name, r.weight])).toEqual([['contains:o', 1], ['length.mjs', 0.5]]);
    // Every answer scored: the mean weighted reward is the weights' sum of each reward's mean.
    const [contains, length] = s.grpo.rewards;
    expect(contains.mean).toBeGreaterThanOrEqual(0);
    expect(contains.mean).toBeLessThanOrEqual(1);
    expect(length.mean).toBeGreaterThan(0);
    expect(Math.abs(s.grpo.reward - (contains.mean + 0.5 * length.mean))).toBeLessThan(1e-5);
    expect(s.grpo.completionLength).toBeGreaterThan(0);
    expect(s.grpo.completionLength).toBeLessThanOrEqual(6);
    expect(Number.isFinite(s.grpo.kl)).toBe(true);
    const log: MetricPoint[] = JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')).log;
    expect(log.map((q) => q.step)).toEqual([1, 2]);
    expect(log.every((q) => Number.isFinite(q.loss) && Number.isFinite(q.reward))).toBe(true);
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
  });

  it('a reward file that throws on some answers: they are unscorable with its error, and the run completes', () => {
    const s = summaryOf(studio('train', model, '--method', 'grpo', '--data', join(dir, 'prompts.jsonl'), '--out', join(dir, 'picky'),
      '--reward', join(dir, 'picky.mjs'), '--num-generations', '4', '--max-new-tokens', '8', '--max-steps', '2', '--rank', '4', '--json'));
    expect(s.steps).toBe(2);
    // The tiny model's 8 sampled tokens of 8 answers: some have an "e", some not (else the test proves nothing).
    expect(s.grpo.unscorableTotal).toBeGreaterThan(0);
    expect(s.grpo.unscorableTotal).toBeLessThan(8);
    const log: MetricPoint[] = JSON.parse(readFileSync(join(dir, 'picky', 'training_log.json'), 'utf8')).log;
    expect(log.flatMap((q) => q.errors!).some((e) => e.includes('no e please'))).toBe(true);
  });

  it('bad GRPO flags fail with one line naming them, before anything loads', () => {
    const base = ['train', model, '--data', join(dir, 'prompts.jsonl')];
    const cases: [string[], string][] = [
      [['--method', 'grpo', '--reward', 'bogus'], 'error: --reward bogus: not one of exact, contains:TEXT, regex:RE, length:MIN-MAX, ends-cleanly (eot) or a .mjs file'],
      [['--method', 'grpo', '--reward', 'exact', '--reward-weights', '1,2'], 'error: --reward-weights gives 2 weights for 1 rewards (one per --reward, in order)'],
      [['--method', 'grpo', '--reward', join(dir, 'missing.mjs')], `error: --reward ${join(dir, 'missing.mjs')}: file not found`],
      [['--num-generations', '4'], 'error: --num-generations is for --method grpo'],
      [['--method', 'grpo', '--rpo-alpha', '1'], "error: --rpo-alpha is for --method dpo (GRPO's loss has no such term)"],
      [['--method', 'grpo', '--loss-type', 'ppo'], 'error: --loss-type must be grpo, dr_grpo or dapo, got "ppo"'],
    ];
    for (const [flags, line] of cases) {
      const r = studio(...base, '--out', join(dir, 'refused'), ...flags);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr.trim(), flags.join(' ')).toBe(line);
      expect(existsSync(join(dir, 'refused')), flags.join(' ')).toBe(false);
    }
  });
});
