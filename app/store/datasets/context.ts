// What the datasets slices share (actions.ts composes them): the store's set/get and deps, the dataset log (journal
// and versions, src/storage/dataset-log.ts), and `change`, the one way records, issues and files change: an undo
// entry, the redo stack cleared, the step handed to the log, which makes it durable at once.
import type { StoreApi } from 'zustand/vanilla';
import type { DataTools } from '../../../src/data/tools';
import { warmQualityFacts } from '../../../src/data/quality';
import { errorMessage } from '../../../src/errors';
import { createDatasetLog, type Durability } from '../../../src/storage/dataset-log';
import { replayJournal, type DatasetSnapshot } from '../../../src/storage/journal';
import type { DatasetRepository, LoadedDataset } from '../../../src/storage/repository';
import type { DatasetsActions } from './actions';
import type { DatasetsState, UndoEntry } from './initialState';

export interface DatasetsDeps {
  repo: DatasetRepository;
  tools: DataTools;
  autosaveMs?: number;
  persistent?: boolean;
}

const UNDO_LIMIT = 50;

type Set_ = StoreApi<DatasetsState & DatasetsActions>['setState'];
type Get = StoreApi<DatasetsState & DatasetsActions>['getState'];

export type DatasetsContext = ReturnType<typeof createDatasetsContext>;

export function createDatasetsContext(set: Set_, get: Get, deps: DatasetsDeps) {
  const snapshotOf = (s: DatasetsState): DatasetSnapshot => ({ records: s.records, issues: s.issues, files: s.files, splitConfig: s.splitConfig });

  const log = createDatasetLog({
    repo: deps.repo,
    autosaveMs: deps.autosaveMs,
    current: () => { const s = get(); return s.current ? { datasetId: s.current.id, snapshot: snapshotOf(s) } : null; },
    onStatus: (save) => set(save.kind === 'error' ? { save, error: save.message } : { save }),
    async onSaved(v) {
      const [datasets, versions] = await Promise.all([deps.repo.list(), deps.repo.versions(v.datasetId)]);
      set({ datasets, versions, current: datasets.find((d) => d.id === v.datasetId) ?? get().current });
    },
  });

  function snapshotFor(label: string): UndoEntry {
    const s = get();
    return { label, records: s.records, issues: s.issues, files: s.files };
  }

  /** True (and the reason shown) when this tab may not write the change: another tab holds the writer role. */
  function refused(label: string): boolean {
    const e = log.refuse(label);
    if (e) set({ error: e.message });
    return e !== null;
  }

  /** Applies a change to records/issues/files as one undoable, durable step. */
  function change(label: string, next: Partial<Pick<DatasetsState, 'records' | 'issues' | 'files' | 'duplicates' | 'splitConfig'>>, durability: Durability = 'diff') {
    if (refused(label)) return;
    const before = snapshotOf(get());
    const entry = snapshotFor(label);
    set((s) => ({ ...next, undoStack: [...s.undoStack, entry].slice(-UNDO_LIMIT), redoStack: [] }));
    log.record(label, before, durability);
  }

  /** Opens a loaded version with its journal replayed over it; each replayed change can be undone. */
  async function loadInto(loaded: LoadedDataset) {
    const { snapshot, steps } = replayJournal(loaded.snapshot, loaded.journal);
    // Quality facts in slices between tasks: a replayed import may hold 100k records.
    await warmQualityFacts(snapshot.records);
    const undoStack: UndoEntry[] = steps.map(({ label, before }) => ({ label, records: before.records, issues: before.issues, files: before.files }));
    set({
      current: loaded.meta, records: snapshot.records, issues: snapshot.issues, files: snapshot.files,
      splitConfig: snapshot.splitConfig, selection: new Set(), duplicates: null, undoStack: undoStack.slice(-UNDO_LIMIT), redoStack: [],
      tokenCounts: null, save: loaded.journal.length ? { kind: 'unsaved' } : { kind: 'saved', version: loaded.version.version },
    });
    log.opened(loaded.journal, steps.map((e) => e.label));
  }

  async function ensureDataset(name: string) {
    if (get().current) return;
    const meta = await deps.repo.create(name);
    log.reset();
    set({ current: meta, datasets: await deps.repo.list(), versions: [] });
  }

  async function guarded(f: () => Promise<void>) {
    try { await f(); } catch (e) { set({ error: errorMessage(e), progress: null }); }
  }

  const byIds = (ids: readonly string[]) => new Set(ids);

  return { set, get, deps, log, snapshotOf, snapshotFor, refused, change, loadInto, ensureDataset, guarded, byIds };
}
