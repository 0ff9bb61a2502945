// loadTransformer (src/io/load.ts): a model streamed from a BF16 sharded checkpoint holds the same parameters,
// bit for bit, as one built from the whole f32 Map (on a device with shader-f16, where its matrices are held as f16
// for the f16 kernels: within 2^-25, the values below f16's normal range rounded to its subnormal grid), with
// progress reported to the last byte; and a checkpoint that fails mid-read leaves no GPU buffer behind.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { loadHfModel, loadHfModelMeta } from '../../src/io/hf';
import { filesFromMap, openFile } from '../../src/io/model-files';
import { loadTransformer } from '../../src/io/load';
import { Transformer } from '../../src/model/transformer';
import { testGpu } from '../helpers/gpu';

describe('loadTransformer', () => {
  const map = buildTinyModel('llama-small', 4, { dtype: 'BF16', maxShardBytes: 20_000 });

  it('streams the same parameters as the whole-Map load, with progress', async () => {
    const gpu = await testGpu();
    const files = filesFromMap('tiny', map);
    const eager = await loadHfModel(files);
    const meta = await loadHfModelMeta(files);
    expect(meta.config).toEqual(eager.config);
    const whole = new Transformer(gpu, eager.config, eager.weights, { kind: 'none' });
    const progress: { loaded: number; total: number }[] = [];
    const streamed = await loadTransformer(gpu, files, meta.config, { kind: 'none' }, { onProgress: (p) => progress.push(p) });
    for (const name of eager.weights.keys()) {
      const [got, want] = [await streamed.params.read(name), await whole.params.read(name)];
      if (!gpu.f16) expect(got, name).toEqual(want);
      else expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]))), name).toBeLessThanOrEqual(2 ** -25);
    }
    expect(progress.length).toBe(eager.weights.size + 1);
    expect(progress.at(-1)!.loaded).toBe(progress.at(-1)!.total);
    whole.destroy();
    streamed.destroy();
  });

  it('a read that fails mid-checkpoint fails the load and frees what it allocated', async () => {
    const gpu = await testGpu();
    const inner = filesFromMap('tiny', map);
    // The disk gives out after the headers and a few tensors: range reads past the 12th fail.
    let reads = 0;
    const files = {
      ...inner,
      open: async (path: string) => {
        const src = await openFile(inner, path);
        return { size: src.size, close: () => src.close(), read: (o: number, n: number) => (++reads > 12 ? Promise.reject(new Error('disk gone')) : src.read(o, n)) };
      },
    };
    const meta = await loadHfModelMeta(files);
    gpu.trimPool();
    const before = gpu.liveBytes;
    const progress: number[] = [];
    await expect(loadTransformer(gpu, files, meta.config, { kind: 'none' }, { onProgress: (p) => progress.push(p.loaded) })).rejects.toThrow('disk gone');
    expect(progress.length).toBeGreaterThan(2);          // it failed after some tensors were uploaded
    expect(gpu.liveBytes).toBe(before);
  });
});
