// Content-defined chunking of a record list, so saving a new version writes only the chunks that changed.
// Boundaries fall after records whose id hashes to 0 mod AVG (and at MAX), so inserting or deleting a
// row changes one chunk, not every chunk after it. A chunk's key is a 64-bit hash (two FNV-1a seeds) of
// its records' (id, rev) pairs: records are immutable and every change takes a fresh rev (record.ts
// nextRev), so (id, rev) names the content without serialising it.
import { fnv1a } from '../data/hash';
import type { DatasetRecord } from '../data/record';

const AVG_CHUNK = 256;
const MAX_CHUNK = 2048;

interface Chunk {
  key: string;
  records: DatasetRecord[];
}

export function chunkRecords(records: readonly DatasetRecord[]): Chunk[] {
  const chunks: Chunk[] = [];
  let cur: DatasetRecord[] = [];
  let hashes = '';
  const close = () => {
    chunks.push({ key: `${fnv1a(hashes).toString(36)}${fnv1a(hashes, 0x9e3779b9).toString(36)}-${cur.length}`, records: cur });
    cur = []; hashes = '';
  };
  for (const r of records) {
    cur.push(r);
    hashes += `${r.id}:${r.rev},`;
    if (cur.length >= MAX_CHUNK || fnv1a(r.id) % AVG_CHUNK === 0) close();
  }
  if (cur.length) close();
  return chunks;
}
