// The GPU memory a model needs, from its config alone: weights in the run's storage, LoRA state, activations (all
// layers', or each layer's input under activation checkpointing), the head's logits chunk and the KV cache; and the
// verdict that compares an estimate with what the device could give (a measured MemoryBudget: Gpu.probeMemory).
//
// Contract: on the high side of what the engine allocates; tests/node/memory-estimate.test.ts holds it between 1×
// and 1.3× of the bytes the runtime holds after a step. Pure: no GPU, no files.
// Not here: reading a checkpoint (src/io/hf.ts), the run's settings (src/train/presets.ts runMemoryEstimate).
import { mib, type MemoryBudget } from '../gpu/memory';
import { descriptorOf, expectedWeights, loraTargetShapes, recipeOf, weightTable } from './arch';
import type { ModelConfig } from './config';
import { headChunkRows } from './head-chunk';
import { storageWords, WEIGHT_STORAGES, type WeightStorage } from '../ops/weight-storage';

export interface MemoryEstimate {
  /** Base weights as stored: matrices in the run's storage (src/ops/weight-storage.ts), the rest f32. */
  weightsBytes: number;
  /** KV cache for batchTokens positions (inference). */
  kvCacheBytes: number;
  /** LoRA parameters, their gradients and two Adam moments (training). */
  loraBytes: number;
  /** Activations kept for backward (every layer's, or each layer's input when checkpointed), plus one layer's working set (training). */
  activationBytes: number;
  /** The head's logits: training, one row chunk (its gradient in place) with its row copies; inference, every row. */
  logitsBytes: number;
  inferenceBytes: number;
  trainingBytes: number;
  /** Whether trainingBytes assumes activation checkpointing. */
  checkpointing: boolean;
  /** The largest single buffer (compare with the adapter's maxStorageBufferBindingSize; larger ones are split). */
  largestBufferBytes: number;
}

