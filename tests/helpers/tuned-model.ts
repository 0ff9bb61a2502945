// Shared by the Node ONNX tests: a tiny Hugging Face folder and a LoRA model on it whose A and B are random and
// non-zero (random-lora.ts), so the adapter visibly changes the logits (an export that dropped it would fail).
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { loadHfModel, type LoadedModel } from '../../src/io/hf';
import { filesFromMap, type ModelFiles } from '../../src/io/model-files';
import type { LoraConfig } from '../../src/model/lora';
import type { Transformer } from '../../src/model/transformer';
import { withRandomLora } from './random-lora';

const TARGETS = { 'llama-small': ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'up_proj'], gpt2: ['c_attn', 'c_proj', 'c_fc'] };

/** A tiny folder (buildTinyModel seed 3) and a random LoRA model on it. */
export async function tunedTiny(rank: number, seed: number, kind: 'llama-small' | 'gpt2' = 'llama-small'): Promise<{ source: ModelFiles; base: LoadedModel; model: Transformer; lora: LoraConfig }> {
  const source = filesFromMap(`tiny-${kind}`, buildTinyModel(kind, 3));
  const base = await loadHfModel(source);
  return { source, base, ...(await withRandomLora(base, rank, seed, TARGETS[kind])) };
}
