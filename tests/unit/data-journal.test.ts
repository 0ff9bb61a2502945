// The write-ahead journal: patches between snapshots rebuild the next snapshot exactly (checked against
// the snapshot itself, record by record), reorders are refused, and the datasets store makes an edit durable
// before its debounced save: a store opened on the same repository right after the edit (the "reload")
// sees it, can undo it, and the next save folds the journal into one version.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLocalDataTools } from '../../src/data/tools';
import type { DatasetRecord } from '../../src/data/record';
import { applyPatch, diffSnapshots, EMPTY_PATCH, patchSize, replayJournal, type DatasetSnapshot } from '../../src/storage/journal';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import { createDatasetsStore } from '../../app/store/datasets';

function rec(i: number, answer = `answer ${i}`): DatasetRecord {
  return {
    id: `r${i}`, messages: [{ role: 'user', content: `q ${i}` }, { role: 'assistant', content: answer }],
    source: { file: 'a.jsonl', line: i + 1 }, original: {}, shape: 'messages', flagged: false, split: 'train', edited: false, rev: 0,
  };
}
const snap = (records: DatasetRecord[]): DatasetSnapshot => ({ records, issues: [], files: [], splitConfig: { kind: 'random', seed: 1, validationFraction: 0.1 } });

describe('journal patches', () => {
  it('rebuild edits, deletes, appends and re-inserts in place', () => {
    const base = snap(Array.from({ length: 50 }, (_, i) => rec(i)));
    const next = base.records.filter((_, i) => i % 7 !== 3);      // deletes
    next[10] = { ...next[10], flagged: true, rev: 5 };             // an edit in place
    next.push(rec(100), rec(101));                                 // an import / fix appends
    const a = snap(next);
    const p1 = diffSnapshots(base, a)!;
    expect(patchSize(p1)).toBe(7 + 1 + 2);
    expect(applyPatch(base, p1).records).toEqual(a.records);
    // Undo of the deletes puts the rows back where they were: inserts in the middle.
    const back = snap(base.records);
    const p2 = diffSnapshots(a, back)!;
    expect(p2.inserted.map(([at]) => at)).toEqual([3, 10, 17, 24, 31, 38, 45]);
    expect(applyPatch(a, p2).records).toEqual(back.records);
    // Only issues changed: no records in the patch.
    const issues = { ...base, issues: [{ id: 'i', file: 'a.jsonl', line: 3, severity: 'error' as const, reason: 'x', raw: '{', fixable: true }] };
    const p3 = diffSnapshots(base, issues)!;
    expect([patchSize(p3), p3.issues]).toEqual([0, issues.issues]);
    expect(applyPatch(base, p3)).toEqual(issues);
  });

  it('an in-place edit patches one record; same length with other ids is a delete plus an insert', () => {
    const base = snap(Array.from({ length: 50 }, (_, i) => rec(i)));
    const flagged = snap(base.records.map((r, i) => (i === 5 ? { ...r, flagged: true, rev: 3 } : r)));
    const p = diffSnapshots(base, flagged)!;
    expect([p.removed, p.changed, p.inserted]).toEqual([[], [flagged.records[5]], []]);
    expect(applyPatch(base, p).records).toEqual(flagged.records);
    const shifted = snap([...base.records.slice(1), rec(200)]);
    const q = diffSnapshots(base, shifted)!;
    expect([q.removed, q.changed, q.inserted]).toEqual([['r0'], [], [[49, rec(200)]]]);
    expect(applyPatch(base, q).records).toEqual(shifted.records);
  });

  it('refuses a reorder (the caller saves a version instead)', () => {
    const base = snap([rec(0), rec(1), rec(2)]);
    expect(diffSnapshots(base, snap([base.records[2], base.records[0], base.records[1]]))).toBeNull();
  });
});