/** LoRA on the attention projections without dropout, when an estimate is not told the run's. */
function defaultLoraTargets(config: ModelConfig): string[] {
  return descriptorOf(config).presetTargets(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
}

/** WebGPU's default maxStorageBufferBindingSize, when an estimate is not told the adapter's. */
const DEFAULT_BINDING_BYTES = 128 * 2 ** 20;

/**
 * Bytes of GPU memory, on the high side of what the engine allocates (f32 everywhere but the frozen matrices,
 * which take `weights`' storage, default f32; attention not
 * materialising T×T scores; tests/node/memory-estimate.test.ts holds it between 1× and 1.3× of the bytes the
 * runtime holds after a step, pooled temporaries included). Training counts what src/model/transformer.ts keeps:
 * every layer's saved activations, or with `checkpointing` each layer's input plus one layer's (recomputed before its
 * backward); one layer's backward working set; and the head's logits one row chunk at a time (head-chunk.ts), the
 * cross-entropy gradient written over them. `batchTokens` = sequences × tokens per sequence of one step. `lora`: the
 * run's targets and dropout (default: q/k/v/o, no dropout). `maxBindingBytes`: the adapter's binding limit, which
 * also bounds a head chunk (default WebGPU's 128 MiB); `headChunkBytes`: Transformer.headChunkBytes when changed.
 */
export function estimateMemory(
  config: ModelConfig,
  opts: {
    training: boolean; loraRank: number; batchTokens: number; lora?: { targetModules: string[]; dropout: number };
    checkpointing?: boolean; maxBindingBytes?: number; headChunkBytes?: number; weights?: WeightStorage;
  },
): MemoryEstimate & { bytes: number } {
  const F = 4;
  const { hiddenSize: C, intermediateSize: I, vocabSize: V, numLayers: L, numHeads, numKvHeads, headDim } = config;
  const N = opts.batchTokens;
  const r = opts.loraRank;
  const checkpointing = opts.checkpointing ?? false;
  const weightsBytes = weightTable(config).reduce((n, w) => {
    const count = w.shape.reduce((a, b) => a * b, 1);
    return n + (w.shape.length === 2 ? storageWords(opts.weights ?? 'f32', count) : count) * F;
  }, 0);
  const kvCacheBytes = 2 * L * numKvHeads * headDim * N * F;
  const qDim = numHeads * headDim, kvDim = numKvHeads * headDim;
  const shapes = loraTargetShapes(config);
  const targets = (opts.lora?.targetModules ?? defaultLoraTargets(config)).map((t) => shapes[t]).filter((s) => s !== undefined);
  const dropout = (opts.lora?.dropout ?? 0) > 0;
  // LoRA A [r, in] and B [out, r] per targeted linear; ×5 for value, gradient, Adam m and v, decay mask.
  const loraParams = L * targets.reduce((n, [inF, outF]) => n + r * (inF + outF), 0);
  const loraBytes = loraParams * F * 5;

  // One layer's saved activations per token (layerForward's `t` and its linears' LoRA tensors; block 0 speaks for all).
  const recipe = recipeOf(config);
  const block = recipe.blocks[0];
  const stats = recipe.norm.kind === 'layer' ? 2 : 1;                     // rstd, and the mean for LayerNorm
  const gated = recipe.mlp.gated;
  const loraSaved = targets.reduce((n, [inF]) => n + r + (dropout ? inF : 0), 0);
  const headNorms = block?.qNorm ? qDim + kvDim + stats * (numHeads + numKvHeads) : 0;
  const postNorms = (block?.postAttnNorm ? C + stats : 0) + (block?.postMlpNorm ? C + stats : 0);
  const fused = block?.linears.qkv ? qDim + 2 * kvDim : 0;
  // h1, x2, h2 and the output; v and rotated k; rotated q and the attention output; lse; the norms' statistics;
  // gate, up and their product (up and its activation when ungated).
  const layerSaved = 4 * C + 2 * kvDim + 2 * qDim + numHeads + 2 * stats + (gated ? 3 : 2) * I + loraSaved + headNorms + postNorms + fused;
  // What a layer's forward allocates and returns to the pool (q, k before RoPE; o and the MLP output).
  const layerTransient = qDim + kvDim + 2 * C;
  const savedPerToken = checkpointing ? L * C + layerSaved + layerTransient : L * layerSaved + layerTransient;
  // One layer's backward, every gradient tensor it allocates (the pool keeps each size): d resid, d h2, d h1 and the
  // post-norms' d; d act, d gate, d up; d att, d q, d k, d v and their pre-RoPE and pre-head-norm copies; d qkv;
  // per targeted linear g = dy B, and with dropout the LoRA input gradient's two buffers.
  const widestInput = Math.max(0, ...targets.map(([inF]) => inF));
  const workPerToken = 3 * C + (block?.postAttnNorm ? C : 0) + (block?.postMlpNorm ? C : 0) + (gated ? 3 : 2) * I
    + 3 * qDim + 3 * kvDim + (block?.qNorm ? qDim + kvDim : 0) + fused + targets.length * r + (dropout ? 2 * widestInput : 0);
  // The residual stream's end: the final norm's output and statistics, its gradient, the last residual (counted in L·C
  // when checkpointed) and the per-token ids, positions, targets, mask and losses.
  const finalPerToken = 2 * C + stats + (checkpointing ? 0 : C) + 8;
  const activationBytes = N * (savedPerToken + workPerToken + finalPerToken) * F;
  const R = headChunkRows(N, V, opts.maxBindingBytes ?? DEFAULT_BINDING_BYTES, opts.headChunkBytes);
  // A chunk's logits (cross-entropy writes d logits over them), and when there are several chunks, its rows of the
  // final norm's output and of their gradient.
  const headBytes = R * (V + (R < N ? 2 * C + 3 : 0)) * F;
  const inferenceLogits = N * V * F;
  // One layer's forward working set per token, all alive at its end (pooled buffers are reused layer to
  // layer, not across sizes): the residual in and out, both norm outputs, o, x2 and the MLP output (7C); q,
  // its rotated copy and the attention output (3q); k, its rotated copy and v (3kv); gate, up and their
  // product (3I); per-head statistics. Then the logits.
  const inferenceBytes = weightsBytes + kvCacheBytes + N * (7 * C + 3 * qDim + 3 * kvDim + 3 * I + 2 * numHeads) * F + inferenceLogits;
  const trainingBytes = weightsBytes + loraBytes + activationBytes + headBytes;
  let largest = Math.max(inferenceLogits, N * Math.max(C, I, qDim + 2 * kvDim) * F);
  for (const shape of expectedWeights(config).values()) largest = Math.max(largest, shape.reduce((a, b) => a * b, 1) * F);
  const estimate = {
    weightsBytes, kvCacheBytes, loraBytes, activationBytes, logitsBytes: opts.training ? headBytes : inferenceLogits,
    inferenceBytes, trainingBytes, checkpointing, largestBufferBytes: largest,
  };
  return { ...estimate, bytes: opts.training ? trainingBytes : inferenceBytes };
}

/**
 * Whether a model fits the GPU for `use`, judged against a measured budget: null when it fits, or when the
 * probe was not asked for that much and so cannot tell (callers probe for what they need); otherwise one
 * sentence with what is needed, what the adapter allows, and what to change. Single buffers over the
 * adapter's limits are not judged here: weights are split into blocks that fit (src/model/params.ts).
 */
export function memoryVerdict(use: 'inference' | 'training', estimate: MemoryEstimate, budget: MemoryBudget): string | null {
  const need = use === 'training' ? estimate.trainingBytes : estimate.inferenceBytes;
  if (budget.limitedBy === null || need <= budget.obtainedBytes) return null;
  const what = use === 'training'
    ? `Training needs about ${mib(need)} of GPU memory (weights ${mib(estimate.weightsBytes)}, activations ${mib(estimate.activationBytes + estimate.logitsBytes)}, LoRA ${mib(estimate.loraBytes)})`
    : `Running this model needs about ${mib(need)} of GPU memory (weights ${mib(estimate.weightsBytes)})`;
  const change = use === 'training' ? 'Lower the batch size or the max sequence length, or pick a smaller model.' : 'Pick a smaller model.';
  return `${what}; this GPU could give ${mib(budget.obtainedBytes)} when asked (${budget.limitedBy}). ${change}`;
}

/** One weights storage's LoRA training bytes at a batch, without and with activation checkpointing. */
export interface StorageMemory {
  weights: WeightStorage;
  bytes: number;
  bytesWithCheckpointing: number;
}

/** What a model needs for LoRA at one batch, per weights storage, and with `train`'s defaults (loraMemoryByStorage). */
export interface LoraMemoryByStorage {
  batchTokens: number;
  loraRank: number;
  /** The storage the checkpoint ships its matrices in (src/io/load.ts storageAsShipped). */
  shipped: WeightStorage;
  byWeights: StorageMemory[];
  /**
   * `train`'s choice: the weights as shipped (or as asked), activation checkpointing 'auto', which turns on when the run
   * without it would not fit what the device gives; `bytes` is what the run then needs at least (with checkpointing),
   * `bytesWithoutCheckpointing` what it takes where the device has that much.
   */
  default: { weights: WeightStorage; activationCheckpointing: 'auto'; bytes: number; bytesWithoutCheckpointing: number };
}

/**
 * The number to read before a download: LoRA training at `batchTokens` in every weights storage, with and without
 * activation checkpointing, and which of them `train` takes by default (`weights`: the storage asked for, else shipped).
 */
export function loraMemoryByStorage(
  config: ModelConfig,
  opts: { shipped: WeightStorage; batchTokens: number; loraRank: number; weights?: WeightStorage; lora?: { targetModules: string[]; dropout: number }; maxBindingBytes?: number },
): LoraMemoryByStorage {
  const bytes = (weights: WeightStorage, checkpointing: boolean) => estimateMemory(config, {
    training: true, loraRank: opts.loraRank, batchTokens: opts.batchTokens, lora: opts.lora, checkpointing, maxBindingBytes: opts.maxBindingBytes, weights,
  }).trainingBytes;
  const byWeights = WEIGHT_STORAGES.map((weights) => ({ weights, bytes: bytes(weights, false), bytesWithCheckpointing: bytes(weights, true) }));
  const chosen = byWeights.find((s) => s.weights === (opts.weights ?? opts.shipped))!;
  return {
    batchTokens: opts.batchTokens, loraRank: opts.loraRank, shipped: opts.shipped, byWeights,
    default: { weights: chosen.weights, activationCheckpointing: 'auto', bytes: chosen.bytesWithCheckpointing, bytesWithoutCheckpointing: chosen.bytes },
  };
}
