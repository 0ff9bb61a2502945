// Load a Hugging Face model folder: config.json → ModelConfig, safetensors weights (single file or sharded
// index + shards; F32/F16/BF16) → Float32Array by HF name, tokenizer.json + tokenizer_config.json →
// Tokenizer and ChatTemplate (or chat_template.jinja / chat_template.json, where newer transformers put it),
// generation_config.json when present. Plus the stop tokens, a memory estimate for the GPU and the verdict
// that compares it with what the device could give (a measured MemoryBudget: src/gpu/runtime.ts probeMemory).
//
// Contract:
//  - Supported model_type: llama, mistral, qwen2 (architecture 'llama') and gpt2. Anything else fails with
//    "unsupported architecture X". Config features that would change the maths but that ModelConfig cannot
//    express (rope_scaling other than none/default/linear/llama3, hidden_act other than silu/GELU-tanh, a Llama o_proj bias
//    without MLP bias) fail too, rather than load a model that computes something else. Sliding-window
//    attention (Mistral, Qwen2) is ignored: it only matters past the window (4096+ tokens).
//  - Every tensor the architecture needs is present with the shape the config implies, or loading fails
//    naming the file and the tensor. GPT-2 names are normalised to the 'transformer.' prefix, and GPT-2's
//    non-parameter buffers (attn.bias, attn.masked_bias) are dropped. Extra tensors are kept.
//  - A failure throws before anything is returned: nothing half-loaded is handed out.
// Not here: GPU upload (src/model), downloads and caching (later: they produce a ModelFiles).
import { mib, type MemoryBudget } from '../gpu/runtime';
import type { ModelConfig, RopeScaling } from '../model/config';
import { ChatTemplate } from '../tokenize/chat';
import { loadTokenizer, type Tokenizer } from '../tokenize/tokenizer';
import { missingFile, type ModelFiles } from './model-files';
import { parseSafetensors, parseShardIndex, readTensorF32, SafetensorsError } from './safetensors';
import { assertFinite, validateModelConfig } from './validate';

export type { ModelFiles } from './model-files';

export interface Weight {
  shape: number[];
  data: Float32Array;
}

export interface LoadedModel {
  config: ModelConfig;
  weights: Map<string, Weight>;
  tokenizer: Tokenizer;
  /** The model's own chat template; null when tokenizer_config.json has none (use ChatTemplate.plain). */
  chatTemplate: ChatTemplate | null;
  generationConfig: unknown | null;
}

const LLAMA_TYPES = new Set(['llama', 'mistral', 'qwen2']);

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

/** Map a parsed config.json to ModelConfig (see the file header for what is refused). */
export function configFromHf(json: unknown, fileName = 'config.json'): ModelConfig {
  if (!json || typeof json !== 'object') throw new Error(`${fileName}: not a JSON object`);
  const c = json as Record<string, unknown>;
  const modelType = c.model_type;
  if (typeof modelType !== 'string') throw new Error(`${fileName}: no model_type`);
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${fileName}: ${key} must be a positive integer (got ${JSON.stringify(c[key])})`);
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${fileName}: ${key} must be a number (got ${JSON.stringify(c[key])})`);
    return v;
  };
  const tokenId = (key: string): number | null => (typeof c[key] === 'number' ? (c[key] as number) : null);
  const eos = Array.isArray(c.eos_token_id) ? (c.eos_token_id as number[]) : tokenId('eos_token_id');

  if (modelType === 'gpt2') {
    const act = c.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') throw new Error(`${fileName}: GPT-2 activation_function ${JSON.stringify(act)} is not supported (only gelu_new, the tanh GELU)`);
    const hiddenSize = int('n_embd'), numHeads = int('n_head');
    if (hiddenSize % numHeads !== 0) throw new Error(`${fileName}: n_embd ${hiddenSize} is not divisible by n_head ${numHeads}`);
    return {
      architecture: 'gpt2', modelType,
      vocabSize: int('vocab_size'), hiddenSize, intermediateSize: c.n_inner == null ? 4 * hiddenSize : int('n_inner'),
      numLayers: int('n_layer'), numHeads, numKvHeads: numHeads, headDim: hiddenSize / numHeads,
      maxPositions: int('n_positions', c.n_ctx as number | undefined), normEps: num('layer_norm_epsilon', 1e-5),
      ropeTheta: 0, attentionBias: true, mlpBias: true, tieWordEmbeddings: c.tie_word_embeddings !== false,
      bosTokenId: tokenId('bos_token_id'), eosTokenId: eos,
    };
  }
  if (!LLAMA_TYPES.has(modelType)) throw new Error(`${fileName}: unsupported architecture ${modelType} (supported: llama, mistral, qwen2, gpt2)`);
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new Error(`${fileName}: hidden_act ${JSON.stringify(act)} is not supported (only silu)`);
  const ropeScaling = ropeScalingFromHf(c.rope_scaling, fileName);
  const hiddenSize = int('hidden_size'), numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) throw new Error(`${fileName}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  if (c.head_dim == null && hiddenSize % numHeads !== 0) throw new Error(`${fileName}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  // HF llama's attention_bias puts a bias on q, k, v AND o; Qwen2 has q/k/v biases only, always.
  const llamaAttnBias = modelType !== 'qwen2' && c.attention_bias === true;
  const mlpBias = c.mlp_bias === true;
  if (llamaAttnBias && !mlpBias) throw new Error(`${fileName}: attention_bias without mlp_bias (an o_proj bias alone) is not supported`);
  return {
    architecture: 'llama', modelType,
    vocabSize: int('vocab_size'), hiddenSize, intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'), numHeads, numKvHeads,
    headDim: c.head_dim == null ? hiddenSize / numHeads : int('head_dim'),
    maxPositions: int('max_position_embeddings', 2048), normEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000), ropeScaling,
    attentionBias: modelType === 'qwen2' || llamaAttnBias, mlpBias,
    // transformers' LlamaConfig/MistralConfig/Qwen2Config default to untied embeddings.
    tieWordEmbeddings: c.tie_word_embeddings === true,
    bosTokenId: tokenId('bos_token_id'), eosTokenId: eos,
  };
}

