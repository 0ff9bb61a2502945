// The IndexedDB repository in real Chromium: versions, unchanged chunks reused, restore of an old version,
// delete, remembered column maps, a reopen (the "reload"), and quota errors named as such.
import { describe, expect, it } from 'vitest';
import type { DatasetRecord } from '../../src/data/record';
import { chunkRecords } from '../../src/storage/chunks';
import { openIdbRepository } from '../../src/storage/idb-repository';
import { toStorageError, type DatasetSnapshot } from '../../src/storage/repository';

function rec(i: number, answer = `answer ${i}`): DatasetRecord {
  return {
    id: `r${i}`, messages: [{ role: 'user', content: `question ${i}` }, { role: 'assistant', content: answer }],
    source: { file: 'a.jsonl', line: i + 1 }, original: { q: i }, shape: 'messages', flagged: false, split: 'train', edited: false, rev: 0,
  };
}

function snap(records: DatasetRecord[]): DatasetSnapshot {
  return { records, issues: [], files: [], splitConfig: { kind: 'random', seed: 1, validationFraction: 0.1 } };
}

const dbName = () => `test-${Math.random().toString(36).slice(2)}`;

describe('idb repository', () => {
  it('saves versions, reloads them after reopening, restores an old one and deletes', async () => {
    const name = dbName();
    const repo = await openIdbRepository(name);
    const ds = await repo.create('My set');
    const v1 = await repo.save(ds.id, snap(Array.from({ length: 3000 }, (_, i) => rec(i))), 'import');
    const edited = Array.from({ length: 3000 }, (_, i) => rec(i)).filter((_, i) => i !== 10);
    edited[5] = { ...edited[5], messages: [{ role: 'user', content: '<b>edited</b>' }], edited: true, rev: 1 };
    const v2 = await repo.save(ds.id, snap(edited), 'edit');
    expect([v1.version, v2.version]).toEqual([1, 2]);

    const again = await openIdbRepository(name); // a reload opens the database afresh
    const head = await again.load(ds.id);
    expect(head?.version.version).toBe(2);
    expect(head?.snapshot.records).toHaveLength(2999);
    expect(head?.snapshot.records[5].messages[0].content).toBe('<b>edited</b>');
    const old = await again.load(ds.id, 1);
    expect(old?.snapshot.records).toHaveLength(3000);
    expect(old?.snapshot.records[10].id).toBe('r10');
    expect((await again.versions(ds.id)).map((v) => [v.version, v.message, v.recordCount])).toEqual([[2, 'edit', 2999], [1, 'import', 3000]]);
    expect((await again.list()).map((d) => [d.name, d.head, d.recordCount])).toEqual([['My set', 2, 2999]]);

    await again.remove(ds.id);
    expect(await again.list()).toEqual([]);
    expect(await again.load(ds.id)).toBeNull();
  });

  it('an edit changes one chunk, not every chunk after it', () => {
    const a = Array.from({ length: 5000 }, (_, i) => rec(i));
    const b = a.filter((_, i) => i !== 100);
    b[2000] = { ...b[2000], flagged: true, rev: 1 };
    const ka = new Set(chunkRecords(a).map((c) => c.key));
    const kb = chunkRecords(b).map((c) => c.key);
    expect(kb.filter((k) => !ka.has(k)).length).toBeLessThanOrEqual(2);
    expect(chunkRecords(b).flatMap((c) => c.records)).toEqual(b);
  });

  it('remembers column maps', async () => {
    const repo = await openIdbRepository(dbName());
    await repo.putColumnMap('answer\u0001question', { prompt: 'question', response: 'answer' });
    expect(await repo.columnMaps()).toEqual({ 'answer\u0001question': { prompt: 'question', response: 'answer' } });
  });

  it('names quota errors', () => {
    const e = toStorageError(new DOMException('The quota has been exceeded.', 'QuotaExceededError'), 'saving the dataset');
    expect(e.kind).toBe('quota');
    expect(e.message).toMatch(/storage is full/);
  });
});
