// Sane ranges for what a model folder or an adapter declares, checked before anything is allocated: a
// config.json with num_hidden_layers 1e12 or an adapter_config.json with r = 50 000 000 must be one clear
// error, not minutes of growing Maps and a crash when memory runs out. And weights must be numbers: NaN or
// Inf in a checkpoint or an adapter trains a NaN adapter and generates token 0 forever.
//
// Contract:
//  - validateModelConfig(config, where): every size within LIMITS, sizes consistent with each other (heads
//    divide, key/value heads divide heads, RoPE's head size even), rope_theta > 0 and 0 < eps < 1, and the
//    parameter count (the weight table's, once every size is within its limit) within MAX_PARAMETERS.
//    Throws one sentence naming the file and the field (HF's name for it).
//  - The one LoRA rule, for a run's settings, an imported adapter and the command line's flags alike:
//    loraProblem(lora, loraLinears(config)) / validateLora(lora, linears, where): rank a whole number
//    1 ≤ r ≤ min(in, out) of every targeted linear, alpha > 0, 0 ≤ dropout < 1, and every target matching (by
//    suffix, as PEFT matches) at least one linear the model's descriptor lets LoRA target.
//  - assertFinite(data, where, name): throws naming the tensor and the first bad index.
// Not here: what the architecture supports at all (src/io/hf.ts refuses unknown model types and features).
import { descriptorOf, parameterCount, recipeOf, weightTable } from '../model/arch';
import { MAX_LAYERS } from '../model/arch/hf-config';
import type { ModelConfig } from '../model/config';
import { isLoraTarget, type LoraConfig } from '../model/lora';
import { UNNAMED_FILES } from './model-files';

/** Upper bounds, each with room above the largest open models the studio can meet (Llama 3.1 405B has 126 layers, hidden 16 384; Gemma 3 a 262 144 vocabulary). */
const LIMITS = {
  numLayers: MAX_LAYERS,
  hiddenSize: 65_536,
  intermediateSize: 262_144,
  vocabSize: 4_194_304,
  numHeads: 1024,
  headDim: 1024,
  maxPositions: 4_194_304,
};
/** 2^34 parameters = 64 GiB as f32: more than any browser or the CLI can hold; larger means a corrupt config. */
const MAX_PARAMETERS = 2 ** 34;
/** LoRA rank beyond this is a full-rank update with extra steps; PEFT users stay far below it. */
export const MAX_LORA_RANK = 4096;

/** HF's config.json name for each ModelConfig field, so errors name what the user can find in the file. */
const HF_NAME: Record<keyof typeof LIMITS, string> = {
  numLayers: 'num_hidden_layers', hiddenSize: 'hidden_size', intermediateSize: 'intermediate_size',
  vocabSize: 'vocab_size', numHeads: 'num_attention_heads', headDim: 'head_dim', maxPositions: 'max_position_embeddings',
};

