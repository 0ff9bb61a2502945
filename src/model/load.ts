// A Transformer built straight from a checkpoint: allocated from the headers' shapes, then filled tensor by
// tensor as src/io/hf.ts openWeights reads them (bf16 widened one tensor at a time), so the host never holds the
// whole model as f32 (the CLI and the engine worker build every model this way). `onTensor` sees each tensor
// after its upload (the engine's fingerprint samples it). On failure the model's buffers are destroyed and the
// files closed: nothing is left.
import type { Gpu } from '../gpu/runtime';
import { openWeights, type LoadProgress, type ModelFiles, type Weight } from '../io/hf';
import type { ModelConfig } from './config';
import { Transformer, type TrainMode } from './transformer';

export async function loadTransformer(
  gpu: Gpu, files: ModelFiles, config: ModelConfig, mode: TrainMode,
  opts: { seed?: number; onProgress?: LoadProgress; onTensor?: (name: string, w: Weight) => void } = {},
): Promise<Transformer> {
  const stream = await openWeights(files, config);
  let net: Transformer;
  try {
    net = new Transformer(gpu, config, stream.shapes, mode, opts.seed ?? 0);
  } catch (e) {
    await stream.close();
    throw e;
  }
  try {
    await stream.read((name, w) => { net.params.write(name, w.data); opts.onTensor?.(name, w); }, opts.onProgress);
  } catch (e) {
    net.destroy();
    throw e;
  }
  return net;
}
