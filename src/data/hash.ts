// Small, fast, deterministic 32-bit hashes shared by dedupe (MinHash), split (seeded) and storage (chunk
// keys). Not cryptographic; stable across Node and browsers (pure integer math on UTF-16 code units).

/** FNV-1a over a string's UTF-16 code units. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** fnv1a(JSON.stringify(items)) without building the whole string (a million records make one of 100 MB). */
export function fnv1aJsonArray(items: readonly unknown[]): number {
  let h = fnv1a('[');
  items.forEach((item, i) => { h = fnv1a(`${i ? ',' : ''}${JSON.stringify(item) ?? 'null'}`, h); });
  return fnv1a(']', h);
}

/** murmur3's finaliser: a good avalanche on one 32-bit word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: a seeded PRNG returning floats in [0, 1) (the project's one generator). */
export { mulberry32 } from '../model/random';

/** A short random id (base36), enough to tell imports and records apart within one browser profile. */
export function shortId(): string {
  const c = globalThis.crypto;
  const words = new Uint32Array(2);
  c.getRandomValues(words);
  return words[0].toString(36) + words[1].toString(36);
}
