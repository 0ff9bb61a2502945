// The IndexedDB repository in real Chromium: versions, unchanged chunks reused, restore of an old version,
// delete, remembered column maps, a reopen (the "reload"), the write-ahead journal (a change written and
// not awaited is there when the database is opened afresh; a save folds it in; an import staged in slices
// before any version loads as version 0 with its journal), and quota errors named.
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import type { DatasetRecord } from '../../src/data/record';
import { chunkRecords } from '../../src/storage/chunks';
import { applyPatch, diffSnapshots, EMPTY_PATCH, replayJournal } from '../../src/storage/journal';
import { openIdbRepository } from '../../src/storage/idb-repository';
import { toStorageError } from '../../src/storage/repository';
import type { DatasetSnapshot } from '../../src/storage/journal';
import { MIGRATIONS, type StudioDB } from '../../src/storage/schema';

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

  it('journals a change at once, replays it after a reopen, and a save folds it in', async () => {
    const name = dbName();
    const repo = await openIdbRepository(name);
    const ds = await repo.create('Journaled');
    const base = snap(Array.from({ length: 600 }, (_, i) => rec(i)));
    await repo.save(ds.id, base, 'import');
    const edited = snap(base.records.map((r, i) => (i === 7 ? { ...r, messages: [{ role: 'user' as const, content: 'edited <i>now</i>' }], edited: true, rev: 9 } : r)));
    const patch = diffSnapshots(base, edited)!;
    expect(patch.changed).toHaveLength(1);
    // Not awaited, like a page that reloads right after the edit: the next connection must still see it.
    void repo.appendJournal(ds.id, { seq: 1, label: 'edit row', patch });
    const again = await openIdbRepository(name);
    const loaded = await again.load(ds.id);
    expect(loaded!.version.version).toBe(1);
    expect(loaded!.journal.map((e) => [e.seq, e.label])).toEqual([[1, 'edit row']]);
    expect(applyPatch(loaded!.snapshot, loaded!.journal[0].patch).records).toEqual(edited.records);

    // A change journaled after the save's snapshot (seq 2) outlives the save that folds seq 1.
    const flagged = snap(edited.records.map((r, i) => (i === 8 ? { ...r, flagged: true, rev: 10 } : r)));
    await again.appendJournal(ds.id, { seq: 2, label: 'flag 1', patch: diffSnapshots(edited, flagged)! });
    await again.save(ds.id, edited, 'edit row', 1);
    const head = await again.load(ds.id);
    expect(head!.version.version).toBe(2);
    expect(head!.journal.map((e) => e.seq)).toEqual([2]);
    expect(applyPatch(head!.snapshot, head!.journal[0].patch).records).toEqual(flagged.records);
    expect((await again.load(ds.id, 1))!.journal).toEqual([]); // an old version has no journal of its own
    await again.remove(ds.id);
    expect(await again.load(ds.id)).toBeNull();
  });

  it('an import staged before the first version loads as version 0 with its journal, whole', async () => {
    const name = dbName();
    const repo = await openIdbRepository(name);
    const ds = await repo.create('Imported');
    const rows = Array.from({ length: 3000 }, (_, i) => rec(i));
    // Written and not awaited, as the page does while the rows arrive and then shows them.
    void repo.appendJournal(ds.id, { seq: 1, label: 'import a.jsonl', patch: EMPTY_PATCH, staged: rows.slice(0, 2000) });
    void repo.appendJournal(ds.id, { seq: 2, label: 'import a.jsonl', patch: EMPTY_PATCH, staged: rows.slice(2000) });
    void repo.appendJournal(ds.id, { seq: 3, label: 'import a.jsonl', patch: { ...EMPTY_PATCH, insertStaged: { at: 0, seqs: [1, 2] } } });
    const again = await openIdbRepository(name);
    const loaded = (await again.load(ds.id))!;
    expect([loaded.version.version, loaded.snapshot.records]).toEqual([0, []]);
    expect(replayJournal(loaded.snapshot, loaded.journal).snapshot.records).toEqual(rows);
    expect(await again.load(ds.id, 1)).toBeNull();
    // The save folds all three entries; the dataset then loads from its version.
    await again.save(ds.id, snap(rows), 'import a.jsonl', 3);
    const head = (await again.load(ds.id))!;
    expect([head.version.version, head.journal, head.snapshot.records.length]).toEqual([1, [], 3000]);
  });

  it('upgrades a database written before the journal existed (schema v1) in place', async () => {
    const name = dbName();
    const v1 = await openDB<StudioDB>(name, 1, { upgrade(d, _old, _new, tx) { MIGRATIONS[0](d, tx); } });
    await v1.put('datasets', { id: 'old', name: 'Old set', createdAt: 1, updatedAt: 1, head: 0, recordCount: 0 });
    v1.close();
    const repo = await openIdbRepository(name);
    expect((await repo.list()).map((d) => d.name)).toEqual(['Old set']);
    await repo.save('old', snap([rec(1)]), 'import');
    await repo.appendJournal('old', { seq: 1, label: 'flag 1', patch: { removed: [], changed: [{ ...rec(1), flagged: true, rev: 2 }], inserted: [] } });
    expect((await repo.load('old'))!.journal.map((e) => e.label)).toEqual(['flag 1']);
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
