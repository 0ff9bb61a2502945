// The write-ahead journal: every change to a dataset is written at once as a small patch (the records it
// touched, not the whole set), so an edit survives a reload that comes before the debounced save. Opening
// a dataset replays the patches over its newest version; the next save folds them into a new version and
// clears them in the same transaction (repository.save's journalUpTo), so versions stay meaningful and a
// 100k-row dataset is not rewritten per edit.
// A patch is the difference between two snapshots whose surviving records keep their relative order
// (true of every change the studio makes: edits replace in place, deletes remove, imports and fixes
// append, undo puts rows back where they were). diffSnapshots returns null when that does not hold, and
// the caller saves a whole version instead.
// An import too big for one entry is written as it arrives: each slice of records as a staged entry (no
// change by itself), then one entry whose patch inserts the staged slices by seq, written in the task that
// shows the rows. Replay applies an import whole or not at all: slices whose inserting entry never got
// written are ignored, and the next save clears them with the rest.
// Pure functions only; storage of the entries lives in the repositories.
import type { FileContext } from '../data/import';
import type { DatasetRecord, ImportIssue } from '../data/record';
import type { SplitConfig } from '../data/split';

/** A dataset's whole content at one point: a saved version, or a version with its journal replayed. */
export interface DatasetSnapshot {
  records: DatasetRecord[];
  /** Import issues still open (not fixed, not dropped). */
  issues: ImportIssue[];
  files: FileContext[];
  splitConfig: SplitConfig;
}

export interface SnapshotPatch {
  /** Ids of records no longer present. */
  removed: string[];
  /** Records whose content changed, replaced where they stand. */
  changed: DatasetRecord[];
  /** New records with their index in the next snapshot, ascending. */
  inserted: [number, DatasetRecord][];
  /** Present only when they changed (they are small next to the records). */
  issues?: ImportIssue[];
  files?: FileContext[];
  splitConfig?: SplitConfig;
  /** The records of these staged entries, in seq order, inserted from index `at` on (after `inserted`). */
  insertStaged?: { at: number; seqs: number[] };
}

export interface JournalEntry {
  /** Ascending per dataset; a save clears the entries up to the seq it folded in. */
  seq: number;
  /** What the user did ("edit row"), for the version message and the undo stack. */
  label: string;
  patch: SnapshotPatch;
  /** Records written ahead of the entry that inserts them (see insertStaged); the patch is then empty. */
  staged?: DatasetRecord[];
}

/** A patch that changes nothing: the patch of a staged entry. */
export const EMPTY_PATCH: SnapshotPatch = { removed: [], changed: [], inserted: [] };

/** One replayed change: its label and the snapshot before it (what undo returns to). */
interface ReplayStep {
  label: string;
  before: DatasetSnapshot;
}

/** Applies a dataset's journal (oldest first) over the version it follows. */
export function replayJournal(base: DatasetSnapshot, entries: readonly JournalEntry[]): { snapshot: DatasetSnapshot; steps: ReplayStep[] } {
  const staged = new Map<number, DatasetRecord[]>();
  const steps: ReplayStep[] = [];
  let snapshot = base;
  for (const e of entries) {
    if (e.staged) { staged.set(e.seq, e.staged); continue; }
    steps.push({ label: e.label, before: snapshot });
    snapshot = applyPatch(snapshot, withStaged(e, staged));
  }
  return { snapshot, steps };
}

/** The entry's patch with its staged records listed as inserts. */
function withStaged(e: JournalEntry, staged: ReadonlyMap<number, DatasetRecord[]>): SnapshotPatch {
  const from = e.patch.insertStaged;
  if (!from) return e.patch;
  const inserted = [...e.patch.inserted];
  let at = from.at;
  for (const seq of from.seqs) {
    const part = staged.get(seq);
    // Saves never fold a staged slice before the entry that inserts it (the store waits for the import).
    if (!part) throw new Error(`the saved change "${e.label}" is missing part of its records (journal entry ${seq}); open an earlier version`);
    for (const r of part) inserted.push([at++, r]);
  }
  return { ...e.patch, inserted };
}

/** Records the patch writes: its size in the terms that cost storage time. */
export function patchSize(p: SnapshotPatch): number {
  return p.removed.length + p.changed.length + p.inserted.length;
}

export function applyPatch(prev: DatasetSnapshot, p: SnapshotPatch): DatasetSnapshot {
  let records = prev.records;
  if (patchSize(p) > 0) {
    const gone = new Set(p.removed);
    const changed = new Map(p.changed.map((r) => [r.id, r]));
    const survivors: DatasetRecord[] = [];
    for (const r of prev.records) if (!gone.has(r.id)) survivors.push(changed.get(r.id) ?? r);
    // Merge the inserts in at their indices in one pass (splicing each would be quadratic on an import).
    records = [];
    let s = 0;
    for (const [at, r] of p.inserted) {
      while (records.length < at && s < survivors.length) records.push(survivors[s++]);
      records.push(r);
    }
    while (s < survivors.length) records.push(survivors[s++]);
  }
  return {
    records,
    issues: p.issues ?? prev.issues,
    files: p.files ?? prev.files,
    splitConfig: p.splitConfig ?? prev.splitConfig,
  };
}

function sameIds(a: readonly DatasetRecord[], b: readonly DatasetRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && a[i].id !== b[i].id) return false;
  return true;
}

/** The patch that turns prev into next, or null when next reorders surviving records. */
export function diffSnapshots(prev: DatasetSnapshot, next: DatasetSnapshot): SnapshotPatch | null {
  const patch: SnapshotPatch = { removed: [], changed: [], inserted: [] };
  if (prev.records !== next.records && sameIds(prev.records, next.records)) {
    // The common case (edits, flags, splits): the same rows in the same order, some replaced.
    next.records.forEach((r, i) => { if (r !== prev.records[i]) patch.changed.push(r); });
  } else if (prev.records !== next.records) {
    const before = new Map(prev.records.map((r) => [r.id, r]));
    const after = new Set<string>();
    next.records.forEach((r, i) => {
      after.add(r.id);
      const old = before.get(r.id);
      if (!old) patch.inserted.push([i, r]);
      else if (old !== r) patch.changed.push(r);
    });
    for (const r of prev.records) if (!after.has(r.id)) patch.removed.push(r.id);
    // The patch keeps survivors in their old order: check that this is next's order.
    const rebuilt = applyPatch(prev, patch).records;
    if (rebuilt.length !== next.records.length || rebuilt.some((r, i) => r !== next.records[i])) return null;
  }
  if (prev.issues !== next.issues) patch.issues = next.issues;
  if (prev.files !== next.files) patch.files = next.files;
  if (prev.splitConfig !== next.splitConfig) patch.splitConfig = next.splitConfig;
  return patch;
}
