// A whole model as one GGUF file that llama.cpp (llama-cli, llama-server), Ollama and LM Studio run: the weights
// (LoRA folded in, or the base alone), the hyper-parameters, the tokenizer and the chat template, as
// convert_hf_to_gguf.py writes them. Family facts (names, key prefixes, permutation, transposition, computed keys
// such as Gemma 3's sliding period, and refusals of configs llama.cpp would run wrong) come from gguf-arch.ts;
// the container and tensor encodings from gguf.ts and kquants.ts.
//
// Tensors: every 2-D weight in the asked dtype (F16, Q8_0, F32; Q8_0 falls back to F16 for rows that are not
// whole 32-blocks, as the converter does), 1-D norms and biases in F32 (llama.cpp's kernels want them so).
// Q4_K_M is llama-quantize's mix over the F16 file (q4kmTypes): the same tensor types and bytes.
// Tied embeddings write no output.weight (llama.cpp reuses token_embd). Llama 3 RoPE scaling becomes the
// rope_freqs.weight factors; linear scaling becomes rope.scaling.{type,factor}.
//
// Tokenizer: tokenizer.ggml.tokens in id order padded to the config's vocab_size, token types, bos/eos/eot/unknown/
// padding ids, add_bos_token as tokenizer.json's post-processor does, and tokenizer.chat_template: the template
// the studio renders with (the plain fallback for a model without one), so llama.cpp prompts as the studio does.
//  - byte-level BPE: llama.cpp's "gpt2" model with the merges and the pre-tokenizer name llama.cpp keys its regex
//    on (recognised from tokenizer.json's split regex: llama-bpe, qwen2, gpt-2; anything else is refused rather
//    than tokenised wrong);
//  - SentencePiece-style BPE (Gemma: byte fallback, spaces as ▁): llama.cpp's SentencePiece "llama" model with
//    piece scores derived from the merges (ggufVocab), as Gemma's own GGUFs carry it.
// llama.cpp ends generation on eos, eot and its own list of end tokens (<|im_end|>, <|endoftext|>, <|eot_id|>,
// <end_of_turn>, ...); tests/node/gguf-llama.test.ts checks that this covers every id the studio stops on.
// Not here: other k-quant mixes (Q5_K_M, Q4_K_S, ...; GPT-2's Q4_K_M, whose fused attn_qkv takes Q5_K),
// importance matrices, Llama 2-style SentencePiece files (a ▁ prepended), the Modelfile's template (modelfile.ts).
import { stopTokenIds, templateOf, type LoadedModel } from '../io/hf';
import type { ModelFiles } from '../io/model-files';
import { recipeOf } from '../model/arch';
import type { Transformer } from '../model/transformer';
import { f16ToF32, f32ToF16 } from '../ops/half';
import { exportGgufLora, GGUF_FILE_TYPE, permuteRopeRows, writeGguf, Q8_0_BLOCK, type GgufDtype, type GgufTensor, type GgufValue } from './gguf';
import { ggufArch, ggufParamName, type GgufArch } from './gguf-arch';
import { QK_K } from './kquants';
import { mergedWeights } from '../model/merge';
import type { ExportFiles } from './merged';
import { ollamaModelfile } from './modelfile';

export type GgufModelDtype = 'F32' | 'F16' | 'Q8_0' | 'Q4_K_M';
export type TokenizerInfo = Pick<LoadedModel, 'config' | 'tokenizer' | 'chatTemplate' | 'generationConfig'>;

interface GgufModelOptions {
  dtype?: GgufModelDtype;
  /** Fold the LoRA into the weights (default true); false writes the base model (for base + GGUF LoRA). */
  fold?: boolean;
  name?: string;
}

// llama_token_type
const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** llama.cpp's pre-tokenizer names (llama-vocab.cpp) for the split regexes of the tokenizers we recognise. */
const PRE_TOKENIZERS: [regex: string, name: string][] = [
  ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 'llama-bpe'],
  ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 'qwen2'],
];

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[]; byte_fallback?: boolean; unk_token?: string | null };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
}

/** Every object nested in a JSON value (itself first). */
function* objects(v: unknown): Generator<Record<string, unknown>> {
  if (!v || typeof v !== 'object') return;
  if (!Array.isArray(v)) yield v as Record<string, unknown>;
  for (const x of Object.values(v)) yield* objects(x);
}

