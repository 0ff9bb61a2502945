// The dataset log (src/storage/dataset-log.ts) on its own, with a plain object as the dataset's holder and the
// in-memory repository: a small change is in the journal before any save (what a reload would replay), a
// save folds it into one version; a change too big for a patch skips the journal and is saved in the next
// task; an import's staged slices and its inserting entry rebuild the rows on reload even when the save
// never ran, and a save waits for the staging to end; a failed write is reported, not swallowed.
import { describe, expect, it } from 'vitest';
import type { DatasetRecord } from '../../src/data/record';
import { createDatasetLog, JOURNAL_MAX_RECORDS, type SaveStatus } from '../../src/storage/dataset-log';
import { EMPTY_PATCH, replayJournal, type DatasetSnapshot } from '../../src/storage/journal';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import type { DatasetRepository } from '../../src/storage/repository';

const rec = (i: number, answer = `answer ${i}`): DatasetRecord => ({
  id: `r${i}`, messages: [{ role: 'user', content: `q ${i}` }, { role: 'assistant', content: answer }],
  source: { file: 'a.jsonl', line: i + 1 }, original: {}, shape: 'messages', flagged: false, split: 'train', edited: false, rev: 0,
});
const snap = (records: DatasetRecord[]): DatasetSnapshot => ({ records, issues: [], files: [], splitConfig: { kind: 'random', seed: 1, validationFraction: 0.1 } });
const tick = () => new Promise((r) => setTimeout(r, 0));

async function holder(repo: DatasetRepository = createMemoryRepository()) {
  const meta = await repo.create('d');
  let state = snap([]);
  const statuses: SaveStatus[] = [];
  const saved: number[] = [];
  const log = createDatasetLog({
    repo, autosaveMs: 10_000, // debounced saves never fire by themselves here: the test flushes
    current: () => ({ datasetId: meta.id, snapshot: state }),
    onStatus: (s) => statuses.push(s),
    onSaved: async (v) => { saved.push(v.version); },
  });
  /** A change as the store makes one: the state moves, then the log is told what it was before. */
  const change = (label: string, next: DatasetSnapshot, durability?: Parameters<typeof log.record>[2]) => {
    const before = state;
    state = next;
    log.record(label, before, durability);
  };
  const reload = async () => {
    const loaded = (await repo.load(meta.id))!;
    return { loaded, ...replayJournal(loaded.snapshot, loaded.journal) };
  };
  return { repo, meta, log, change, reload, statuses, saved, state: () => state };
}

describe('dataset log', () => {
  it('journals a small change at once and folds it into one version on save', async () => {
    const h = await holder();
    h.change('add', snap([rec(0), rec(1)]));
    h.change('edit row', snap([rec(0, 'new'), rec(1)]));
    await tick(); // appendJournal is asynchronous, as IndexedDB's is
    const before = await h.reload();
    expect(before.loaded.version.version).toBe(0);
    expect(before.loaded.journal.map((e) => [e.seq, e.label])).toEqual([[1, 'add'], [2, 'edit row']]);
    expect(before.snapshot.records).toEqual(h.state().records);
    expect(h.statuses.at(-1)).toEqual({ kind: 'unsaved' });

    await h.log.flush();
    const after = await h.reload();
    expect([after.loaded.version.version, after.loaded.version.message, after.loaded.journal.length]).toEqual([1, 'add, edit row', 0]);
    expect(after.snapshot.records).toEqual(h.state().records);
    expect(h.saved).toEqual([1]);
    expect(h.statuses.slice(-2)).toEqual([{ kind: 'saving' }, { kind: 'saved', version: 1 }]);
  });

  it('saves a change too big for a patch as a version in the next task, without journaling it', async () => {
    const h = await holder();
    const big = Array.from({ length: JOURNAL_MAX_RECORDS + 1 }, (_, i) => rec(i));
    h.change('import big', snap(big));
    await tick();
    await tick();
    const r = await h.reload();
    expect([r.loaded.version.version, r.loaded.journal.length, r.snapshot.records.length]).toEqual([1, 0, big.length]);
    // 'version' durability: no patch at all, a version in the next task.
    h.change('restore version 1', snap(big.slice(0, 3)), 'version');
    await tick();
    await tick();
    const v2 = await h.reload();
    expect([v2.loaded.version.version, v2.loaded.journal.length, v2.snapshot.records.length]).toEqual([2, 0, 3]);
  });

  it('stages an import slice by slice; the rows come back on reload before any save, and a save waits for the staging', async () => {
    const h = await holder();
    h.change('add', snap([rec(9)])); // a pending change: the flush below has something to save
    const staging = h.log.beginImport('import a.jsonl');
    staging.stage([rec(0), rec(1)]);
    staging.stage([rec(2)]);
    let flushed = false;
    const flushing = h.log.flush().then(() => { flushed = true; });
    const seqs = await staging.written();
    expect(seqs).toEqual([2, 3]);
    await tick();
    expect(flushed).toBe(false); // the save waits: it would fold the staged slices away
    const rows = [rec(9), rec(0), rec(1), rec(2)];
    h.change('import a.jsonl', snap(rows), { ...EMPTY_PATCH, insertStaged: { at: 1, seqs } });
    // No version yet: the journal alone (staged slices + the inserting entry) rebuilds the rows.
    const r = await h.reload();
    expect([r.loaded.version.version, r.loaded.journal.map((e) => e.seq)]).toEqual([0, [1, 2, 3, 4]]);
    expect(r.snapshot.records).toEqual(rows);
    staging.end();
    await flushing;
    await h.log.flush();
    const saved = await h.reload();
    expect(saved.loaded.journal).toEqual([]);
    expect(saved.snapshot.records).toEqual(rows);

    // Reopened with a journal: the next entry continues past its last seq.
    const reopened = await holder();
    reopened.log.opened([{ seq: 7, label: 'x', patch: EMPTY_PATCH }], ['x']);
    reopened.change('flag 1', snap([rec(0)]));
    await tick();
    expect((await reopened.reload()).loaded.journal.map((e) => e.seq)).toEqual([8]);
  });

  it('reports a failed write and a failed save as errors', async () => {
    const gone = await holder();
    await gone.repo.remove(gone.meta.id); // journal writes now fail: the dataset is gone
    gone.change('edit', snap([rec(0)]));
    await tick();
    expect(gone.statuses).toContainEqual({ kind: 'error', message: `no dataset ${gone.meta.id}` });

    const full = await holder(createMemoryRepository({ failSavesWith: () => new Error('Browser storage is full') }));
    full.change('edit', snap([rec(0)]));
    await full.log.flush();
    expect(full.statuses.at(-1)).toEqual({ kind: 'error', message: 'Browser storage is full' });
    expect(() => createDatasetLog({ repo: full.repo, current: () => null, onStatus: () => {}, onSaved: async () => {} }).beginImport('x')).toThrow('No dataset is open to import into.');
  });
});
