// How an open dataset's changes reach the disk, whatever holds the dataset in memory (the page's store, a
// test): every change is written at once as a small patch to the repository's write-ahead journal (its own
// transaction, so a reload right after finds it), and a debounced save folds the journal into a new version.
// Changes too big for a patch (restores, splits of many rows) are saved as a version at once instead. An
// import is journaled as it arrives: its records staged slice by slice, then one entry that inserts them,
// written in the task that shows the rows; a version of its own follows.
//
// The log knows the dataset only through `current()` (its id and state now); it keeps the journal's
// sequence, the labels of unsaved changes and the autosaver. A save waits for an import's staging to be
// written: it folds the journal up to the newest seq, which may hold staged slices, and a reload would
// otherwise find the slices gone and the inserting entry broken. For the same reason the inserting entry is
// written only once every staged slice is on disk: a slice the quota refused fails the import, which then shows
// nothing (its written slices are ignored on replay and cleared by the next save). An import is refused before it
// starts when the browser's estimate leaves no room for about twice the file (its slices, then its version).
// In a tab without the writer role (repository.refuse) a change is refused before the holder applies it (`refuse`).
import { createAutosaver, type Autosaver } from './autosave';
import { diffSnapshots, EMPTY_PATCH, patchSize, type DatasetSnapshot, type JournalEntry, type SnapshotPatch } from './journal';
import { ensureRoom, isQuotaExceeded, quotaRefusal } from './quota';
import type { DatasetRepository, StorageError, VersionMeta } from './repository';
import type { DatasetRecord } from '../data/record';
import { errorMessage } from '../errors';

/**
 * How a change reaches the disk: 'diff' journals the patch from the state before (or saves a version when
 * it is too big), 'version' saves a version in the next task, and a given patch is journaled as it is and
 * followed by a version in the next task.
 */
export type Durability = 'diff' | 'version' | SnapshotPatch;

/** Changes touching more records than this are saved as a version at once rather than journaled. */
export const JOURNAL_MAX_RECORDS = 2000;

export type SaveStatus =
  | { kind: 'idle' }
  | { kind: 'unsaved' }
  | { kind: 'saving' }
  | { kind: 'saved'; version: number }
  | { kind: 'error'; message: string };

interface DatasetLogDeps {
  repo: DatasetRepository;
  /** The open dataset and its state now; null when none is open. */
  current(): { datasetId: string; snapshot: DatasetSnapshot } | null;
  /** Each change of the save status ('error' carries the failure; nothing is swallowed). */
  onStatus(status: SaveStatus): void;
  /** Runs inside the save, after the version is written (the holder refreshes its lists; flush waits for it). */
  onSaved(version: VersionMeta): Promise<void>;
  autosaveMs?: number;
}

/** An import's records as they arrive: staged slices, then the seqs of the entry that inserts them. */
interface ImportStaging {
  /** Settles when the import may start: rejects when the browser's estimate leaves no room for it. */
  ready: Promise<void>;
  /** Journals one slice of records as it arrives (each write in a task of its own). */
  stage(records: DatasetRecord[]): void;
  /** Settles when every staged slice is written, with the seqs the inserting entry names; rejects when one failed. */
  written(): Promise<number[]>;
  /** Always called, inserted or not: a save may proceed. */
  end(): void;
}

interface DatasetLog {
  /** Makes the step from `before` to the current state durable (see Durability); a debounced save follows. */
  record(label: string, before: DatasetSnapshot, durability?: Durability): void;
  /** The error a change would get now (this tab does not hold the writer role), or null: check before applying it. */
  refuse(label: string): StorageError | null;
  /** Starts an import of about `bytes` (the file's size); throws at once in a tab that may not write. */
  beginImport(label: string, bytes?: number): ImportStaging;
  /** A dataset was opened with `journal` replayed over its version: its changes are unsaved under `labels`. */
  opened(journal: readonly JournalEntry[], labels: string[]): void;
  /** A new or emptied dataset: nothing journaled yet. */
  reset(): void;
  /** The open dataset is being deleted: its pending save is dropped. */
  discard(): void;
  /** Writes pending changes now (a new version if anything changed). */
  flush(): Promise<void>;
}

const nextTask = () => new Promise<void>((resolve) => { setTimeout(resolve, 0); });

