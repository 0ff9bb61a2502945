// Weights streamed onto the GPU one tensor at a time (hf.ts openWeights + ParamTable allocated without data,
// then params.write per tensor): the same parameters on the GPU, bit for bit, and the same losses as the model
// built from the whole f32 Map, for a BF16 sharded checkpoint, with weights over the binding limit split into
// row blocks and over the buffer limit stored as separate buffers. Also: a wrong config fails before any
// tensor data is read.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { loadHfModel, openWeights } from '../../src/io/hf';
import { filesFromMap, type ModelFiles } from '../../src/io/model-files';
import { Transformer } from '../../src/model/transformer';
import { makeBatch } from '../../src/train/batch';
import { testGpu } from '../helpers/gpu';

describe('weights streamed to the GPU', () => {
  it('give the same parameters and losses as the whole-Map load, split weights included', async () => {
    const gpu = await testGpu();
    const files = filesFromMap('tiny', buildTinyModel('llama-small', 4, { dtype: 'BF16', maxShardBytes: 20_000 }));
    const eager = await loadHfModel(files);
    const { config } = eager;
    const lora = { kind: 'lora' as const, lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] } };
    // Rows of 32 f32: a 64-row binding limit splits the embedding and head into blocks; the buffer limit makes
    // the embedding's blocks separate buffers.
    const embedRows = eager.weights.get('model.embed_tokens.weight')!.shape[0];
    const limits = { maxBindingBytes: 64 * config.hiddenSize * 4, maxBufferBytes: (embedRows - 1) * config.hiddenSize * 4 };
    expect(embedRows).toBeGreaterThan(64);

    const whole = new Transformer(gpu, config, eager.weights, lora, 7, limits);
    const stream = await openWeights(files, config);
    const streamed = new Transformer(gpu, config, stream.shapes, lora, 7, limits);
    let uploads = 0;
    await stream.read((name, w) => { streamed.params.write(name, w.data); uploads++; });
    expect(uploads).toBe(eager.weights.size);
    expect(streamed.params.chunked('model.embed_tokens.weight').blocks.length).toBeGreaterThan(1);

    for (const name of eager.weights.keys()) expect(await streamed.params.read(name), name).toEqual(await whole.params.read(name));
    const ids = Array.from({ length: 24 }, (_, t) => (t * 13 + 5) % config.vocabSize);
    const batch = makeBatch([{ inputIds: ids, lossMask: ids.map(() => 1) }, { inputIds: ids.slice(3), lossMask: ids.slice(3).map(() => 1) }], 32);
    const losses = async (m: Transformer) => { const t = m.evalLosses(batch); const v = await gpu.read(t, batch.B * batch.T); gpu.release(t); return v; };
    const want = await losses(whole);
    expect(want.some((x) => x > 0)).toBe(true);
    expect(await losses(streamed)).toEqual(want);
    whole.destroy();
    streamed.destroy();
  });

  it('checks names and shapes from the headers: a wrong config fails before any tensor data is read', async () => {
    const map = buildTinyModel('llama-small', 4, { dtype: 'BF16' });
    const { config } = await loadHfModel(filesFromMap('tiny', map));
    const base = filesFromMap('tiny', map);
    const reads: number[] = [];
    const files: ModelFiles = {
      ...base,
      open: async (path) => {
        const bytes = await base.read(path);
        return { size: bytes.byteLength, read: async (offset, length) => { reads.push(length); return bytes.slice(offset, offset + length); }, close: async () => {} };
      },
    };
    await expect(openWeights(files, { ...config, intermediateSize: config.intermediateSize + 1 }))
      .rejects.toThrow(/tiny\/model\.safetensors: tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[\d+, \d+\], config\.json implies/);
    expect(reads).toHaveLength(2); // the header's length, then the header
  });
});
