// DatasetRepository on IndexedDB (via idb). A save writes the chunks that are not stored yet and one
// version row, and deletes the journal entries it folds in, in one transaction, so a failed save (quota)
// leaves the previous version and the journal intact. A journal entry is one put in a transaction that is
// committed explicitly at once, so it reaches the database even when the page unloads right after.
// Writes go through the tab's writer role when one is given (writer.ts: a read-only tab's are refused); a write the
// quota refuses is a StorageError naming the space it needed and the space left (quota.ts), and a save of more than
// CHECK_ABOVE_BYTES is checked against the browser's estimate first.
import { openDB, type IDBPDatabase } from 'idb';
import { shortId } from '../data/hash';
import type { ColumnMap, DatasetRecord } from '../data/record';
import { chunkRecords } from './chunks';
import type { DatasetSnapshot } from './journal';
import { CHECK_ABOVE_BYTES, storedBytes, writeWithRoom } from './quota';
import type { WriterGate } from './writer';
import {
  StorageError, toStorageError, versionZero,
  type DatasetMeta, type DatasetRepository, type LoadedDataset, type VersionMeta,
} from './repository';
import { DB_NAME, DB_VERSION, MIGRATIONS, type StudioDB, type VersionRow } from './schema';

const BATCH = 4;

/** A dataset's journal entries, all of them or those up to seq `upTo`. */
function journalRange(id: string, upTo = Infinity): IDBKeyRange {
  return IDBKeyRange.bound([id, -Infinity], [id, upTo]);
}

function metaOf(row: VersionRow): VersionMeta {
  const { datasetId, version, savedAt, message, recordCount } = row;
  return { datasetId, version, savedAt, message, recordCount };
}

/** A stand-in gate for a repository no role guards (tests, a single page): every write goes through. */
const UNGUARDED: WriterGate = { write: (_doing, f) => f(), refuse: () => null };

