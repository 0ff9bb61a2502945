// The datasets slice's library: open the studio, make, open, rename and delete datasets, restore a version, write
// pending changes now, and dismiss the error line.
import type { DatasetsActions } from './actions';
import type { DatasetsContext } from './context';
import { datasetsInitialState, type DatasetsState } from './initialState';

export function libraryActions({ set, get, deps, log, change, loadInto, guarded }: DatasetsContext): Pick<DatasetsActions, 'init' | 'newDataset' | 'openDataset' | 'deleteDataset' | 'renameDataset' | 'restoreVersion' | 'flush' | 'dismissError'> {
  /** The state with no dataset open; what belongs to the studio (storage kind, tokenizer, settings) stays. */
  const emptied = (): DatasetsState => {
    const { persistent, tokenizer, modelTokenizer, quality, assistantOnly } = get();
    return { ...datasetsInitialState, persistent, tokenizer, modelTokenizer, quality, assistantOnly };
  };
  return {
    async init() {
      await guarded(async () => {
        const datasets = await deps.repo.list();
        set(deps.persistent === undefined ? { datasets } : { datasets, persistent: deps.persistent });
        if (datasets.length) await get().openDataset(datasets[0].id);
      });
    },

    async newDataset(name) {
      await guarded(async () => {
        await get().flush();
        const meta = await deps.repo.create(name);
        log.reset();
        set({ ...emptied(), current: meta, datasets: await deps.repo.list() });
      });
    },

    async openDataset(id, version) {
      await guarded(async () => {
        await get().flush();
        const loaded = await deps.repo.load(id, version);
        if (loaded) await loadInto(loaded);
        else {
          const meta = (await deps.repo.list()).find((d) => d.id === id) ?? null;
          log.reset();
          set({ ...emptied(), datasets: get().datasets, current: meta });
        }
        set({ versions: await deps.repo.versions(id) });
      });
    },

    async deleteDataset(id) {
      await guarded(async () => {
        if (get().current?.id === id) log.discard();
        await deps.repo.remove(id);
        const datasets = await deps.repo.list();
        if (get().current?.id === id) set({ ...emptied(), datasets });
        else set({ datasets });
      });
    },

    async renameDataset(name) {
      const cur = get().current;
      if (!cur) return;
      await guarded(async () => {
        await deps.repo.rename(cur.id, name);
        const datasets = await deps.repo.list();
        set({ datasets, current: datasets.find((d) => d.id === cur.id) ?? cur });
      });
    },

    async restoreVersion(version) {
      const cur = get().current;
      if (!cur) return;
      await guarded(async () => {
        await get().flush();
        const loaded = await deps.repo.load(cur.id, version);
        if (!loaded) throw new Error(`version ${version} not found`);
        change(`restore version ${version}`, {
          records: loaded.snapshot.records, issues: loaded.snapshot.issues, files: loaded.snapshot.files,
          splitConfig: loaded.snapshot.splitConfig, duplicates: null,
        }, 'version');
        await get().flush();
      });
    },

    flush: () => log.flush(),

    dismissError() {
      set({ error: null });
    },
  };
}
