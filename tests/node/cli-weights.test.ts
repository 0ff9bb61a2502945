// The CLI's --weights (how the frozen base is kept on the GPU: src/ops/weight-storage.ts) and --activation-checkpointing:
// validated before anything loads, counted by info's estimate, applied by train and generate.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { studio, studioJson } from '../helpers/cli';

let dir = '', model = '', data = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-weights-'));
  model = join(dir, 'model');
  makeTinyModel('llama-small', model, 3, { dtype: 'BF16' });
  data = join(dir, 'train.jsonl');
  writeFileSync(data, [{ instruction: 'Say hi', input: '', output: 'hi' }, { instruction: 'Say bye', input: '', output: 'bye' }].map((r) => JSON.stringify(r)).join('\n'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('studio --weights and --activation-checkpointing', () => {
  it('refuses values outside the choices in one line, before loading', () => {
    for (const [args, message] of [
      [['info', model, '--weights', 'q3'], '--weights must be f32, bf16, f16, q8 or q4, got "q3"'],
      [['train', model, '--data', data, '--out', join(dir, 'x'), '--activation-checkpointing', 'maybe'], '--activation-checkpointing must be auto, on or off, got "maybe"'],
    ] as const) {
      const r = studio(...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe(`error: ${message}`);
    }
  });

  it('info: the training estimate counts the weights as stored', () => {
    const bytes = (w: string) => studioJson('info', model, '--weights', w, '--json').trainingMemoryBytes as number;
    const [f32, bf16, q4] = ['f32', 'bf16', 'q4'].map(bytes);
    expect(bf16).toBeLessThan(f32);
    expect(q4).toBeLessThan(bf16);
  });

  it('train with a 4-bit base and checkpointing on; generate greedy with bf16 equals f32 storage', () => {
    const t = studioJson('train', model, '--data', data, '--out', join(dir, 'adapter'), '--max-steps', '2', '--batch-size', '2', '--rank', '4',
      '--weights', 'q4', '--activation-checkpointing', 'on', '--json');
    expect(t.train).toMatchObject({ weights: 'q4', activationCheckpointing: 'on' });
    expect(Number.isFinite(t.finalLoss)).toBe(true);
    const greedy = (w: string) => studioJson('generate', model, '--prompt', 'Say hi', '--max-new-tokens', '6', '--temperature', '0', '--weights', w, '--json').tokens;
    expect(greedy('bf16')).toEqual(greedy('f32'));
  });
});
