// Merged model export: the LoRA folded into the base weights, written as a Hugging Face model folder
// (name → bytes) that transformers and this studio's loadHfModel both load.
// The fold is src/model/merge.ts (float64 products, W' rounded once to f32), then f16/bf16 (round to nearest even)
// when asked. Files: model.safetensors (or an index + shards), config.json (the source's, torch_dtype set),
// the source's tokenizer files and generation_config.json (one derived from config.json when it has none).
// Tensor names are Hugging Face's: Llama/Qwen2 as in the source, GPT-2 with the 'transformer.' prefix that
// GPT2LMHeadModel.save_pretrained writes (loadHfModel reads both spellings). Only parameters the model uses
// are written (a GPT-2 checkpoint's attn.bias mask buffers are not parameters).
// Not here: zipping (zip.ts), the model card (card.ts), checking the export (the tests).
import type { ModelFiles } from '../io/model-files';
import { writeSafetensors, writeShardedSafetensors, type WriteDtype, type WriteTensor } from '../io/safetensors';
import { mergedWeights } from '../model/merge';
import type { Transformer } from '../model/transformer';

export type ExportFiles = Map<string, Uint8Array>;

interface MergedOptions {
  /** Weight dtype of the safetensors (default F32). */
  dtype?: WriteDtype;
  /** Split into `model-0000k-of-0000n.safetensors` shards of at most this many bytes, with an index. */
  maxShardBytes?: number;
}

/** Tokenizer and chat files copied from the source folder when present. */
const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json',
  'vocab.json', 'merges.txt', 'tokenizer.model', 'chat_template.jinja', 'chat_template.json',
];

const TORCH_DTYPE: Record<WriteDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

async function readJsonFile(files: ModelFiles, path: string): Promise<Record<string, unknown>> {
  const text = new TextDecoder().decode(await files.read(path));
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch { /* reported below */ }
  throw new Error(`${files.name}/${path}: not a JSON object`);
}

const jsonBytes = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);

/**
 * The merged model as a Hugging Face folder. `source` is the base model's folder (config, tokenizer and
 * generation config are taken from it; its weights are not read: the model on the GPU is the truth).
 */
export async function exportMergedModel(model: Transformer, source: ModelFiles, opts: MergedOptions = {}): Promise<ExportFiles> {
  const dtype = opts.dtype ?? 'F32';
  const present = new Set(source.list());
  if (!present.has('config.json')) throw new Error(`${source.name}: missing file config.json (needed for the merged model's config)`);
  const config = await readJsonFile(source, 'config.json');
  if (config.model_type !== model.config.modelType) {
    throw new Error(`${source.name}/config.json: model_type ${String(config.model_type)} is not the loaded model's ${model.config.modelType}`);
  }
  const weights = await mergedWeights(model);
  const tensors: WriteTensor[] = [...weights].map(([name, w]) => ({ name, shape: w.shape, data: w.data }));
  const files: ExportFiles = new Map();
  if (opts.maxShardBytes !== undefined) {
    for (const [name, bytes] of writeShardedSafetensors(tensors, opts.maxShardBytes, { dtype })) files.set(name, bytes);
  } else {
    files.set('model.safetensors', writeSafetensors(tensors, { dtype, metadata: { format: 'pt' } }));
  }
  files.set('config.json', jsonBytes({ ...config, torch_dtype: TORCH_DTYPE[dtype] }));
  if (present.has('generation_config.json')) {
    files.set('generation_config.json', await source.read('generation_config.json'));
  } else {
    const gen: Record<string, unknown> = {};
    for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id']) if (config[key] != null) gen[key] = config[key];
    files.set('generation_config.json', jsonBytes(gen));
  }
  for (const name of TOKENIZER_FILES) if (present.has(name)) files.set(name, await source.read(name));
  return files;
}
