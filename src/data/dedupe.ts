// Duplicate finding over conversations.
//   exact: identical role sequence and contents after collapsing whitespace (case kept); a preference pair's
//          rejected answer is part of it (two pairs are the same only when both answers are).
//   near:  MinHash over word 3-gram shingles (64 hashes), LSH with 16 bands × 4 rows to find candidate
//          pairs, each candidate kept when its estimated Jaccard similarity ≥ threshold; groups are the
//          connected components (union-find). Near groups are found among one representative per exact
//          group, so a group is either exact or near, never both.
// Cost: O(total words × 64) for signatures, ~O(n) for bands; 100k records of ~200 words ≈ a few seconds,
// which is why the worker runs it. Contract: group members keep the input order; groups are sorted by
// their first member's position.
import type { ChatMessage, Conversation } from './types';
import { fmix32, fnv1a } from './hash';

export interface DuplicateGroup {
  kind: 'exact' | 'near';
  ids: string[];
  /** Lowest estimated Jaccard similarity of an accepted pair in the group (1 for exact). */
  similarity: number;
}

export interface DedupeOptions {
  near: boolean;
  /** Estimated Jaccard similarity at or above which two examples are near-duplicates. */
  threshold: number;
  onProgress?: (fraction: number) => void;
}

const DEFAULT_DEDUPE: DedupeOptions = { near: true, threshold: 0.8 };

const NUM_HASHES = 64;
const BANDS = 16;
const ROWS = NUM_HASHES / BANDS;
const SEEDS = Array.from({ length: NUM_HASHES }, (_, i) => fmix32(0x9e3779b9 + i * 0x85ebca6b));

type Compared = Pick<Conversation, 'messages'> & { rejected?: ChatMessage[] };

const turnsKey = (ms: readonly ChatMessage[]) => ms.map((m) => `${m.role}\u0000${m.content.replace(/\s+/g, ' ').trim()}`).join('\u0001');

export function exactKey(c: Compared): string {
  return c.rejected ? `${turnsKey(c.messages)}\u0002${turnsKey(c.rejected)}` : turnsKey(c.messages);
}

/** Word 3-grams of the lowercased, whitespace-collapsed text (the whole text if under 3 words). */
export function shingles(text: string): Set<number> {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  const out = new Set<number>();
  if (words.length < 3) { out.add(fnv1a(words.join(' '))); return out; }
  for (let i = 0; i + 3 <= words.length; i++) out.add(fnv1a(`${words[i]} ${words[i + 1]} ${words[i + 2]}`));
  return out;
}

export function minhash(sh: Set<number>): Uint32Array {
  const sig = new Uint32Array(NUM_HASHES).fill(0xffffffff);
  for (const h of sh) {
    for (let k = 0; k < NUM_HASHES; k++) {
      const v = fmix32(h ^ SEEDS[k]);
      if (v < sig[k]) sig[k] = v;
    }
  }
  return sig;
}

export function estimatedJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let k = 0; k < NUM_HASHES; k++) if (a[k] === b[k]) same++;
  return same / NUM_HASHES;
}

/** Exact Jaccard similarity of two shingle sets (the quantity MinHash estimates; used by tests). */
export function jaccard(a: Set<number>, b: Set<number>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter || 1);
}

function textOf(c: Compared): string {
  return [...c.messages, ...c.rejected ?? []].map((m) => m.content).join('\n');
}

class UnionFind {
  parent: Int32Array;
  constructor(n: number) { this.parent = Int32Array.from({ length: n }, (_, i) => i); }
  find(x: number): number {
    while (this.parent[x] !== x) { this.parent[x] = this.parent[this.parent[x]]; x = this.parent[x]; }
    return x;
  }
  union(a: number, b: number) {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

export function findDuplicates(records: readonly (Compared & Pick<Conversation, 'id'>)[], opts: DedupeOptions = DEFAULT_DEDUPE): DuplicateGroup[] {
  const groups: { first: number; group: DuplicateGroup }[] = [];
  const byKey = new Map<string, number[]>();
  records.forEach((r, i) => {
    const k = exactKey(r);
    const list = byKey.get(k);
    if (list) list.push(i); else byKey.set(k, [i]);
  });
  const reps: number[] = [];
  for (const list of byKey.values()) {
    reps.push(list[0]);
    if (list.length > 1) groups.push({ first: list[0], group: { kind: 'exact', ids: list.map((i) => records[i].id), similarity: 1 } });
  }
  if (opts.near && reps.length > 1) {
    reps.sort((a, b) => a - b);
    const sigs = reps.map((i, k) => {
      if ((k & 1023) === 0) opts.onProgress?.(0.8 * k / reps.length);
      return minhash(shingles(textOf(records[i])));
    });
    const uf = new UnionFind(reps.length);
    const accepted: [number, number][] = []; // (pair's first member, similarity)
    const seenPair = new Set<string>();
    for (let b = 0; b < BANDS; b++) {
      const buckets = new Map<string, number[]>();
      for (let k = 0; k < sigs.length; k++) {
        const key = Array.prototype.join.call(sigs[k].subarray(b * ROWS, (b + 1) * ROWS), ',');
        const list = buckets.get(key);
        if (list) list.push(k); else buckets.set(key, [k]);
      }
      for (const list of buckets.values()) {
        for (let x = 1; x < list.length; x++) {
          // Compare against the bucket's first member and the previous one: enough to connect a component.
          for (const y of x > 1 ? [0, x - 1] : [0]) {
            const a = list[y], c = list[x];
            const pair = `${a},${c}`;
            if (seenPair.has(pair)) continue;
            seenPair.add(pair);
            const s = estimatedJaccard(sigs[a], sigs[c]);
            if (s >= opts.threshold) {
              uf.union(a, c);
              accepted.push([a, s]);
            }
          }
        }
      }
      opts.onProgress?.(0.8 + 0.2 * (b + 1) / BANDS);
    }
    const minSim = new Map<number, number>();
    for (const [a, s] of accepted) {
      const root = uf.find(a);
      minSim.set(root, Math.min(minSim.get(root) ?? 1, s));
    }
    const comps = new Map<number, number[]>();
    for (let k = 0; k < reps.length; k++) {
      const r = uf.find(k);
      const list = comps.get(r);
      if (list) list.push(k); else comps.set(r, [k]);
    }
    for (const [root, list] of comps) {
      if (list.length < 2) continue;
      groups.push({ first: reps[list[0]], group: { kind: 'near', ids: list.map((k) => records[reps[k]].id), similarity: minSim.get(root) ?? opts.threshold } });
    }
  }
  opts.onProgress?.(1);
  return groups.sort((a, b) => a.first - b.first).map((g) => g.group);
}
