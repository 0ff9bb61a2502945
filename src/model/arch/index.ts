// The registry of model families: config.json → descriptor → ModelConfig, and what every consumer derives from a
// config through its descriptor (recipe, weight table, LoRA targets). To add a family: write its descriptor next to
// the others (llama.ts is the base most extend), add it to DESCRIPTORS, and add any kernel its recipe needs.
import type { ModelConfig } from '../config';
import { gemma3 } from './gemma3';
import { gpt2 } from './gpt2';
import { llama } from './llama';
import { qwen3 } from './qwen3';
import { smollm3 } from './smollm3';
import type { ArchitectureDescriptor, ModelRecipe } from './types';

export type { ArchitectureDescriptor, BlockRecipe, GgufArch, LinearRecipe, LinearRole, ModelRecipe } from './types';

export const DESCRIPTORS: readonly ArchitectureDescriptor[] = [llama, gpt2, qwen3, gemma3, smollm3];

/** Every config.json model_type the studio loads. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = DESCRIPTORS.flatMap((d) => d.modelTypes);

/** The descriptor a family or model_type names ('qwen2': the Llama family's), or an error listing the supported ones. */
export function descriptorNamed(name: string): ArchitectureDescriptor {
  const d = DESCRIPTORS.find((x) => x.family === name) ?? DESCRIPTORS.find((x) => x.modelTypes.includes(name));
  if (!d) throw new Error(`unsupported architecture ${name} (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  return d;
}

export function descriptorOf(config: Pick<ModelConfig, 'architecture'>): ArchitectureDescriptor {
  const d = DESCRIPTORS.find((x) => x.family === config.architecture);
  if (!d) throw new Error(`no descriptor for architecture ${config.architecture}`);
  return d;
}

/** Map a parsed config.json to ModelConfig through its family's descriptor; anything else is refused with the list. */
export function configFromHf(json: unknown, fileName = 'config.json'): ModelConfig {
  if (!json || typeof json !== 'object') throw new Error(`${fileName}: not a JSON object`);
  const c = json as Record<string, unknown>;
  if (typeof c.model_type !== 'string') throw new Error(`${fileName}: no model_type`);
  const d = DESCRIPTORS.find((x) => x.modelTypes.includes(c.model_type as string));
  if (!d) throw new Error(`${fileName}: unsupported architecture ${c.model_type} (supported model types: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  return d.fromHf(c, fileName);
}

export function recipeOf(config: ModelConfig): ModelRecipe {
  return descriptorOf(config).recipe(config);
}

/**
 * Every parameter tensor of the model with its shape, in the memory table's order: embedding, positions, each
 * block's norms and linears, the final norm, an untied head. `kind` says how init fills it.
 */
export function weightTable(config: ModelConfig): { name: string; shape: number[]; kind: 'embedding' | 'positions' | 'norm' | 'norm.bias' | 'linear' | 'bias' }[] {
  const r = recipeOf(config);
  const C = config.hiddenSize;
  const out: ReturnType<typeof weightTable> = [{ name: r.embed, shape: [config.vocabSize, C], kind: 'embedding' }];
  if (r.positions) out.push({ name: r.positions, shape: [config.maxPositions, C], kind: 'positions' });
  const norm = (path: string | null, width: number) => {
    if (!path) return;
    out.push({ name: `${path}.weight`, shape: [width], kind: 'norm' });
    if (r.norm.kind === 'layer') out.push({ name: `${path}.bias`, shape: [width], kind: 'norm.bias' });
  };
  for (const b of r.blocks) {
    norm(b.attnNorm, C);
    norm(b.qNorm, config.headDim);
    norm(b.kNorm, config.headDim);
    norm(b.postAttnNorm, C);
    norm(b.mlpNorm, C);
    norm(b.postMlpNorm, C);
    for (const lin of Object.values(b.linears)) {
      out.push({ name: `${lin.name}.weight`, shape: r.conv1d ? [lin.inF, lin.outF] : [lin.outF, lin.inF], kind: 'linear' });
      if (lin.bias) out.push({ name: `${lin.name}.bias`, shape: [lin.outF], kind: 'bias' });
    }
  }
  norm(r.finalNorm, C);
  if (r.head !== r.embed) out.push({ name: r.head, shape: [config.vocabSize, C], kind: 'embedding' });
  return out;
}

/**
 * The one parameter count: the weight table's tensors. `matmuls`: only the weights a token is multiplied by (every
 * linear and the head, tied or not), what the FLOP estimate of a step counts.
 */
export function parameterCount(config: ModelConfig, which: 'all' | 'matmuls' = 'all'): number {
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const table = weightTable(config);
  if (which === 'all') return table.reduce((n, w) => n + size(w.shape), 0);
  return table.filter((w) => w.kind === 'linear').reduce((n, w) => n + size(w.shape), 0) + config.vocabSize * config.hiddenSize;
}

/** name → shape of every parameter tensor (what a checkpoint must hold). */
export function expectedWeights(config: ModelConfig): Map<string, number[]> {
  return new Map(weightTable(config).map((w) => [w.name, w.shape]));
}

/** [in, out] features of each linear LoRA can target, by the short names the descriptor lists (from block 0). */
export function loraTargetShapes(config: ModelConfig): Record<string, [number, number]> {
  const d = descriptorOf(config);
  const out: Record<string, [number, number]> = {};
  for (const lin of Object.values(d.recipe({ ...config, numLayers: 1 }).blocks[0].linears)) {
    const short = d.loraTargets.find((t) => lin.name.endsWith(`.${t}`));
    if (short) out[short] = [lin.inF, lin.outF];
  }
  return out;
}