describe('staged imports', () => {
  it('insert their slices whole at the named index; slices never inserted are ignored; a missing slice is named', () => {
    const base = snap([rec(0), rec(1)]);
    const journal = [
      { seq: 1, label: 'import b', patch: EMPTY_PATCH, staged: [rec(10), rec(11)] },
      { seq: 2, label: 'edit row', patch: { ...EMPTY_PATCH, changed: [rec(0, 'edited')] } },
      { seq: 3, label: 'import b', patch: EMPTY_PATCH, staged: [rec(12)] },
      { seq: 4, label: 'import b', patch: { ...EMPTY_PATCH, insertStaged: { at: 2, seqs: [1, 3] } } },
      { seq: 5, label: 'import c', patch: EMPTY_PATCH, staged: [rec(20)] }, // an import cut off by a reload
    ];
    const { snapshot, steps } = replayJournal(base, journal);
    expect(snapshot.records).toEqual([rec(0, 'edited'), rec(1), rec(10), rec(11), rec(12)]);
    expect(steps.map((s) => [s.label, s.before.records.length])).toEqual([['edit row', 2], ['import b', 2]]);
    expect(() => replayJournal(base, journal.slice(1))).toThrow(/"import b" is missing part of its records \(journal entry 1\)/);
  });
});

describe('durable edits in the store', () => {
  const file = (name: string) => new File([readFileSync(`tests/fixtures/data/${name}`)], name);
  const open = (repo: ReturnType<typeof createMemoryRepository>) =>
    createDatasetsStore({ repo, tools: createLocalDataTools(), autosaveMs: 60_000 });

  it('an edit is on disk before the debounced save, replays on open, undoes, and folds into one version', async () => {
    const repo = createMemoryRepository();
    const a = open(repo);
    await a.getState().importFiles([file('alpaca.jsonl')]);
    await new Promise((r) => setTimeout(r, 0)); // the import's version is saved in a task of its own
    await a.getState().flush();
    const first = a.getState().records[0];
    a.getState().editRecord(first.id, [{ role: 'user', content: 'Edited prompt' }, { role: 'assistant', content: 'Edited answer' }]);
    a.getState().deleteRecords([a.getState().records[1].id]);
    expect(a.getState().save.kind).toBe('unsaved'); // the debounced save has not run (60 s)

    // "Reload": a fresh store on the same storage, while the first never saved again.
    const b = open(repo);
    await b.getState().init();
    expect(b.getState().records).toHaveLength(2);
    expect(b.getState().records[0].messages[1].content).toBe('Edited answer');
    expect(b.getState().save.kind).toBe('unsaved');
    b.getState().undo(); // the delete
    expect(b.getState().records).toHaveLength(3);
    b.getState().undo(); // the edit
    expect(b.getState().records[0]).toEqual(first);
    b.getState().redo();
    await b.getState().flush();
    const versions = await repo.versions(b.getState().current!.id);
    expect(versions).toHaveLength(2);
    const head = await repo.load(b.getState().current!.id);
    expect(head!.journal).toEqual([]);
    expect(head!.snapshot.records[0].messages[1].content).toBe('Edited answer');
    expect(head!.snapshot.records).toHaveLength(3);
  });

  it('an import is on disk when its rows appear, even if the page goes away during its version save', async () => {
    const repo = createMemoryRepository();
    // The first page's saves never finish: the reload comes in the middle of the import's version save.
    const a = createDatasetsStore({ repo: { ...repo, save: () => new Promise(() => {}) }, tools: createLocalDataTools(), autosaveMs: 60_000 });
    const n = 4500; // three slices of RECORDS_PER_MESSAGE
    const text = Array.from({ length: n }, (_, i) => JSON.stringify({ instruction: `q ${i}`, output: `a ${i}` })).join('\n');
    await a.getState().importFiles([file('alpaca.jsonl')]);
    await a.getState().importFiles([new File([text], 'big.jsonl')]);
    expect(a.getState().records).toHaveLength(3 + n);
    expect(await repo.versions(a.getState().current!.id)).toEqual([]);

    const b = open(repo);
    await b.getState().init();
    expect(b.getState().records).toEqual(a.getState().records);
    expect(b.getState().issues).toEqual(a.getState().issues);
    expect(b.getState().files).toEqual(a.getState().files);
    expect(b.getState().undoStack.map((u) => u.label)).toEqual(['import alpaca.jsonl', 'import big.jsonl']);
    b.getState().undo();
    expect(b.getState().records).toHaveLength(3);
    b.getState().redo();
    await b.getState().flush();
    const head = await repo.load(b.getState().current!.id);
    expect(head!.journal).toEqual([]);
    expect(head!.snapshot.records).toEqual(a.getState().records);
  });
});
