// The command line end to end, as a user runs it (`npm run studio -- ...` = scripts/run-gpu.mjs cli/studio.ts):
// data, info, train (writes a PEFT adapter + log), eval and generate with that adapter, --json output
// shapes, and failures that exit non-zero with one clear line.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { studio } from '../helpers/cli';

let dir = '';
let model = '';


beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-'));
  model = join(dir, 'model');
  makeTinyModel('llama-small', model, 3);
  const rows = [
    { instruction: 'Say hi', input: '', output: 'hi' },
    { instruction: 'Say bye', input: '', output: 'bye' },
    { instruction: 'Count to two', input: '', output: 'one two' },
  ];
  writeFileSync(join(dir, 'train.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"instruction": broken\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('studio CLI', () => {
  it('data: detected format, rows and the malformed line', () => {
    const r = studio('data', join(dir, 'train.jsonl'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ format: 'jsonl', shape: 'alpaca', records: 3 });
    expect(j.errors.some((e: { line: number }) => e.line === 4)).toBe(true);
  });

  it('info: the model config as JSON', () => {
    const r = studio('info', model, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.config).toMatchObject({ architecture: 'llama', numLayers: 2, hiddenSize: 32 });
    expect(j.parameters).toBeGreaterThan(0);
  });

  it('train writes a PEFT adapter and a log; eval and generate use it', () => {
    const out = join(dir, 'adapter');
    const t = studio('train', model, '--data', join(dir, 'train.jsonl'), '--out', out, '--max-steps', '3', '--batch-size', '3', '--lr', '1e-2', '--rank', '4', '--json');
    expect(t.code, t.stderr).toBe(0);
    const summary = JSON.parse(t.stdout);
    expect(summary.steps).toBe(3);
    for (const f of ['adapter_model.safetensors', 'adapter_config.json', 'training_log.json']) expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 4 });
    expect(JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')).log).toHaveLength(3);

    const e = studio('eval', model, '--adapter', out, '--data', join(dir, 'train.jsonl'), '--max-new-tokens', '4', '--json');
    expect(e.code, e.stderr).toBe(0);
    const ev = JSON.parse(e.stdout);
    expect(ev.examples).toBe(3);
    expect(ev.perplexity).toBeCloseTo(Math.exp(ev.loss), 6);

    const g = studio('generate', model, '--adapter', out, '--prompt', 'Say hi', '--max-new-tokens', '4', '--seed', '1', '--temperature', '0.8', '--json');
    expect(g.code, g.stderr).toBe(0);
    const gen = JSON.parse(g.stdout);
    expect(gen.tokens.length).toBeGreaterThan(0);
    expect(gen.tokens.length).toBeLessThanOrEqual(4);
    // same seed, same text; and the same from onnxruntime-web on the ONNX export of the same weights
    expect(JSON.parse(studio('generate', model, '--adapter', out, '--prompt', 'Say hi', '--max-new-tokens', '4', '--seed', '1', '--temperature', '0.8', '--json').stdout).tokens).toEqual(gen.tokens);
    const viaOnnx = studio('generate', model, '--adapter', out, '--prompt', 'Say hi', '--max-new-tokens', '4', '--seed', '1', '--temperature', '0.8', '--backend', 'onnx', '--json');
    expect(viaOnnx.code, viaOnnx.stderr).toBe(0);
    expect(JSON.parse(viaOnnx.stdout).tokens).toEqual(gen.tokens);
    const evOnnx = studio('eval', model, '--adapter', out, '--data', join(dir, 'train.jsonl'), '--max-new-tokens', '4', '--backend', 'onnx', '--json');
    expect(evOnnx.code, evOnnx.stderr).toBe(0);
    expect(JSON.parse(evOnnx.stdout)).toEqual(ev);
  });

  it('failures exit non-zero with one line', () => {
    for (const args of [['info', join(dir, 'nope')], ['data', join(dir, 'missing.jsonl')], ['frobnicate'], ['generate', model, '--prompt', 'x', '--top-k', 'many'], ['generate', model, '--prompt', 'x', '--backend', 'tpu']]) {
      const r = studio(...args);
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
    }
  });
});
