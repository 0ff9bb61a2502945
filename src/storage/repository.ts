// The one storage interface the app sees. Datasets are saved as versions: every save is a new version the
// user can return to, and loading without a version gives the newest. Implementations: idb-repository.ts
// (IndexedDB, the product) and memory-repository.ts (tests, and a fallback when IndexedDB is missing).
// No component calls IndexedDB; the store calls this.
// Errors: failures are thrown as StorageError with a kind, so the UI can say "storage is full" instead of
// swallowing a QuotaExceededError.
import type { ColumnMap } from '../data/record';
import { DEFAULT_SPLIT } from '../data/split';
import type { DatasetSnapshot, JournalEntry } from './journal';

export interface DatasetMeta {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  /** Newest version number (0 before the first save). */
  head: number;
  recordCount: number;
}

export interface VersionMeta {
  datasetId: string;
  version: number;
  savedAt: number;
  message: string;
  recordCount: number;
}

export interface LoadedDataset {
  meta: DatasetMeta;
  version: VersionMeta;
  snapshot: DatasetSnapshot;
  /** Changes written after this version (newest version only; see journal.ts), oldest first, not applied. */
  journal: JournalEntry[];
}

export interface DatasetRepository {
  list(): Promise<DatasetMeta[]>;
  create(name: string): Promise<DatasetMeta>;
  rename(id: string, name: string): Promise<void>;
  remove(id: string): Promise<void>;
  /**
   * Saves the snapshot as version head + 1. journalUpTo: the snapshot includes the journal entries up to
   * this seq, which the same transaction deletes.
   */
  save(id: string, snapshot: DatasetSnapshot, message: string, journalUpTo?: number): Promise<VersionMeta>;
  /**
   * Writes one change at once, in its own transaction committed immediately, so it is on disk even if the
   * page goes away right after (a reload does not wait for a debounced save).
   */
  appendJournal(id: string, entry: JournalEntry): Promise<void>;
  /**
   * The given version, or the newest; null when the dataset (or version) does not exist. A dataset with
   * changes journaled but no version saved yet (an import the page left before its save) loads as
   * version 0, empty, with its journal.
   */
  load(id: string, version?: number): Promise<LoadedDataset | null>;
  versions(id: string): Promise<VersionMeta[]>;
  columnMaps(): Promise<Record<string, ColumnMap>>;
  putColumnMap(signature: string, map: ColumnMap): Promise<void>;
  /**
   * The error a write would get now, without waiting: a ReadOnlyError in a tab without the writer role
   * (writer.ts). Absent, or null: writes go through.
   */
  refuse?(doing: string): StorageError | null;
}

/** Version 0: the empty dataset that a journal written before the first save applies to. */
export function versionZero(meta: DatasetMeta): { version: VersionMeta; snapshot: DatasetSnapshot } {
  return {
    version: { datasetId: meta.id, version: 0, savedAt: meta.createdAt, message: 'new dataset', recordCount: 0 },
    snapshot: { records: [], issues: [], files: [], splitConfig: DEFAULT_SPLIT },
  };
}

type StorageErrorKind = 'quota' | 'read-only' | 'unavailable' | 'not-found' | 'other';

export class StorageError extends Error {
  constructor(readonly kind: StorageErrorKind, message: string, readonly cause?: unknown) {
    super(message);
    this.name = 'StorageError';
  }
}

/** The name a write refused for want of the writer role carries (also across a worker's message channel). */
export const READ_ONLY = 'ReadOnlyError';

/** A write refused because another tab of the studio holds the writer role (src/storage/writer.ts). */
export class ReadOnlyError extends StorageError {
  constructor(doing: string, why: string) {
    super('read-only', `${doing[0].toUpperCase()}${doing.slice(1)} was refused: this tab is read-only, because ${why}.`);
    this.name = READ_ONLY;
  }
}

/** Maps a DOMException (or anything thrown by IndexedDB) to a StorageError with a plain message. */
export function toStorageError(e: unknown, doing: string): StorageError {
  if (e instanceof StorageError) return e;
  const name = (e as { name?: string } | null)?.name ?? '';
  const msg = (e as { message?: string } | null)?.message ?? String(e);
  if (name === 'QuotaExceededError' || /quota/i.test(msg)) {
    return new StorageError('quota', `Browser storage is full while ${doing}. Free space (delete old datasets or versions) and save again.`, e);
  }
  if (name === 'InvalidStateError' || name === 'UnknownError') return new StorageError('unavailable', `Browser storage is unavailable while ${doing}: ${msg}`, e);
  return new StorageError('other', `Storage failed while ${doing}: ${msg}`, e);
}
