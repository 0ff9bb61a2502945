// Load a Hugging Face model folder: config.json → ModelConfig, safetensors weights (single file or sharded
// index + shards; F32/F16/BF16) → Float32Array by HF name, tokenizer.json + tokenizer_config.json →
// Tokenizer and ChatTemplate (or chat_template.jinja / chat_template.json, where newer transformers put it),
// generation_config.json when present. Plus the stop tokens, a memory estimate for the GPU and the verdict
// that compares it with what the device could give (a measured MemoryBudget: src/gpu/runtime.ts probeMemory).
//
// Contract:
//  - config.json is mapped by its family's descriptor (src/model/arch: the supported model types, and the config
//    features each refuses rather than load a model that computes something else).
//  - Every tensor the recipe needs is present with the shape the config implies, and every tensor of the
//    checkpoint is one the recipe consumes (after the descriptor's renaming, which also drops named non-parameters
//    such as GPT-2's attention-mask buffers); otherwise loading fails naming the file and the tensor. A Llama
//    checkpoint carrying q_norm tensors is refused, not loaded with them ignored.
//  - A failure throws before anything is returned: nothing half-loaded is handed out.
//  - Weights are read by byte range, one tensor at a time, after every name and shape has been checked from the
//    headers (openWeights): `loadWeights` keeps them in a Map; `openWeights(...).read` hands each to a consumer
//    (an upload) so the whole model is never in host memory.
// Not here: GPU upload (src/model), downloads and caching (later: they produce a ModelFiles).
import { mib, type MemoryBudget } from '../gpu/runtime';
import { configFromHf, descriptorOf, expectedWeights, loraTargetShapes, recipeOf, weightTable } from '../model/arch';
import type { ModelConfig } from '../model/config';
import { headChunkRows } from '../model/head-chunk';
import { storageWords, type WeightStorage } from '../ops/weight-storage';
import { ChatTemplate } from '../tokenize/chat';
import { loadTokenizer, type Tokenizer } from '../tokenize/tokenizer';
import { openCheckpoint, type CheckpointTensor } from './checkpoint';
import type { Dtype, ReadTensor } from './safetensors';
import { missingFile, type ModelFiles } from './model-files';
import { SafetensorsError } from './safetensors';
import { assertFinite, assertFiniteHalf, validateModelConfig } from './validate';

export type { ModelFiles } from './model-files';

export interface Weight {
  shape: number[];
  data: Float32Array;
}

/** A tensor as the stream reads it: `data` is widened on first use; F16/BF16 keep their bits in `half` meanwhile. */
export interface StreamedWeight extends Weight {
  dtype: Dtype;
  half: Uint16Array | null;
}

export interface LoadedModel {
  config: ModelConfig;
  weights: Map<string, Weight>;
  tokenizer: Tokenizer;
  /** The model's own chat template; null when tokenizer_config.json has none (use ChatTemplate.plain). */
  chatTemplate: ChatTemplate | null;
  generationConfig: unknown | null;
}

