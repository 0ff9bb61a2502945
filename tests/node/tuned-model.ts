// Shared by the ONNX tests: a tiny Hugging Face folder and a LoRA model on it whose A and B are random and
// non-zero, so the adapter visibly changes the logits (an export that dropped it would fail).
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { loadHfModel, type LoadedModel } from '../../src/io/hf';
import { filesFromMap, type ModelFiles } from '../../src/io/model-files';
import type { LoraConfig } from '../../src/model/lora';
import { Transformer } from '../../src/model/transformer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const TARGETS = { 'llama-small': ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'up_proj'], gpt2: ['c_attn', 'c_proj', 'c_fc'] };

/** LoRA (rank, alpha 2r+1) with A, B ~ U(-0.3, 0.3) from `seed` on `base`. */
export async function withRandomLora(base: LoadedModel, rank: number, seed: number, targetModules: string[]): Promise<{ model: Transformer; lora: LoraConfig }> {
  const gpu = await testGpu();
  const lora: LoraConfig = { rank, alpha: 2 * rank + 1, dropout: 0, useRslora: false, targetModules };
  const model = new Transformer(gpu, base.config, base.weights, { kind: 'lora', lora }, 1);
  const r = rng(seed);
  for (const name of model.params.trainableNames()) {
    const shape = model.params.specs.get(name)!.shape;
    gpu.write(model.params.get(name), Float32Array.from({ length: shape[0] * shape[1] }, () => (r() * 2 - 1) * 0.3));
  }
  return { model, lora };
}

/** A tiny folder (buildTinyModel seed 3) and a random LoRA model on it. */
export async function tunedTiny(rank: number, seed: number, kind: 'llama-small' | 'gpt2' = 'llama-small'): Promise<{ source: ModelFiles; base: LoadedModel; model: Transformer; lora: LoraConfig }> {
  const source = filesFromMap(`tiny-${kind}`, buildTinyModel(kind, 3));
  const base = await loadHfModel(source);
  return { source, base, ...(await withRandomLora(base, rank, seed, TARGETS[kind])) };
}
