// Small reads of a Transformer that many tests need, and the adapter the TRL parity tests start from.
import { applyPeftAdapter, exportPeftAdapter } from '../../src/export/peft';
import type { LoadedModel } from '../../src/io/hf';
import type { LoraConfig } from '../../src/model/lora';
import { Transformer } from '../../src/model/transformer';
import type { Example } from '../../src/train/batch';
import { Trainer, type TrainConfig } from '../../src/train/trainer';
import { testGpu } from './gpu';

/** Logits [ids.length, V] of one plain forward over `ids` (no cache, nothing saved). */
export async function logitsOf(model: Transformer, ids: ArrayLike<number>): Promise<Float32Array> {
  const st = model.forward({ B: 1, T: ids.length, ids: Uint32Array.from(ids) }, { save: false });
  const out = await model.gpu.read(st.logits);
  model.release(st);
  return out;
}

/**
 * The starting adapter of the TRL parity tests: a short SFT run of `steps` steps on `examples` (LoRA B nonzero, so
 * the adapter and a reference taken from it matter), exported as PEFT files; `fresh()` builds a model with it applied.
 */
export async function sftAdapter(
  loaded: LoadedModel, lora: LoraConfig, examples: Example[], cfg: TrainConfig, baseModel: string, steps = 3,
): Promise<{ config: string; weights: Uint8Array; fresh: () => Promise<Transformer> }> {
  const model = new Transformer(await testGpu(), loaded.config, loaded.weights, { kind: 'lora', lora }, 3);
  const sft = new Trainer(model, examples, { ...cfg, maxSteps: steps, maxGradNorm: 1 });
  while (!sft.done) await sft.step();
  const files = await exportPeftAdapter(model, baseModel);
  model.destroy();
  const weights = files['adapter_model.safetensors'];
  const fresh = async () => {
    const m = new Transformer(await testGpu(), loaded.config, loaded.weights, { kind: 'lora', lora }, 99);
    applyPeftAdapter(m, weights);
    return m;
  };
  return { config: files['adapter_config.json'], weights, fresh };
}
