// The running app's store: IndexedDB for storage (in-memory if the browser refuses it, which the page
// then says) and the data worker as engine. Created on first use; tests build their own with
// createStudioStore and inject stand-ins. It follows the engine's loaded model: each time a model loads,
// the data tools take its tokenizer (engine.tokenizerFiles), so token counts and the loss-mask preview
// match what training will do.
import { createWorkerEngine } from '../../src/data/worker-client';
import type { ModelInfo } from '../../workers/protocol-engine';
import { appEngineStore } from '../engine/store';
import { deferredRepository } from '../../src/storage/deferred';
import { openIdbRepository } from '../../src/storage/idb-repository';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import { createStudioStore, type StudioStore } from './index';
import { errorMessage } from '../../src/errors';

let store: StudioStore | null = null;
let initialised: Promise<void> | null = null;

/** Resolves once the app store has read what IndexedDB holds (its init has run). */
export function appStoreReady(): Promise<void> {
  appStore();
  return initialised!;
}

export function appStore(): StudioStore {
  if (store) return store;
  let persistent = true;
  const ready = openIdbRepository().catch(() => { persistent = false; return createMemoryRepository(); });
  const worker = new Worker(new URL('../../workers/data-worker.ts', import.meta.url), { type: 'module', name: 'data' });
  const s = createStudioStore({ datasets: { repo: deferredRepository(ready), engine: createWorkerEngine(worker) } });
  store = s;
  initialised = ready.then(() => { s.setState({ persistent }); return s.getState().init(); });
  followLoadedModel(s);
  // Ask the browser not to evict the datasets under storage pressure (it may say no; saving still works).
  void navigator.storage?.persist?.().catch(() => false);
  // Unsaved edits are written when the page is hidden (tab switch, reload, close).
  addEventListener('pagehide', () => { void s.getState().flush(); });
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') void s.getState().flush(); });
  return s;
}

function followLoadedModel(studio: StudioStore) {
  const engineStore = appEngineStore();
  let last: ModelInfo | null = null;
  const sync = (model: ModelInfo | null) => {
    if (!model || model === last) return;
    last = model;
    engineStore.getState().engine.tokenizerFiles().then(
      (files) => studio.getState().countWithModelTokenizer(files),
      (e: unknown) => studio.setState({ error: `Could not read the tokenizer of ${model.name}: ${errorMessage(e)}` }),
    );
  };
  sync(engineStore.getState().model);
  engineStore.subscribe((st) => sync(st.model));
}
