// A small byte-level BPE trainer that writes a standard Hugging Face tokenizer.json (GPT-2 style):
//   ids 0..255            the 256 bytes, as GPT-2's printable byte characters ('Ġ' is the space byte)
//   ids 256..256+M-1      the learned merges, in order
//   then the special tokens (added_tokens, special: true)
// Pre-tokenization is the ByteLevel pre-tokenizer's GPT-2 regex, so merges never cross a word boundary and
// the library re-tokenizes exactly as training counted. Training counts word types once with their
// frequency and merges the most frequent pair each round (ties broken by the pair's text), so the result is
// fixed for a given corpus.
// Not here: the chat template or tokenizer_config.json (make.ts).

/** GPT-2's reversible byte → printable character map. */
function bytesToUnicode(): string[] {
  const map = new Array<string>(256);
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  for (const b of printable) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  return map;
}

const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface BpeResult {
  tokenizerJson: Record<string, unknown>;
  /** 1 + the largest id (bytes + merges + specials). */
  vocabSize: number;
  specialIds: Record<string, number>;
}

/** Learns up to `numMerges` merges on `texts`; specials get the ids right after the merges. */
export function trainBpe(texts: string[], numMerges: number, specials: string[]): BpeResult {
  const byteChar = bytesToUnicode();
  const encoder = new TextEncoder();
  const freq = new Map<string, number>();
  for (const t of texts) for (const w of t.match(PRETOKENIZE) ?? []) freq.set(w, (freq.get(w) ?? 0) + 1);
  const words = [...freq].map(([w, count]) => ({ parts: [...encoder.encode(w)].map((b) => byteChar[b]), count }));

  const vocab: Record<string, number> = {};
  byteChar.forEach((ch, b) => { vocab[ch] = b; });
  const merges: string[] = [];
  for (let m = 0; m < numMerges; m++) {
    const counts = new Map<string, number>();
    for (const { parts, count } of words) {
      for (let i = 0; i + 1 < parts.length; i++) {
        const key = `${parts[i]} ${parts[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + count);
      }
    }
    let best: string | null = null, bestCount = 1;
    for (const [key, count] of counts) if (count > bestCount || (count === bestCount && best !== null && key < best)) { best = key; bestCount = count; }
    if (best === null) break;
    const [a, b] = best.split(' ');
    merges.push(best);
    vocab[a + b] = 256 + merges.length - 1;
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.parts.length; i++) {
        if (i + 1 < w.parts.length && w.parts[i] === a && w.parts[i + 1] === b) { out.push(a + b); i++; } else out.push(w.parts[i]);
      }
      w.parts = out;
    }
  }
  const firstSpecial = 256 + merges.length;
  const specialIds: Record<string, number> = {};
  const addedTokens = specials.map((content, k) => {
    specialIds[content] = firstSpecial + k;
    vocab[content] = firstSpecial + k;
    return { id: firstSpecial + k, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    tokenizerJson: {
      version: '1.0', truncation: null, padding: null, added_tokens: addedTokens, normalizer: null,
      pre_tokenizer: byteLevel, post_processor: { ...byteLevel, trim_offsets: false }, decoder: byteLevel,
      model: {
        type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
      },
    },
    vocabSize: firstSpecial + specials.length,
    specialIds,
  };
}
