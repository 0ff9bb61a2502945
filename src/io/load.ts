// A Transformer built straight from a checkpoint: allocated from the headers' shapes, then filled tensor by
// tensor as src/io/hf.ts openWeights reads them, so the host never holds the whole model as f32 (the engine, for the
// page and the CLI, builds every model this way). Frozen matrices are stored as `weights` says (default: as shipped,
// storageAsShipped below); a 16-bit tensor whose storage is its own dtype goes to the GPU as its
// bits, never widened on the host. `onTensor` sees each tensor after its upload (the engine's fingerprint samples
// it). On failure the model's buffers are destroyed and the files closed: nothing is left.
import type { Gpu } from '../gpu/runtime';
import type { ModelConfig } from '../model/config';
import { Transformer, type TrainMode } from '../model/transformer';
import type { WeightStorage } from '../ops/weight-storage';
import { openWeights, type LoadProgress, type ModelFiles, type StreamedWeight } from './hf';
import type { Dtype } from './safetensors';

export async function loadTransformer(
  gpu: Gpu, files: ModelFiles, config: ModelConfig, mode: TrainMode,
  opts: { seed?: number; weights?: WeightStorage; onProgress?: LoadProgress; onTensor?: (name: string, w: StreamedWeight) => void } = {},
): Promise<Transformer> {
  const stream = await openWeights(files, config);
  let net: Transformer;
  try {
    const storage = opts.weights ?? storageAsShipped([...stream.shapes.values()]);
    net = new Transformer(gpu, config, stream.shapes, mode, opts.seed ?? 0, {}, storage);
  } catch (e) {
    await stream.close();
    throw e;
  }
  try {
    await stream.read((name, w) => {
      if (w.half) net.params.writeHalf(name, w.dtype as 'BF16' | 'F16', w.half, () => w.data);
      else net.params.write(name, w.data);
      opts.onTensor?.(name, w);
    }, opts.onProgress);
  } catch (e) {
    net.destroy();
    throw e;
  }
  return net;
}

/** The storage a checkpoint ships its matrices in: bf16 or f16 when every matrix is, else f32. */
export function storageAsShipped(tensors: { shape: number[]; dtype: Dtype }[]): WeightStorage {
  const dtypes = new Set(tensors.filter((t) => t.shape.length === 2).map((t) => t.dtype));
  if (dtypes.size !== 1) return 'f32';
  return dtypes.has('BF16') ? 'bf16' : dtypes.has('F16') ? 'f16' : 'f32';
}
