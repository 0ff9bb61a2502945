// The IndexedDB schema, versioned. Each entry in MIGRATIONS upgrades from the version before it; never
// edit a shipped migration, add the next one.
//   datasets    key id                         DatasetMeta
//   versions    key [datasetId, version]       VersionRow (meta + chunk keys + issues/files/split)
//   chunks      key [datasetId, chunkKey]      { datasetId, key, records }
//   columnMaps  key signature                  { signature, map }
//   journal     key [datasetId, seq]           JournalEntry + datasetId: changes since the newest version (v2)
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { ColumnMap, DatasetRecord, ImportIssue } from '../data/record';
import type { FileContext } from '../data/import';
import type { SplitConfig } from '../data/split';
import type { JournalEntry } from './journal';
import type { DatasetMeta, VersionMeta } from './repository';

export const DB_NAME = 'sft-studio';

export interface VersionRow extends VersionMeta {
  chunkKeys: string[];
  issues: ImportIssue[];
  files: FileContext[];
  splitConfig: SplitConfig;
}

export interface StudioDB extends DBSchema {
  datasets: { key: string; value: DatasetMeta };
  versions: { key: [string, number]; value: VersionRow; indexes: { byDataset: string } };
  chunks: { key: [string, string]; value: { datasetId: string; key: string; records: DatasetRecord[] } };
  columnMaps: { key: string; value: { signature: string; map: ColumnMap } };
  journal: { key: [string, number]; value: JournalEntry & { datasetId: string } };
}

type Upgrade = (db: IDBPDatabase<StudioDB>, tx: IDBPTransaction<StudioDB, StoreNames<StudioDB>[], 'versionchange'>) => void;

export const MIGRATIONS: Upgrade[] = [
  // v1: datasets with chunked, versioned records; remembered column maps.
  (db) => {
    db.createObjectStore('datasets', { keyPath: 'id' });
    const versions = db.createObjectStore('versions', { keyPath: ['datasetId', 'version'] });
    versions.createIndex('byDataset', 'datasetId');
    db.createObjectStore('chunks', { keyPath: ['datasetId', 'key'] });
    db.createObjectStore('columnMaps', { keyPath: 'signature' });
  },
  // v2: the write-ahead journal of changes not yet folded into a version.
  (db) => {
    db.createObjectStore('journal', { keyPath: ['datasetId', 'seq'] });
  },
];

export const DB_VERSION = MIGRATIONS.length;
