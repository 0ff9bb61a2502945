// A LoRA model with random non-zero A and B on a loaded base, for the ONNX tests in Node and Chromium (no
// node: imports here, so tests/browser can use it too).
import type { LoadedModel } from '../../src/io/hf';
import type { LoraConfig } from '../../src/model/lora';
import { Transformer } from '../../src/model/transformer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

/** LoRA (rank, alpha 2r+1, the given dropout) with A, B ~ U(-0.3, 0.3) from `seed` on `base`. */
export async function withRandomLora(base: Pick<LoadedModel, 'config' | 'weights'>, rank: number, seed: number, targetModules: string[], dropout = 0): Promise<{ model: Transformer; lora: LoraConfig }> {
  const gpu = await testGpu();
  const lora: LoraConfig = { rank, alpha: 2 * rank + 1, dropout, useRslora: false, targetModules };
  const model = new Transformer(gpu, base.config, base.weights, { kind: 'lora', lora }, 1);
  const r = rng(seed);
  for (const name of model.params.trainableNames()) {
    const shape = model.params.specs.get(name)!.shape;
    gpu.write(model.params.get(name), Float32Array.from({ length: shape[0] * shape[1] }, () => (r() * 2 - 1) * 0.3));
  }
  return { model, lora };
}