/** config.json's rope_scaling → RopeScaling: none/default, linear and llama3; others are refused. */
function ropeScalingFromHf(value: unknown, fileName: string): RopeScaling | null {
  if (value == null) return null;
  const s = value as Record<string, unknown>;
  const type = (s.rope_type ?? s.type) as string | undefined;
  const n = (key: string, fallback?: number): number => {
    const v = s[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${fileName}: rope_scaling.${key} must be a positive number`);
    return v;
  };
  if (!type || type === 'default') return null;
  if (type === 'linear') return { type, factor: n('factor') };
  if (type === 'llama3') {
    return { type, factor: n('factor'), lowFreqFactor: n('low_freq_factor'), highFreqFactor: n('high_freq_factor'), originalMaxPositions: n('original_max_position_embeddings') };
  }
  throw new Error(`${fileName}: rope_scaling type ${type} is not supported (supported: linear, llama3)`);
}

/** Every parameter tensor the architecture needs, with the shape the config implies. */
export function expectedWeights(config: ModelConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const { hiddenSize: H, intermediateSize: I, vocabSize: V, numHeads, numKvHeads, headDim } = config;
  if (config.architecture === 'gpt2') {
    out.set('transformer.wte.weight', [V, H]);
    out.set('transformer.wpe.weight', [config.maxPositions, H]);
    for (let l = 0; l < config.numLayers; l++) {
      const p = `transformer.h.${l}.`;
      for (const ln of ['ln_1', 'ln_2']) { out.set(`${p}${ln}.weight`, [H]); out.set(`${p}${ln}.bias`, [H]); }
      // Conv1D weights are stored [in, out].
      out.set(`${p}attn.c_attn.weight`, [H, 3 * H]); out.set(`${p}attn.c_attn.bias`, [3 * H]);
      out.set(`${p}attn.c_proj.weight`, [H, H]); out.set(`${p}attn.c_proj.bias`, [H]);
      out.set(`${p}mlp.c_fc.weight`, [H, I]); out.set(`${p}mlp.c_fc.bias`, [I]);
      out.set(`${p}mlp.c_proj.weight`, [I, H]); out.set(`${p}mlp.c_proj.bias`, [H]);
    }
    out.set('transformer.ln_f.weight', [H]); out.set('transformer.ln_f.bias', [H]);
    if (!config.tieWordEmbeddings) out.set('lm_head.weight', [V, H]);
    return out;
  }
  out.set('model.embed_tokens.weight', [V, H]);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}.`;
    out.set(`${p}input_layernorm.weight`, [H]);
    out.set(`${p}post_attention_layernorm.weight`, [H]);
    const projections: [string, number, number][] = [
      ['self_attn.q_proj', numHeads * headDim, H], ['self_attn.k_proj', numKvHeads * headDim, H],
      ['self_attn.v_proj', numKvHeads * headDim, H], ['self_attn.o_proj', H, numHeads * headDim],
      ['mlp.gate_proj', I, H], ['mlp.up_proj', I, H], ['mlp.down_proj', H, I],
    ];
    for (const [name, outDim, inDim] of projections) {
      out.set(`${p}${name}.weight`, [outDim, inDim]);
      const isQkv = name === 'self_attn.q_proj' || name === 'self_attn.k_proj' || name === 'self_attn.v_proj';
      if (isQkv ? config.attentionBias : config.mlpBias) out.set(`${p}${name}.bias`, [outDim]);
    }
  }
  out.set('model.norm.weight', [H]);
  if (!config.tieWordEmbeddings) out.set('lm_head.weight', [V, H]);
  return out;
}

/** GPT-2 checkpoints name tensors 'h.0...' (base model) or 'transformer.h.0...' (LM head model). */
function normaliseName(config: ModelConfig, name: string): string | null {
  if (config.architecture !== 'gpt2') return name;
  if (/\.attn\.(bias|masked_bias)$/.test(name)) return null; // causal-mask buffers, not parameters
  if (name === 'lm_head.weight' || name.startsWith('transformer.')) return name;
  return `transformer.${name}`;
}

/** Read every tensor of the checkpoint (single file, or index + shards) as f32, by normalised name. */
export async function loadWeights(files: ModelFiles, config: ModelConfig): Promise<Map<string, Weight>> {
  const weights = new Map<string, Weight>();
  const origin = new Map<string, string>();
  let shardNames: string[];
  let indexName: string | null = null;
  let indexMap: Map<string, string> | null = null;
  if (has(files, 'model.safetensors')) {
    shardNames = ['model.safetensors'];
  } else if (has(files, 'model.safetensors.index.json')) {
    indexName = 'model.safetensors.index.json';
    const index = parseShardIndex(new TextDecoder().decode(await files.read(indexName)), `${files.name}/${indexName}`);
    indexMap = index.weightMap;
    shardNames = [...new Set(index.weightMap.values())];
    for (const shard of shardNames) if (!has(files, shard)) throw new Error(`${files.name}: missing file ${shard} (listed in ${indexName})`);
  } else {
    throw new Error(`${files.name}: no weights: neither model.safetensors nor model.safetensors.index.json (only safetensors checkpoints are supported)`);
  }
  for (const shard of shardNames) {
    const file = parseSafetensors(await files.read(shard), `${files.name}/${shard}`);
    for (const info of file.tensors.values()) {
      if (indexMap && indexMap.get(info.name) !== shard) {
        throw new SafetensorsError(file.name, `tensor "${info.name}" is not listed for this shard in ${indexName}`);
      }
      const name = normaliseName(config, info.name);
      if (name === null) continue;
      if (weights.has(name)) throw new SafetensorsError(file.name, `tensor "${info.name}" also appears in ${origin.get(name)}`);
      weights.set(name, readTensorF32(file, info.name));
      origin.set(name, shard);
    }
  }
  if (indexMap) {
    for (const [tensor, shard] of indexMap) {
      if (!origin.has(normaliseName(config, tensor) ?? tensor) && normaliseName(config, tensor) !== null) {
        throw new SafetensorsError(`${files.name}/${shard}`, `tensor "${tensor}" listed in ${indexName} is missing`);
      }
    }
  }
  const where = indexName ?? 'model.safetensors';
  for (const [name, shape] of expectedWeights(config)) {
    const w = weights.get(name);
    if (!w) throw new Error(`${files.name}/${where}: missing tensor ${name}`);
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${files.name}/${origin.get(name)}: tensor ${name} has shape [${w.shape.join(', ')}], config.json implies [${shape.join(', ')}]`);
    }
  }
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

export async function loadHfModel(files: ModelFiles): Promise<LoadedModel> {
  if (!has(files, 'config.json')) throw missingFile(files, 'config.json');
  const config = configFromHf(await readJson(files, 'config.json'), `${files.name}/config.json`);
  validateModelConfig(config, `${files.name}/config.json`);
  if (!has(files, 'tokenizer.json')) throw missingFile(files, 'tokenizer.json (only fast-tokenizer files are supported)');
  const tokenizerJson = await readJson(files, 'tokenizer.json');
  const tokenizerConfig = has(files, 'tokenizer_config.json') ? await readJson(files, 'tokenizer_config.json') : {};
  const tokenizer = await loadTokenizer(tokenizerJson, tokenizerConfig);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(`${files.name}: tokenizer.json has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}`);
  }
  const chatTemplate = await loadChatTemplate(files, tokenizerConfig as Record<string, unknown>);
  const generationConfig = has(files, 'generation_config.json') ? await readJson(files, 'generation_config.json') : null;
  const weights = await loadWeights(files, config);
  for (const [name, w] of weights) assertFinite(w.data, files.name, name);
  return { config, weights, tokenizer, chatTemplate, generationConfig };
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
  /** Base weights as f32. */
  weightsBytes: number;
  /** KV cache for batchTokens positions (inference). */
  kvCacheBytes: number;
  /** LoRA parameters, their gradients and two Adam moments (training). */
  loraBytes: number;
  /** Activations kept for backward, plus their gradients' working set (training). */
  activationBytes: number;
  /** Logits and their gradient for batchTokens rows. */
  logitsBytes: number;
  inferenceBytes: number;
  trainingBytes: number;
  /** The largest single buffer (compare with the adapter's maxStorageBufferBindingSize; larger ones are split). */
  largestBufferBytes: number;
}

export function parameterCount(config: ModelConfig): number {
  let n = 0;
  for (const shape of expectedWeights(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** [in, out] features of each linear LoRA can target, by the short names targetableModules lists. */
function linearShapes(config: ModelConfig): Record<string, [number, number]> {
  const { hiddenSize: H, intermediateSize: I } = config;
  const q = config.numHeads * config.headDim, kv = config.numKvHeads * config.headDim;
  return config.architecture === 'gpt2'
    ? { c_attn: [H, 3 * H], 'attn.c_proj': [H, H], c_fc: [H, I], 'mlp.c_proj': [I, H] }
    : { q_proj: [H, q], k_proj: [H, kv], v_proj: [H, kv], o_proj: [q, H], gate_proj: [H, I], up_proj: [H, I], down_proj: [I, H] };
}

/** LoRA on q/k/v/o (c_attn, attn.c_proj for GPT-2) without dropout, when an estimate is not told the run's. */
function defaultLoraTargets(config: ModelConfig): string[] {
  return config.architecture === 'gpt2' ? ['c_attn', 'attn.c_proj'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
}

/**
 * Bytes of GPU memory, approximately and on the high side (f32 everywhere, attention not materialising T×T
 * scores; tests/node/memory-estimate.test.ts holds it between 1× and 1.5× of what the engine allocates).
 * `batchTokens` = sequences × tokens per sequence of one step. `lora`: the run's targets and dropout
 * (default: q/k/v/o, no dropout).
 */
export function estimateMemory(
  config: ModelConfig,
  opts: { training: boolean; loraRank: number; batchTokens: number; lora?: { targetModules: string[]; dropout: number } },
): MemoryEstimate & { bytes: number } {
  const F = 4;
  const { hiddenSize: H, intermediateSize: I, vocabSize: V, numLayers: L, numHeads, numKvHeads, headDim } = config;
  const T = opts.batchTokens;
  const r = opts.loraRank;
  const weightsBytes = parameterCount(config) * F;
  const kvCacheBytes = 2 * L * numKvHeads * headDim * T * F;
  const qDim = numHeads * headDim, kvDim = numKvHeads * headDim;
  const shapes = linearShapes(config);
  const targets = (opts.lora?.targetModules ?? defaultLoraTargets(config)).map((t) => shapes[t]).filter((s) => s !== undefined);
  const dropout = (opts.lora?.dropout ?? 0) > 0;
  // LoRA A [r, in] and B [out, r] per targeted linear; ×5 for value, gradient, Adam m and v, decay mask.
  const loraParams = L * targets.reduce((n, [inF, outF]) => n + r * (inF + outF), 0);
  const loraBytes = loraParams * F * 5;
  // Per layer per token, saved for backward: 2 norm inputs, q, k, v, attention output, o output,
  // gate, up, activation product (llama) — about 4H + 2kv + 3I floats; plus per-row statistics; and per
  // targeted linear its LoRA u = x A^T (r) and, with dropout, its dropped-out input (in).
  const loraSaved = targets.reduce((n, [inF]) => n + r + (dropout ? inF : 0), 0);
  const savedPerToken = L * (4 * H + 2 * kvDim + qDim + 3 * I + 2 * numHeads + loraSaved);
  // Working set of one layer's backward (gradients of the same tensors) and the residual stream; with
  // dropout, the LoRA input gradient goes through its own two buffers.
  const widestInput = Math.max(0, ...targets.map(([inF]) => inF));
  const workPerToken = 2 * (4 * H + 2 * kvDim + qDim + 3 * I) + (dropout ? 2 * widestInput : 0);
  const activationBytes = T * (savedPerToken + workPerToken) * F;
  const logitsBytes = 2 * T * V * F;
  // One layer's forward working set per token, all alive at its end (pooled buffers are reused layer to
  // layer, not across sizes): the residual in and out, both norm outputs, o, x2 and the MLP output (7H); q,
  // its rotated copy and the attention output (3q); k, its rotated copy and v (3kv); gate, up and their
  // product (3I); per-head statistics. Then the logits.
  const inferenceBytes = weightsBytes + kvCacheBytes + T * (7 * H + 3 * qDim + 3 * kvDim + 3 * I + 2 * numHeads) * F + T * V * F;
  const trainingBytes = weightsBytes + loraBytes + activationBytes + logitsBytes;
  let largest = T * V * F;
  for (const shape of expectedWeights(config).values()) largest = Math.max(largest, shape.reduce((a, b) => a * b, 1) * F);
  const estimate = { weightsBytes, kvCacheBytes, loraBytes, activationBytes, logitsBytes, inferenceBytes, trainingBytes, largestBufferBytes: largest };
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