async function readJson(files: ModelFiles, path: string): Promise<unknown> {
  const bytes = await files.read(path);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${files.name}/${path}: not valid JSON (${(e as Error).message})`);
  }
}

function has(files: ModelFiles, path: string): boolean {
  return files.list().includes(path);
}

export { configFromHf, expectedWeights } from '../model/arch';

/** Every weight's shape by name, as a loaded Map holds them, from the config alone (checks that need no data). */
export function weightShapes(config: ModelConfig): Map<string, { shape: number[] }> {
  return new Map([...expectedWeights(config)].map(([name, shape]) => [name, { shape }]));
}

/** Tensor bytes of the checkpoint read so far, of all its files' total; reported after each tensor. */
export type LoadProgress = (p: { loaded: number; total: number }) => void;

/** The checkpoint opened for streaming: names and shapes known, data read on demand (openWeights). */
interface WeightStream {
  /** Every tensor by normalised name with its header shape and dtype and no data: what a model allocates before the data arrive. */
  shapes: Map<string, { shape: number[]; dtype: Dtype; data: null }>;
  /**
   * Reads the tensors one at a time in file order, handing each to `use` before the next is read (upload it and
   * drop it: the host then never holds more than one tensor; 16-bit ones need never be widened), then closes the files.
   */
  read(use: (name: string, weight: StreamedWeight) => void, onProgress?: LoadProgress): Promise<void>;
  /** Closes the files without reading (after `read`, nothing to do). */
  close(): Promise<void>;
}

/**
 * Opens the checkpoint (single file, or index + shards; src/io/checkpoint.ts) and checks every name and shape
 * the architecture needs from the headers, before any data is read: a wrong config fails at once.
 */
export async function openWeights(files: ModelFiles, config: ModelConfig): Promise<WeightStream> {
  const source = await openCheckpoint(files);
  const found = new Map<string, CheckpointTensor>();
  const { normaliseName } = descriptorOf(config);
  try {
    for (const t of source.tensors.values()) {
      const name = normaliseName(t.name);
      if (name === null) continue;
      const other = found.get(name);
      if (other) throw new SafetensorsError(`${files.name}/${t.shard}`, `tensor "${t.name}" also appears in ${other.shard}`);
      found.set(name, t);
    }
    const expected = expectedWeights(config);
    for (const [name, t] of found) {
      if (!expected.has(name)) {
        throw new Error(`${files.name}/${t.shard}: tensor ${name} is not part of a ${config.modelType} model as the studio reads it (another architecture, or a feature it does not implement); refusing rather than ignoring it`);
      }
    }
    for (const [name, shape] of expected) {
      const t = found.get(name);
      if (!t) throw new Error(`${files.name}/${source.where}: missing tensor ${name}`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`${files.name}/${t.shard}: tensor ${name} has shape [${t.shape.join(', ')}], config.json implies [${shape.join(', ')}]`);
      }
    }
  } catch (e) {
    await source.close();
    throw e;
  }
  return {
    shapes: new Map([...found].map(([name, t]) => [name, { shape: [...t.shape], dtype: t.dtype, data: null }])),
    read: async (use, onProgress) => {
      try {
        const total = [...found.values()].reduce((n, t) => n + t.byteLength, 0);
        let loaded = 0;
        onProgress?.({ loaded, total });
        for (const [name, t] of found) {
          const w = streamed(await source.read(t.name));
          // NaN/Inf weights are refused before they reach a model.
          if (w.half) assertFiniteHalf(w.half, w.dtype as 'F16' | 'BF16', files.name, name);
          else assertFinite(w.data, files.name, name);
          use(name, w);
          loaded += t.byteLength;
          onProgress?.({ loaded, total });
        }
      } finally {
        await source.close();
      }
    },
    close: () => source.close(),
  };
}

function streamed(t: ReadTensor): StreamedWeight {
  let data: Float32Array | null = null;
  return { shape: t.shape, dtype: t.dtype, half: t.half, get data() { return (data ??= t.f32()); } };
}

/** Every tensor of the checkpoint as f32 by normalised name (openWeights, kept in a Map). */
async function loadWeights(files: ModelFiles, config: ModelConfig, onProgress?: LoadProgress): Promise<Map<string, Weight>> {
  const weights = new Map<string, Weight>();
  await (await openWeights(files, config)).read((name, w) => weights.set(name, { shape: w.shape, data: w.data }), onProgress);
  return weights;
}

/**
 * The chat template: tokenizer_config.json's `chat_template`, else (newer transformers save it apart)
 * chat_template.jinja or chat_template.json's `chat_template`; null when there is none.
 */
async function loadChatTemplate(files: ModelFiles, tokenizerConfig: Record<string, unknown>): Promise<ChatTemplate | null> {
  if (ChatTemplate.hasTemplate(tokenizerConfig)) return ChatTemplate.fromTokenizerConfig(tokenizerConfig);
  let source: unknown = null;
  if (has(files, 'chat_template.jinja')) source = new TextDecoder().decode(await files.read('chat_template.jinja'));
  else if (has(files, 'chat_template.json')) source = (await readJson(files, 'chat_template.json') as { chat_template?: unknown } | null)?.chat_template ?? null;
  const config = { ...tokenizerConfig, chat_template: source };
  return ChatTemplate.hasTemplate(config) ? ChatTemplate.fromTokenizerConfig(config) : null;
}

/** A model without its weights: what openWeights streams onto the GPU (src/io/load.ts) goes with it. */
export type ModelMeta = Omit<LoadedModel, 'weights'>;

/** A model's metadata with its files, from which its weights stream when a Transformer is built (loadTransformer). */
export type ModelWithFiles = ModelMeta & { files: ModelFiles };

/** config.json, tokenizer, chat template and generation config; the checkpoint's data is not read. */
export async function loadHfModelMeta(files: ModelFiles): Promise<ModelMeta> {
  if (!has(files, 'config.json')) throw missingFile(files, 'config.json');
  const config = configFromHf(await readJson(files, 'config.json'), `${files.name}/config.json`);
  validateModelConfig(config, `${files.name}/config.json`);
  if (!has(files, 'tokenizer.json')) throw missingFile(files, 'tokenizer.json (only fast-tokenizer files are supported)');
  const tokenizerJson = await readJson(files, 'tokenizer.json');
  const tokenizerConfig = has(files, 'tokenizer_config.json') ? await readJson(files, 'tokenizer_config.json') : {};
  const tokenizer = await loadTokenizer(tokenizerJson, tokenizerConfig);
  // Special added tokens past the embedding are allowed (Gemma 3 1B's <image_soft_token> is id 262144 of a 262144-row
  // table: the text model never sees it); any other token past it would index nothing.
  const beyond = ((tokenizerJson as { added_tokens?: { id: number; special?: boolean }[] }).added_tokens ?? [])
    .filter((t) => t.id >= config.vocabSize && t.special === true).length;
  if (tokenizer.vocabSize - beyond > config.vocabSize) {
    throw new Error(`${files.name}: tokenizer.json has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}`);
  }
  const chatTemplate = await loadChatTemplate(files, tokenizerConfig as Record<string, unknown>);
  const generationConfig = has(files, 'generation_config.json') ? await readJson(files, 'generation_config.json') : null;
  return { config, tokenizer, chatTemplate, generationConfig };
}

/** The model with every weight as f32 in host memory (loadHfModelMeta + loadWeights). */
export async function loadHfModel(files: ModelFiles, onProgress?: LoadProgress): Promise<LoadedModel> {
  const meta = await loadHfModelMeta(files);
  return { ...meta, weights: await loadWeights(files, meta.config, onProgress) };
}

/** The template conversations are rendered with: the model's own, else a plain one ending turns with its EOS. */
export function templateOf(m: Pick<LoadedModel, 'tokenizer' | 'chatTemplate'>): ChatTemplate {
  const eos = m.tokenizer.eosTokenId;
  return m.chatTemplate ?? ChatTemplate.plain(eos === null ? null : (m.tokenizer.idToToken(eos) ?? null));
}

/**
 * The token ids that end generation: config.json's and generation_config.json's eos_token_id (a number or a
 * list), the tokenizer's EOS, and the chat template's end-of-turn token (Llama 3's <|eot_id|> is not its
 * EOS). Sorted, without duplicates.
 */
export function stopTokenIds(model: Pick<LoadedModel, 'config' | 'tokenizer' | 'chatTemplate' | 'generationConfig'>): number[] {
  const ids = new Set<number>();
  const add = (v: unknown): void => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) ids.add(v);
    else if (Array.isArray(v)) v.forEach(add);
  };
  add(model.config.eosTokenId);
  add((model.generationConfig as { eos_token_id?: unknown } | null)?.eos_token_id);
  add(model.tokenizer.eosTokenId);
  if (model.chatTemplate && model.chatTemplate.endOfTurn !== '') add(model.tokenizer.tokenToId(model.chatTemplate.endOfTurn));
  return [...ids].sort((a, b) => a - b);
}

// ---- memory estimate ----

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

export { parameterCount } from '../model/arch';

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
