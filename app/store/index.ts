// The studio's one zustand store, composed from per-feature slices (datasets now; training, compare and
// export add theirs beside it). Dependencies (storage, workers) are injected so tests run the same store
// on the in-memory repository and the in-thread engine.
import { createContext, createElement, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createDatasetsSlice, type DatasetsDeps, type DatasetsSlice } from './datasets';

export type StudioState = DatasetsSlice;
export type StudioStore = StoreApi<StudioState>;

export interface StudioDeps {
  datasets: DatasetsDeps;
}

export function createStudioStore(deps: StudioDeps): StudioStore {
  return createStore<StudioState>()((set, get) => ({
    ...createDatasetsSlice(set, get, deps.datasets),
  }));
}

const StudioContext = createContext<StudioStore | null>(null);

export function StudioProvider({ store, children }: { store: StudioStore; children: ReactNode }) {
  return createElement(StudioContext.Provider, { value: store }, children);
}

export function useStudioStore(): StudioStore {
  const store = useContext(StudioContext);
  if (!store) throw new Error('useStudio outside <StudioProvider>');
  return store;
}

export function useStudio<T>(selector: (s: StudioState) => T): T {
  return useStore(useStudioStore(), selector);
}

export { datasetsSelectors } from './datasets';