/** The pre-tokenizer name llama.cpp needs for this tokenizer.json (its split regex, or GPT-2's byte-level one). */
function preTokenizerName(tok: TokenizerJson): string {
  const regexes = [...objects(tok.pre_tokenizer)].flatMap((o) => (o.type === 'Split' && typeof (o.pattern as { Regex?: unknown })?.Regex === 'string' ? [(o.pattern as { Regex: string }).Regex] : []));
  if (regexes.length === 1) {
    const known = PRE_TOKENIZERS.find(([r]) => r === regexes[0]);
    if (known) return known[1];
    throw new Error(`GGUF export: llama.cpp has no pre-tokenizer for the split regex ${JSON.stringify(regexes[0]).slice(0, 120)}`);
  }
  const byteLevel = [...objects(tok.pre_tokenizer)].find((o) => o.type === 'ByteLevel');
  if (regexes.length === 0 && byteLevel && byteLevel.use_regex !== false) return 'gpt-2';
  throw new Error('GGUF export: tokenizer.json has a pre-tokenizer llama.cpp does not recognise (byte-level BPE with the GPT-2, Llama 3 or Qwen2 split, or SentencePiece-style BPE as Gemma\'s, is supported)');
}

/**
 * SentencePiece-style BPE (Gemma's tokenizer.json: byte fallback, the normalizer turns spaces into ▁, no dummy
 * prefix, no pre-split). Llama 2-style files that prepend ▁ are not recognised.
 */
function isSentencePieceBpe(tok: TokenizerJson): boolean {
  const norms = [...objects(tok.normalizer)];
  const spaces = norms.some((o) => o.type === 'Replace' && (o.pattern as { String?: unknown })?.String === ' ' && o.content === '\u2581');
  const prepends = norms.some((o) => o.type === 'Prepend') || [...objects(tok.pre_tokenizer)].some((o) => o.type === 'Metaspace');
  return tok.model?.byte_fallback === true && spaces && !prepends;
}

/** tokenizer.json's post-processor puts a special token first (HF adds BOS on encode; llama.cpp's add_bos_token). */
function addsBos(tok: TokenizerJson): boolean {
  return [...objects(tok.post_processor)].some((o) => o.type === 'TemplateProcessing' && Array.isArray(o.single) && !!(o.single[0] as { SpecialToken?: unknown })?.SpecialToken);
}

/** convert_hf_to_gguf.py's does_token_look_special: added tokens it makes CONTROL though not marked special. */
const looksSpecial = (t: string): boolean => ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t) || (t.startsWith('<|') && t.endsWith('|>')) || (t.startsWith('<unused') && t.endsWith('>'));

const mergePair = (m: string | [string, string]): [string, string] => (typeof m === 'string' ? [m.slice(0, m.indexOf(' ', 1)), m.slice(m.indexOf(' ', 1) + 1)] : m);

/**
 * The vocabulary by id, padded to the model's n rows with [PADn] (UNUSED); added tokens past n (a multimodal
 * checkpoint's image tokens, Gemma 3's <image_soft_token>: the text model has no row for them) are left out, as
 * the converter does. Byte-level BPE (tokenizer.ggml.model "gpt2", _set_vocab_gpt2): special added tokens
 * CONTROL, other added tokens USER_DEFINED, the rest NORMAL.
 * SentencePiece form (tokenizer.ggml.model "llama", as _create_vocab_sentencepiece writes it from tokenizer.model):
 * also <0xNN> BYTE and the unknown token UNKNOWN; added tokens CONTROL when special or looking special, else
 * USER_DEFINED with ▁ written as a space (llama.cpp matches them on the raw text), scored -1000. tokenizer.json
 * has merges, not piece scores; llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined piece
 * scores highest, so a piece scores minus the rank of the first merge that makes it (HF's converter ordered the
 * merges by those scores) and pieces no merge makes score below every merge. tests/node/gguf-llama.test.ts
 * checks that llama.cpp then tokenises as ours.
 */
