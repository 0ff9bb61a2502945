// DatasetRepository in memory: the same contract as the IndexedDB one (versions, structured-clone
// copies so callers cannot mutate what was saved), for unit tests and as a fallback where IndexedDB is
// unavailable (then nothing survives a reload, and the UI says so).
import { shortId } from '../data/hash';
import type { ColumnMap } from '../data/record';
import type { DatasetSnapshot, JournalEntry } from './journal';
import { StorageError, versionZero, type DatasetMeta, type DatasetRepository, type VersionMeta } from './repository';

export function createMemoryRepository(opts: { failSavesWith?: () => unknown } = {}): DatasetRepository {
  const metas = new Map<string, DatasetMeta>();
  const versions = new Map<string, { meta: VersionMeta; snapshot: DatasetSnapshot }[]>();
  const maps: Record<string, ColumnMap> = {};
  const journals = new Map<string, JournalEntry[]>();
  const get = (id: string) => {
    const m = metas.get(id);
    if (!m) throw new StorageError('not-found', `no dataset ${id}`);
    return m;
  };
  return {
    async list() { return [...metas.values()].sort((a, b) => b.updatedAt - a.updatedAt).map((m) => ({ ...m })); },
    async create(name) {
      const now = Date.now();
      const meta = { id: shortId(), name, createdAt: now, updatedAt: now, head: 0, recordCount: 0 };
      metas.set(meta.id, meta);
      versions.set(meta.id, []);
      return { ...meta };
    },
    async rename(id, name) { get(id).name = name; },
    async remove(id) { metas.delete(id); versions.delete(id); journals.delete(id); },
    async save(id, snapshot, message, journalUpTo) {
      const meta = get(id);
      if (opts.failSavesWith) throw opts.failSavesWith();
      if (journalUpTo !== undefined) journals.set(id, (journals.get(id) ?? []).filter((e) => e.seq > journalUpTo));
      const v: VersionMeta = { datasetId: id, version: meta.head + 1, savedAt: Date.now(), message, recordCount: snapshot.records.length };
      versions.get(id)!.push({ meta: v, snapshot: structuredClone(snapshot) });
      Object.assign(meta, { head: v.version, updatedAt: v.savedAt, recordCount: v.recordCount });
      return { ...v };
    },
    async appendJournal(id, entry) {
      get(id);
      journals.set(id, [...(journals.get(id) ?? []), structuredClone(entry)]);
    },
    async load(id, version) {
      const meta = metas.get(id);
      if (!meta) return null;
      if (meta.head === 0) {
        const journal = journals.get(id) ?? [];
        return version || !journal.length ? null : { meta: { ...meta }, ...versionZero(meta), journal: structuredClone(journal) };
      }
      const v = versions.get(id)!.find((x) => x.meta.version === (version ?? meta.head));
      if (!v) return null;
      const journal = v.meta.version === meta.head ? structuredClone(journals.get(id) ?? []) : [];
      return { meta: { ...meta }, version: { ...v.meta }, snapshot: structuredClone(v.snapshot), journal };
    },
    async versions(id) { return (versions.get(id) ?? []).map((v) => ({ ...v.meta })).reverse(); },
    async columnMaps() { return { ...maps }; },
    async putColumnMap(signature, map) { maps[signature] = map; },
  };
}