export function createDatasetLog(deps: DatasetLogDeps): DatasetLog {
  let pendingLabels: string[] = [];
  let saver: Autosaver | null = null;
  /** The last journal entry written for the open dataset (a save folds in everything up to it). */
  let journalSeq = 0;
  /** Settles when the import staging records now has written the entry that inserts them. */
  let staging: Promise<void> | null = null;
  const failed = (e: unknown) => deps.onStatus({ kind: 'error', message: errorMessage(e) });

  async function saveNow(): Promise<void> {
    while (staging) await staging;
    const cur = deps.current();
    if (!cur) return;
    const label = pendingLabels.length ? [...new Set(pendingLabels)].join(', ') : 'save';
    pendingLabels = [];
    deps.onStatus({ kind: 'saving' });
    const v = await deps.repo.save(cur.datasetId, cur.snapshot, label, journalSeq);
    await deps.onSaved(v);
    deps.onStatus({ kind: 'saved', version: v.version });
  }

  const autosaver = () => (saver ??= createAutosaver(saveNow, deps.autosaveMs ?? 800, failed));

  function write(datasetId: string, entry: JournalEntry) {
    deps.repo.appendJournal(datasetId, entry).catch(failed);
  }

  return {
    record(label, before, durability = 'diff') {
      pendingLabels.push(label);
      deps.onStatus({ kind: 'unsaved' });
      const cur = deps.current();
      const patch = durability === 'version' ? null : durability === 'diff' ? diffSnapshots(before, cur?.snapshot ?? before) : durability;
      autosaver().schedule();
      if (cur && patch) {
        const seq = ++journalSeq;
        // A whole-dataset patch too big to journal is left to the version save.
        if (patch.insertStaged || patchSize(patch) <= JOURNAL_MAX_RECORDS) write(cur.datasetId, { seq, label, patch });
      }
      if (!cur || !patch || durability !== 'diff' || patchSize(patch) > JOURNAL_MAX_RECORDS) {
        // Saved in a task of its own, so the page paints the change (100k imported rows) before the save
        // hashes and clones them.
        setTimeout(() => void autosaver().flush(), 0);
      }
    },

    refuse: (label) => deps.repo.refuse?.(label) ?? null,

    beginImport(label, bytes = 0) {
      const datasetId = deps.current()?.datasetId;
      if (!datasetId) throw new Error('No dataset is open to import into.');
      const refused = deps.repo.refuse?.(label);
      if (refused) throw refused;
      const seqs: number[] = [];
      const writes: Promise<void>[] = [];
      let failure: unknown = null;
      // Its slices, then the version that folds them in (until that save the journal holds them too).
      const doing = `"${label}"`;
      const ready = bytes > 0 ? ensureRoom(2 * bytes, doing) : Promise.resolve();
      // Each staged write in a task of its own: the message that brought the slice has just spent its time
      // deserialising it, and the write clones it once more.
      let issued: Promise<void> = ready.catch((e: unknown) => { failure = e; });
      let ended!: () => void;
      staging = new Promise((resolve) => { ended = resolve; });
      return {
        ready,
        stage(records) {
          const entry: JournalEntry = { seq: ++journalSeq, label, patch: EMPTY_PATCH, staged: records };
          seqs.push(entry.seq);
          issued = issued.then(nextTask).then(() => {
            if (failure === null) writes.push(deps.repo.appendJournal(datasetId, entry).catch((e: unknown) => { failure ??= e; }));
          });
        },
        // The inserting entry follows them only once they are all on disk.
        written: async () => {
          await issued;
          await Promise.all(writes);
          // A slice refused for space is told as the import's need, not the slice's.
          if (failure !== null) throw isQuotaExceeded(failure) && bytes > 0 ? await quotaRefusal(doing, 2 * bytes, failure) : failure;
          return seqs;
        },
        end() { staging = null; ended(); },
      };
    },

    opened(journal, labels) {
      // Past every entry, staged slices of an import that never finished included: the next save clears them.
      journalSeq = journal.length ? journal[journal.length - 1].seq : 0;
      pendingLabels = labels;
      // A read-only tab leaves the journal to the tab that writes.
      if (journal.length && !deps.repo.refuse?.('saving the dataset')) autosaver().schedule();
    },

    reset() { journalSeq = 0; },

    discard() { saver?.cancel(); pendingLabels = []; },

    flush: async () => { await saver?.flush(); },
  };
}