function ggufVocab(tok: TokenizerJson, n: number, sentencePiece: boolean): { tokens: string[]; types: number[]; scores: Float32Array } {
  const vocab = tok.model!.vocab!;
  const merges = tok.model!.merges ?? [];
  const tokens: (string | undefined)[] = new Array(n);
  const types = new Array<number>(n).fill(TOKEN_TYPE.NORMAL);
  const scores = new Float32Array(n).fill(-(merges.length + 1));
  for (const [text, id] of Object.entries(vocab)) {
    if (id >= n) continue;
    tokens[id] = text;
    if (sentencePiece && /^<0x[0-9A-F]{2}>$/.test(text)) types[id] = TOKEN_TYPE.BYTE;
    if (sentencePiece && text === tok.model!.unk_token) types[id] = TOKEN_TYPE.UNKNOWN;
  }
  for (let rank = merges.length - 1; sentencePiece && rank >= 0; rank--) {
    const id = vocab[mergePair(merges[rank]).join('')];
    if (id !== undefined && id < n) scores[id] = -rank;
  }
  for (const t of tok.added_tokens ?? []) {
    if (t.id >= n) continue;
    const control = t.special || (sentencePiece && looksSpecial(t.content));
    tokens[t.id] = control || !sentencePiece ? t.content : t.content.replaceAll('\u2581', ' ');
    types[t.id] = control ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
    scores[t.id] = -1000;
  }
  for (let i = 0; i < n; i++) if (tokens[i] === undefined) { tokens[i] = `[PAD${i}]`; types[i] = TOKEN_TYPE.UNUSED; }
  return { tokens: tokens as string[], types, scores };
}

