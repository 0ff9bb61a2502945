// The page's datasets store: IndexedDB for storage (in-memory if the browser refuses it, which the page
// then says) and the data worker as engine. Created on first use; tests build their own with
// createDatasetsStore (./datasets) and inject stand-ins. Every store on the page is built the same way:
// createXStore(deps) builds one, appXStore() is the page's own made on first use, and useX(selector) reads it
// in components (engine: ./engine.ts; compare, training, export: their feature's store.ts). It follows the engine's loaded model: each time a model loads,
// the data tools take its tokenizer (the data worker reads it from the engine worker over their own channel), so
// token counts and the loss-mask preview match what training will do.
import { dataToolsClient } from '../../workers/data-client';
import { watchLife } from '../../workers/life';
import type { ModelInfo } from '../../src/engine/api';
import { joinEngineWorker } from './engine-worker';
import { appEngineStore } from './engine';
import { deferredRepository } from '../../src/storage/deferred';
import { openIdbRepository } from '../../src/storage/idb-repository';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import { pageWriter } from '../shell/writer';
import { useStore } from 'zustand';
import type { DatasetsSlice } from './datasets';
import { createDatasetsStore, type DatasetsStore } from './datasets';

let store: DatasetsStore | null = null;
let initialised: Promise<void> | null = null;

/** Resolves once the datasets store has read what IndexedDB holds (its init has run). */
export function datasetsStoreReady(): Promise<void> {
  appDatasetsStore();
  return initialised!;
}

export function useDatasets<T>(selector: (s: DatasetsSlice) => T): T {
  return useStore(appDatasetsStore(), selector);
}

export function appDatasetsStore(): DatasetsStore {
  if (store) return store;
  let persistent = true;
  // Writes go through this tab's writer role: a second tab of the studio reads but does not write.
  const writer = pageWriter() ?? undefined;
  const ready = openIdbRepository(undefined, writer).catch(() => { persistent = false; return createMemoryRepository(); });
  const worker = new Worker(new URL('../../workers/data-worker.ts', import.meta.url), { type: 'module', name: 'data' });
  joinEngineWorker(worker);
  const tools = dataToolsClient(worker);
  // What the worker was asked settles with this line; the datasets in IndexedDB are the page's, untouched.
  watchLife(worker, (why) => tools.lose(`The data worker ${why}; reload the page to import or count tokens again.`));
  const s = createDatasetsStore({ repo: deferredRepository(ready, writer), tools });
  store = s;
  // Handing the role over saves what is pending; taking it over re-reads what the other tab changed.
  writer?.beforeRelease(() => s.getState().flush());
  writer?.afterTakeOver(async () => {
    const open = s.getState().current;
    await (open ? s.getState().openDataset(open.id) : s.getState().init());
  });
  initialised = ready.then(() => { s.setState({ persistent }); return s.getState().init(); });
  followLoadedModel(s);
  // Ask the browser not to evict the datasets under storage pressure (it may say no; saving still works).
  void navigator.storage?.persist?.().catch(() => false);
  // Unsaved edits are written when the page is hidden (tab switch, reload, close).
  addEventListener('pagehide', () => { void s.getState().flush(); });
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') void s.getState().flush(); });
  return s;
}

function followLoadedModel(studio: DatasetsStore) {
  const engineStore = appEngineStore();
  let last: ModelInfo | null = null;
  const sync = (model: ModelInfo | null) => {
    if (!model || model === last) return;
    last = model;
    void studio.getState().countWithModelTokenizer();
  };
  sync(engineStore.getState().model);
  engineStore.subscribe((st) => sync(st.model));
}

export { datasetsSelectors } from './datasets';