export async function openIdbRepository(dbName = DB_NAME, writer: WriterGate = UNGUARDED): Promise<DatasetRepository> {
  if (typeof indexedDB === 'undefined') throw new StorageError('unavailable', 'IndexedDB is not available in this browser');
  let db: IDBPDatabase<StudioDB>;
  try {
    db = await openDB<StudioDB>(dbName, DB_VERSION, {
      upgrade(d, oldVersion, _newVersion, tx) {
        for (let v = oldVersion; v < DB_VERSION; v++) MIGRATIONS[v](d, tx);
      },
    });
  } catch (e) {
    throw toStorageError(e, 'opening the database');
  }

  async function guard<T>(doing: string, f: () => Promise<T>): Promise<T> {
    try { return await f(); } catch (e) { throw toStorageError(e, doing); }
  }
  /** A write of about `bytes`: through the writer role, checked for room, its quota refusal named. */
  const guardWrite = <T>(doing: string, bytes: number | (() => number), f: () => Promise<T>): Promise<T> =>
    guard(doing, () => writer.write(doing, () => writeWithRoom(doing, bytes, f)));
  /** A transaction's requests fail with AbortError when it aborts; its own error says why (QuotaExceededError). */
  async function committed<T>(tx: { error: DOMException | null }, f: () => Promise<T>): Promise<T> {
    try { return await f(); } catch (e) { throw tx.error ?? e; }
  }

  return {
    list: () => guard('listing datasets', async () => (await db.getAll('datasets')).sort((a, b) => b.updatedAt - a.updatedAt)),

    create: (name) => guardWrite('creating a dataset', () => name.length + 64, async () => {
      const now = Date.now();
      const meta: DatasetMeta = { id: shortId(), name, createdAt: now, updatedAt: now, head: 0, recordCount: 0 };
      await db.put('datasets', meta);
      return meta;
    }),

    rename: (id, name) => guardWrite('renaming a dataset', () => name.length + 64, async () => {
      const tx = db.transaction('datasets', 'readwrite');
      const meta = await tx.store.get(id);
      if (!meta) throw new StorageError('not-found', `no dataset ${id}`);
      await tx.store.put({ ...meta, name });
      await tx.done;
    }),

    remove: (id) => guard('deleting a dataset', () => writer.write('deleting a dataset', async () => {
      const tx = db.transaction(['datasets', 'versions', 'chunks', 'journal'], 'readwrite');
      await tx.objectStore('datasets').delete(id);
      await tx.objectStore('versions').delete(IDBKeyRange.bound([id, -Infinity], [id, Infinity]));
      await tx.objectStore('chunks').delete(IDBKeyRange.bound([id, ''], [id, '\uffff']));
      await tx.objectStore('journal').delete(journalRange(id));
      await tx.done;
    })),

    save: async (id, snapshot: DatasetSnapshot, message, journalUpTo) => {
      const chunks = chunkRecords(snapshot.records);
      const chunkKeys = IDBKeyRange.bound([id, ''], [id, '\uffff']);
      // What the save will write: the chunks not stored yet (read again inside the transaction, which must not
      // wait on the estimate: IndexedDB commits a transaction left idle).
      const storedBefore = new Set((await guard('saving the dataset', () => db.getAllKeys('chunks', chunkKeys))).map((k) => k[1]));
      const bytes = storedBytes(chunks.filter((c) => !storedBefore.has(c.key)).map((c) => c.records)) + storedBytes(snapshot.issues) + storedBytes(snapshot.files);
      return guardWrite('saving the dataset', bytes > CHECK_ABOVE_BYTES ? bytes : () => bytes, async () => {
        const tx = db.transaction(['datasets', 'versions', 'chunks', 'journal'], 'readwrite');
        return committed(tx, async () => {
          const meta = await tx.objectStore('datasets').get(id);
          if (!meta) throw new StorageError('not-found', `no dataset ${id}`);
          const chunkStore = tx.objectStore('chunks');
          const stored = new Set((await chunkStore.getAllKeys(chunkKeys)).map((k) => k[1]));
          // Puts go out BATCH chunks at a time: each batch clones ~BATCH×256 records (tens of ms), then the page
          // can paint while IndexedDB writes them (one put per await would pay a round trip per chunk).
          const fresh = chunks.filter((c) => !stored.has(c.key) && stored.add(c.key));
          for (let i = 0; i < fresh.length; i += BATCH) {
            await Promise.all(fresh.slice(i, i + BATCH).map((c) => chunkStore.put({ datasetId: id, key: c.key, records: c.records })));
          }
          const now = Date.now();
          const row: VersionRow = {
            datasetId: id, version: meta.head + 1, savedAt: now, message, recordCount: snapshot.records.length,
            chunkKeys: chunks.map((c) => c.key), issues: snapshot.issues, files: snapshot.files, splitConfig: snapshot.splitConfig,
          };
          await tx.objectStore('versions').put(row);
          await tx.objectStore('datasets').put({ ...meta, head: row.version, updatedAt: now, recordCount: row.recordCount });
          if (journalUpTo !== undefined) await tx.objectStore('journal').delete(journalRange(id, journalUpTo));
          await tx.done;
          return metaOf(row);
        });
      });
    },
    appendJournal: (id, entry) => guardWrite('saving a change', () => storedBytes(entry), async () => {
      const tx = db.transaction('journal', 'readwrite');
      const put = tx.store.put({ ...entry, datasetId: id });
      tx.commit();
      await committed(tx, () => Promise.all([put, tx.done]));
    }),

    load: (id, version) => guard('loading the dataset', async (): Promise<LoadedDataset | null> => {
      const tx = db.transaction(['datasets', 'versions', 'chunks', 'journal'], 'readonly');
      const meta = await tx.objectStore('datasets').get(id);
      if (!meta) return null;
      const journal = async () => (await tx.objectStore('journal').getAll(journalRange(id))).map(({ datasetId: _, ...entry }) => entry);
      if (meta.head === 0) {
        const entries = version ? [] : await journal();
        return entries.length ? { meta, ...versionZero(meta), journal: entries } : null;
      }
      const row = await tx.objectStore('versions').get([id, version ?? meta.head]);
      if (!row) return null;
      const records: DatasetRecord[] = [];
      for (let i = 0; i < row.chunkKeys.length; i += BATCH) {
        const got = await Promise.all(row.chunkKeys.slice(i, i + BATCH).map((key) => tx.objectStore('chunks').get([id, key])));
        for (const c of got) {
          if (!c) throw new StorageError('other', `version ${row.version} of ${meta.name} is missing a chunk`);
          for (const r of c.records) records.push(r);
        }
      }
      const entries = row.version === meta.head ? await journal() : [];
      await tx.done;
      return { meta, version: metaOf(row), snapshot: { records, issues: row.issues, files: row.files, splitConfig: row.splitConfig }, journal: entries };
    }),

    versions: (id) => guard('listing versions', async () => {
      const rows = await db.getAllFromIndex('versions', 'byDataset', id);
      return rows.map(metaOf).sort((a, b) => b.version - a.version);
    }),

    columnMaps: () => guard('reading column maps', async () => {
      const out: Record<string, ColumnMap> = {};
      for (const r of await db.getAll('columnMaps')) out[r.signature] = r.map;
      return out;
    }),

    refuse: (doing) => writer.refuse(doing),

    putColumnMap: (signature, map) => guardWrite('saving a column map', () => storedBytes(map), async () => { await db.put('columnMaps', { signature, map }); }),
  };
}
