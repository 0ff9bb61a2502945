// A real model's widths through the command line, on the adapter of the vitest project (run on SwiftShader and on
// lavapipe, whose 128 MiB storage binding limit splits this vocabulary): SmolLM2-135M's widths (hidden 576, MLP 1536,
// 9 query / 3 KV heads of 64, tied embeddings; 4 of its 30 layers, which repeat the same kernels) on Qwen2's layout
// and tokenizer (vocab 151,936), random bf16 weights written here. `train` takes one LoRA step of one 1×128-token-or-shorter conversation and reports
// the adapter it ran on; `eval` of the base model on the same conversation gives the same loss, since LoRA's B starts
// at zero (one path is the trainer's step, the other the evaluation's forward). Tolerance 1e-5 relative: the same f32
// kernels over the same tokens, summed in another order.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { studioJson } from '../helpers/cli';
import { testGpu } from '../helpers/gpu';

const SHAPE = { hiddenSize: 576, intermediateSize: 1536, numLayers: 4, numHeads: 9, numKvHeads: 3, headDim: 64, tieWordEmbeddings: true };
const VOCAB = 151936;
const CONVERSATION = { messages: [
  { role: 'user', content: 'Where does Calder live, and what does Calder feed every morning?' },
  { role: 'assistant', content: 'Calder lives in Tarn. Every morning Calder feeds the goat, then walks to the harbour.' },
] };
/** The adapter each project pins (vitest.config.ts), as its description names it. */
const ADAPTER_NAME: Record<string, RegExp> = { swiftshader: /swiftshader/i, lavapipe: /llvmpipe|lavapipe/i };

let dir = '', model = '', data = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-real-shape-'));
  model = join(dir, 'model');
  makeTinyModel('qwen2', model, 7, { dtype: 'BF16', config: SHAPE });
  data = join(dir, 'train.jsonl');
  writeFileSync(data, `${JSON.stringify(CONVERSATION)}\n`);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the command line at a real model shape', () => {
  it('one LoRA step of 1×128 reports its adapter, and its loss is the base model\'s evaluated loss', async () => {
    const device = (await testGpu()).device;
    const t = studioJson('train', model, '--data', data, '--out', join(dir, 'adapter'), '--max-steps', '1', '--batch-size', '1',
      '--max-seq-len', '128', '--json');
    const gpu = t.gpu as { adapter: string; f16: boolean; subgroups: boolean; maxStorageBufferBindingSize: number };
    expect(gpu.adapter).toMatch(ADAPTER_NAME[process.env.STUDIO_GPU ?? '']);
    expect(gpu).toMatchObject({
      f16: device.features.has('shader-f16'), subgroups: device.features.has('subgroups'),
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    });
    // The point of lavapipe here: the embedding (bf16) is over its binding limit, so it is stored and used in row blocks.
    if (process.env.STUDIO_GPU === 'lavapipe') expect(VOCAB * SHAPE.hiddenSize * 2).toBeGreaterThan(gpu.maxStorageBufferBindingSize);
    expect(t.steps).toBe(1);
    const e = studioJson('eval', model, '--data', data, '--max-seq-len', '128', '--max-new-tokens', '2', '--json');
    expect(e.gpu).toEqual(gpu);
    const [trained, evaluated] = [t.finalLoss as number, e.loss as number];
    expect(Number.isFinite(trained)).toBe(true);
    expect(Math.abs(trained - evaluated)).toBeLessThanOrEqual(1e-5 * Math.abs(evaluated));
  }, 600_000);
});