function wholeIn(value: number, max: number, where: string, field: string): void {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${where}: ${field} must be a whole number from 1 to ${max} (got ${value})`);
}

export function validateModelConfig(c: ModelConfig, where = 'config.json'): void {
  for (const key of Object.keys(LIMITS) as (keyof typeof LIMITS)[]) wholeIn(c[key], LIMITS[key], where, HF_NAME[key]);
  wholeIn(c.numKvHeads, c.numHeads, where, 'num_key_value_heads');
  if (c.numHeads % c.numKvHeads !== 0) throw new Error(`${where}: num_attention_heads ${c.numHeads} is not a multiple of num_key_value_heads ${c.numKvHeads}`);
  if (!(Number.isFinite(c.normEps) && c.normEps > 0 && c.normEps < 1)) throw new Error(`${where}: the norm epsilon must be between 0 and 1 (got ${c.normEps})`);
  // Rotary embeddings (every family but those with learned positions) need a positive theta and an even head size.
  if (recipeOf(c).blocks.some((b) => b.attention.rope !== null)) {
    if (!(Number.isFinite(c.ropeTheta) && c.ropeTheta > 0)) throw new Error(`${where}: rope_theta must be a positive number (got ${c.ropeTheta})`);
    if (c.headDim % 2 !== 0) throw new Error(`${where}: head size ${c.headDim} is odd; rotary embeddings need an even one`);
  }
  // After the per-field limits, so the weight table it sums is small however absurd the numbers were.
  const params = parameterCount(c);
  if (params > MAX_PARAMETERS) {
    throw new Error(`${where}: describes about ${params.toExponential(2)} parameters (${(params * 4 / 2 ** 30).toFixed(0)} GiB as f32), more than the studio can hold (${MAX_PARAMETERS.toExponential(2)})`);
  }
}

/** A linear LoRA can target: its module path and [out, in] (any order: only min(in, out) matters). */
interface LinearShape {
  path: string;
  shape: readonly number[];
}

/** The linears LoRA can target in this model (its descriptor's targets), with their shapes. */
export function loraLinears(config: ModelConfig): LinearShape[] {
  const targets = descriptorOf(config).loraTargets;
  return weightTable(config).filter((w) => w.kind === 'linear').map((w) => ({ path: w.name.slice(0, -'.weight'.length), shape: w.shape }))
    .filter((l) => targets.some((t) => l.path.endsWith(`.${t}`)));
}

/** What is wrong with `lora` on these linears, in one sentence, or null. */
export function loraProblem(lora: LoraConfig, linears: readonly LinearShape[]): string | null {
  if (!Number.isInteger(lora.rank) || lora.rank < 1 || lora.rank > MAX_LORA_RANK) return `rank must be a whole number from 1 to ${MAX_LORA_RANK} (got ${lora.rank})`;
  if (!(Number.isFinite(lora.alpha) && lora.alpha > 0)) return `alpha must be a positive number (got ${lora.alpha})`;
  if (!(Number.isFinite(lora.dropout) && lora.dropout >= 0 && lora.dropout < 1)) return `dropout must be at least 0 and below 1 (got ${lora.dropout})`;
  if (lora.targetModules.length === 0) return 'no target modules';
  let smallest = Infinity;
  for (const target of lora.targetModules) {
    const hits = linears.filter((l) => isLoraTarget({ ...lora, targetModules: [target] }, l.path));
    if (hits.length === 0) {
      const names = [...new Set(linears.map((l) => l.path.split('.').pop()))];
      return `target module "${target}" matches no linear layer of this model (its modules: ${names.join(', ')})`;
    }
    for (const h of hits) smallest = Math.min(smallest, ...h.shape);
  }
  if (lora.rank > smallest) return `rank ${lora.rank} is larger than the smallest targeted layer (${smallest} features); LoRA needs r ≤ min(in, out)`;
  return null;
}

export function validateLora(lora: LoraConfig, linears: readonly LinearShape[], where: string): void {
  const problem = loraProblem(lora, linears);
  if (problem) throw new Error(`${where}: ${problem}`);
}

/** Throws when `data` holds NaN or ±Inf. */
export function assertFinite(data: Float32Array, where: string, name: string): void {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) notFinite(data[i], i, where, name);
}

/** assertFinite on 16-bit bits as stored, without widening the tensor: an all-ones exponent is Inf or NaN. */
export function assertFiniteHalf(bits: Uint16Array, dtype: 'F16' | 'BF16', where: string, name: string): void {
  const exp = dtype === 'F16' ? 0x7c00 : 0x7f80;
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & exp) === exp) notFinite((bits[i] & (exp ^ 0x7fff)) ? NaN : (bits[i] & 0x8000 ? -Infinity : Infinity), i, where, name);
  }
}

function notFinite(v: number, i: number, where: string, name: string): never {
  throw new Error(`${where}: tensor ${name} holds ${v} at index ${i}; the file is corrupt or was saved after training diverged`);
}

/** The studio's built-in model as the page names it (first run; the Train step's button). */
const BUILT_IN_NAMES = new Set(['built-in model', 'default model']);
/** Its folder in the studio's repository: what exports record as the base model and the CLI loads. */
export const BUILT_IN_PATH = 'public/models/default';

/** The base model as exports name it: a hub id as loaded, the built-in model by its folder, else its name. */
export const baseModelId = (name: string) => (BUILT_IN_NAMES.has(name) ? BUILT_IN_PATH : name);

/** The name of the error a base-model mismatch throws, so a page can offer the override across a worker. */
export const BASE_MODEL_MISMATCH = 'BaseModelMismatch';

/**
 * The model an adapter was trained on must be the one it is applied to: base_model_name_or_path and the
 * model's name (each as exports record it: the page's "default model" is public/models/default) agree on their
 * last path segment, case aside ('HuggingFaceTB/SmolLM2-135M' matches a folder '/models/smollm2-135m').
 * Passes when either side has no name (an adapter without the field, loose dropped files). Shapes are
 * checked tensor by tensor when the weights are applied. Returns the mismatch, or null.
 */
export function baseModelMismatch(recorded: string | null, modelName: string): string | null {
  const last = (s: string) => s.replace(/[\\/]+$/, '').split(/[\\/]/).pop()!.toLowerCase();
  if (!recorded || !modelName || modelName === UNNAMED_FILES || recorded === UNNAMED_FILES) return null;
  return last(baseModelId(recorded)) === last(baseModelId(modelName)) ? null : `the adapter was trained on ${recorded}, not on ${modelName}`;
}
