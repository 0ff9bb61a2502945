// `studio info` gives the number to read before a download: LoRA training memory at 4×512 tokens for every weights
// storage, with and without activation checkpointing, and train's default (the weights as the checkpoint ships them,
// checkpointing turned on when memory is short). On a Qwen2.5-0.5B-shaped bf16 checkpoint (random weights written
// here, one tensor at a time) the default needs at most 2.5 GiB, and the f32 / no-checkpointing figure a model
// picker used to show stands beside it. The figures are the core's (src/model/memory-estimate.ts estimateMemory, held
// to live bytes by tests/node/memory-estimate.test.ts); this test holds the CLI to them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { modelShape } from '../../scripts/model-shapes';
import { configFromHf } from '../../src/io/hf';
import { estimateMemory } from '../../src/model/memory-estimate';
import { studioJson } from '../helpers/cli';
import { writeRandomBf16Checkpoint } from '../helpers/random-checkpoint';

const GiB = 2 ** 30;
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-info-memory-'));
  // The tokenizer files of the Qwen2 tiny model, then the real config and a checkpoint of its shape.
  makeTinyModel('qwen2', dir, 1);
  const hf = { ...modelShape('Qwen2.5-0.5B'), torch_dtype: 'bfloat16' };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hf));
  writeRandomBf16Checkpoint(join(dir, 'model.safetensors'), configFromHf(hf, 'Qwen2.5-0.5B'));
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('studio info: LoRA memory per weights storage', () => {
  it('Qwen2.5-0.5B in bf16 at 4×512: train\'s default needs at most 2.5 GiB, beside f32 without checkpointing', () => {
    const info = studioJson('info', dir, '--json');
    const memory = info.trainingMemory as {
      batchTokens: number; shipped: string; byWeights: { weights: string; bytes: number; bytesWithCheckpointing: number }[];
      default: { weights: string; activationCheckpointing: string; bytes: number; bytesWithoutCheckpointing: number };
    };
    const config = configFromHf(modelShape('Qwen2.5-0.5B'), 'Qwen2.5-0.5B');
    const estimate = (weights: 'f32' | 'bf16' | 'f16' | 'q8' | 'q4', checkpointing: boolean) => estimateMemory(config, {
      training: true, loraRank: 8, batchTokens: 4 * 512, checkpointing, weights,
      maxBindingBytes: (info.gpu as { maxStorageBufferBindingSize: number } | null)?.maxStorageBufferBindingSize,
    }).trainingBytes;
    expect(memory).toMatchObject({ batchTokens: 2048, shipped: 'bf16', default: { weights: 'bf16', activationCheckpointing: 'auto' } });
    expect(memory.byWeights.map((w) => w.weights)).toEqual(['f32', 'bf16', 'f16', 'q8', 'q4']);
    for (const w of memory.byWeights) expect([w.bytes, w.bytesWithCheckpointing]).toEqual([estimate(w.weights as 'f32', false), estimate(w.weights as 'f32', true)]);
    expect(memory.default.bytes).toBe(estimate('bf16', true));
    expect(memory.default.bytesWithoutCheckpointing).toBe(estimate('bf16', false));
    expect(info.trainingMemoryBytes).toBe(memory.default.bytes);
    expect(memory.default.bytes).toBeLessThanOrEqual(2.5 * GiB);
    const f32NoCheckpointing = memory.byWeights.find((w) => w.weights === 'f32')!.bytes;
    expect(f32NoCheckpointing).toBeGreaterThan(2 * memory.default.bytes);
    console.log(`Qwen2.5-0.5B bf16, LoRA 4×512: train's default ${(memory.default.bytes / GiB).toFixed(2)} GiB (${(memory.default.bytesWithoutCheckpointing / GiB).toFixed(2)} without checkpointing); f32 without checkpointing ${(f32NoCheckpointing / GiB).toFixed(2)} GiB`);
  });
});