/** The tokenizer.* metadata of a BPE tokenizer (byte-level, or SentencePiece-style), for a model of `info.config.vocabSize` rows. */
function ggufTokenizerKv(tokenizerJson: unknown, info: TokenizerInfo): [string, GgufValue][] {
  const tok = tokenizerJson as TokenizerJson;
  if (tok.model?.type !== 'BPE' || !tok.model.vocab) throw new Error(`GGUF export: tokenizer model ${String(tok.model?.type)} is not supported (BPE only)`);
  const n = info.config.vocabSize;
  const kv: [string, GgufValue][] = [];
  const sentencePiece = isSentencePieceBpe(tok);
  const { tokens, types, scores } = ggufVocab(tok, n, sentencePiece);
  if (sentencePiece) {
    kv.push(
      ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
      ['tokenizer.ggml.pre', { type: 'string', value: 'default' }],
      ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
      ['tokenizer.ggml.scores', { type: 'f32[]', value: scores }],
      ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
      ['tokenizer.ggml.add_space_prefix', { type: 'bool', value: false }],
    );
  } else {
    kv.push(
      ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
      ['tokenizer.ggml.pre', { type: 'string', value: preTokenizerName(tok) }],
      ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
      ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
      ['tokenizer.ggml.merges', { type: 'string[]', value: (tok.model.merges ?? []).map((m) => mergePair(m).join(' ')) }],
    );
  }
  const firstEos = Array.isArray(info.config.eosTokenId) ? info.config.eosTokenId[0] : info.config.eosTokenId;
  const eos = info.tokenizer.eosTokenId ?? firstEos ?? null;
  const bos = info.tokenizer.bosTokenId ?? info.config.bosTokenId;
  const template = templateOf(info);
  const eotText = template.endOfTurn;
  const eot = eotText === '' ? undefined : info.tokenizer.tokenToId(eotText);
  const unk = tok.model.unk_token ? tok.model.vocab[tok.model.unk_token] : undefined;
  const id = (key: string, v: number | null | undefined): void => { if (v != null) kv.push([`tokenizer.ggml.${key}`, { type: 'u32', value: v }]); };
  id('bos_token_id', bos);
  id('eos_token_id', eos);
  id('eot_token_id', eot);
  id('unknown_token_id', unk);
  id('padding_token_id', info.tokenizer.padTokenId);
  kv.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: addsBos(tok) }]);
  kv.push(['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }]);
  kv.push(['tokenizer.chat_template', { type: 'string', value: template.source }]);
  return kv;
}

/** convert_hf_to_gguf.py's Llama 3 rope_freqs: per frequency pair, the divisor llama3 scaling applies. */
function llama3RopeFactors(c: Transformer['config']): Float32Array {
  const s = c.ropeScaling;
  if (s?.type !== 'llama3') throw new Error('llama3RopeFactors: not llama3 scaling');
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor, highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return Float32Array.from({ length: c.headDim / 2 }, (_, i) => {
    const wavelen = (2 * Math.PI) / (1 / c.ropeTheta ** ((2 * i) / c.headDim));
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** llama-quantize's use_more_bits: the first and last eighth of the layers and every third one between. */
const useMoreBits = (i: number, n: number): boolean => i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

/**
 * llama-quantize's Q4_K_M mix (llama_tensor_get_type in llama-quant.cpp, no importance matrix, for the dense
 * families here): output.weight, or token_embd.weight when tied, Q6_K (Q8_0 when its rows are not 256-blocks);
 * attn_v and ffn_down Q6_K on use_more_bits layers (counted in file order as llama-quantize counts them); every
 * other 2-D weight Q4_K; then its shape fall-back for rows that are not whole blocks (Q4_K → Q5_0, Q6_K → Q8_0,
 * and F16 when not whole 32-blocks either).
 */
function q4kmTypes(names: string[], rows: number[]): GgufDtype[] {
  const tied = !names.includes('output.weight');
  const nV = names.filter((n) => n.includes('attn_v.weight')).length, nDown = names.filter((n) => n.includes('ffn_down')).length;
  let iV = 0, iDown = 0;
  return names.map((name, t) => {
    let type: GgufDtype = 'Q4_K';
    if (name === 'output.weight' || (tied && name === 'token_embd.weight')) type = rows[t] % QK_K ? 'Q8_0' : 'Q6_K';
    else if (name.includes('attn_v.weight')) { if (useMoreBits(iV++, nV)) type = 'Q6_K'; } else if (name.includes('ffn_down')) { if (useMoreBits(iDown++, nDown)) type = 'Q6_K'; }
    if (rows[t] % QK_K && type !== 'Q8_0') type = type === 'Q4_K' ? 'Q5_0' : 'Q8_0';
    return rows[t] % Q8_0_BLOCK ? 'F16' : type;
  });
}

/** The model's tensors under llama.cpp's names and layouts. */
async function ggufTensors(model: Transformer, arch: GgufArch, dtype: GgufModelDtype, fold: boolean): Promise<GgufTensor[]> {
  const c = model.config;
  // llama.cpp's Q4_K_M mix quantises a fused attn_qkv (GPT-2's c_attn) with Q5_K, which is not written here.
  if (dtype === 'Q4_K_M' && recipeOf(c).blocks.some((b) => b.linears.qkv)) throw new Error(`GGUF export: Q4_K_M for ${arch.name} needs llama.cpp's Q5_K for the fused attn_qkv, which is not implemented here; use Q8_0 or F16`);
  const tensors: GgufTensor[] = [];
  for (const [hfName, w] of await mergedWeights(model, { fold })) {
    const mapped = ggufParamName(arch, hfName);
    if (!mapped) throw new Error(`GGUF export: no llama.cpp tensor name for ${hfName}`);
    let { shape, data } = w;
    if (arch.conv1d && mapped.short && shape.length === 2) { data = transpose(data, shape[0], shape[1]); shape = [shape[1], shape[0]]; }
    if (arch.ropePermute && (mapped.short === 'attn_q' || mapped.short === 'attn_k')) {
      data = permuteRopeRows(data, shape[0], shape[1] ?? 1, mapped.short === 'attn_q' ? c.numHeads : c.numKvHeads);
    }
    if (arch.normShift && shape.length === 1 && /norm\.weight$/.test(mapped.name)) data = data.map((x) => x + arch.normShift);
    let tdtype: GgufDtype = shape.length === 1 ? 'F32' : dtype === 'Q4_K_M' ? 'F16' : dtype;
    if (tdtype === 'Q8_0' && shape[shape.length - 1] % Q8_0_BLOCK) tdtype = 'F16';
    tensors.push({ name: mapped.name, shape, data, dtype: tdtype });
  }
  if (dtype === 'Q4_K_M') {
    // llama-quantize's input is the F16 file: quantising the f16-rounded weights gives its bytes exactly.
    const matrices = tensors.filter((t) => t.shape.length === 2);
    q4kmTypes(matrices.map((t) => t.name), matrices.map((t) => t.shape[1])).forEach((type, i) => {
      const t = matrices[i];
      t.dtype = type;
      if (type !== 'F16') t.data = f16ToF32(f32ToF16(t.data));
    });
  }
  if (arch.rope && c.ropeScaling?.type === 'llama3') tensors.push({ name: 'rope_freqs.weight', shape: [c.headDim / 2], data: llama3RopeFactors(c), dtype: 'F32' });
  return tensors;
}

/** The GGUF file name for a dtype: 'model-f16.gguf', 'model-q8_0.gguf' (fold false: 'base-…'). */
function ggufModelFileName(dtype: GgufModelDtype, fold = true): string {
  return `${fold ? 'model' : 'base'}-${dtype.toLowerCase()}.gguf`;
}

async function readTokenizerJson(source: ModelFiles): Promise<TokenizerJson> {
  if (!source.list().includes('tokenizer.json')) throw new Error(`${source.name}: missing file tokenizer.json (needed for the GGUF vocabulary)`);
  return JSON.parse(new TextDecoder().decode(await source.read('tokenizer.json'))) as TokenizerJson;
}

/**
 * The model (LoRA folded in unless fold is false) as one GGUF file. `info` is the loaded model's tokenizer,
 * template and configs; `source` its folder (tokenizer.json is read from it for the vocabulary and merges).
 */
export async function exportGgufModel(model: Transformer, info: TokenizerInfo, source: ModelFiles, opts: GgufModelOptions = {}): Promise<Uint8Array> {
  const dtype = opts.dtype ?? 'F16';
  const fold = opts.fold ?? true;
  const c = model.config;
  const arch = ggufArch(c);
  const tokenizerJson = await readTokenizerJson(source);
  const kv: [string, GgufValue][] = [
    ['general.architecture', { type: 'string', value: arch.name }],
    ['general.type', { type: 'string', value: 'model' }],
    ['general.name', { type: 'string', value: opts.name ?? 'model' }],
    ['general.file_type', { type: 'u32', value: GGUF_FILE_TYPE[dtype] }],
    ['general.quantization_version', { type: 'u32', value: 2 }],
  ];
  for (const [key, field, type] of arch.hparams) {
    const value = c[field];
    if (typeof value !== 'number') throw new Error(`GGUF export: ${field} is not set in this ${c.modelType} config (needed for ${arch.name}.${key})`);
    kv.push([`${arch.name}.${key}`, { type, value }]);
  }
  for (const [key, value, type] of arch.computed) kv.push([`${arch.name}.${key}`, { type, value }]);
  if (arch.rope && c.ropeScaling?.type === 'linear') {
    kv.push([`${arch.name}.rope.scaling.type`, { type: 'string', value: 'linear' }], [`${arch.name}.rope.scaling.factor`, { type: 'f32', value: c.ropeScaling.factor }]);
  }
  kv.push(...ggufTokenizerKv(tokenizerJson, info));
  return writeGguf(kv, await ggufTensors(model, arch, dtype, fold));
}

/**
 * What the Export tab and `studio export` hand to llama.cpp and Ollama, with a Modelfile:
 *  - 'gguf' (merged): model-<dtype>.gguf, Modelfile FROM it;
 *  - 'gguf-lora': adapter-f32.gguf, the base model as base-<dtype>.gguf, Modelfile FROM the base with ADAPTER.
 */
export async function exportGgufFiles(model: Transformer, info: TokenizerInfo, source: ModelFiles, opts: { format: 'gguf' | 'gguf-lora'; dtype?: GgufModelDtype; name?: string }): Promise<ExportFiles> {
  const dtype = opts.dtype ?? 'F16';
  const lora = opts.format === 'gguf-lora';
  const files: ExportFiles = lora ? await exportGgufLora(model, { name: opts.name }) : new Map();
  const gguf = ggufModelFileName(dtype, !lora);
  files.set(gguf, await exportGgufModel(model, info, source, { dtype, fold: !lora, name: opts.name }));
  const template = templateOf(info);
  const bos = info.tokenizer.bosTokenId;
  const stops = [template.endOfTurn, ...stopTokenIds(info).map((id) => info.tokenizer.idToToken(id) ?? '')];
  files.set('Modelfile', new TextEncoder().encode(ollamaModelfile({
    from: `./${gguf}`, adapter: lora ? `./${[...files.keys()][0]}` : undefined, template, stops,
    generationConfig: info.generationConfig, contextLength: info.config.maxPositions,
    dropLeading: addsBos(await readTokenizerJson(source)) && bos !== null ? info.tokenizer.idToToken(bos) : undefined,
  })));
  return files;
}
