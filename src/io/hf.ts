// Load a Hugging Face model folder: config.json → ModelConfig, safetensors weights (single file or sharded
// index + shards; F32/F16/BF16) → Float32Array by HF name, tokenizer.json + tokenizer_config.json →
// Tokenizer and ChatTemplate (or chat_template.jinja / chat_template.json, where newer transformers put it),
// generation_config.json when present. Plus the stop tokens and the parameter count.
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
// Not here: GPU upload (src/io/load.ts), the memory estimate (src/model/memory-estimate.ts), downloads and caching
// (they produce a ModelFiles).
import { configFromHf, descriptorOf, expectedWeights } from '../model/arch';
import type { ModelConfig } from '../model/config';
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

export { parameterCount } from '../model/arch';
