// The datasets store: state + actions + selectors. createDatasetsStore builds one (tests inject the in-memory
// repository and the in-thread data tools); the page's own is app/store/index.ts.
import type { DatasetsActions, DatasetsDeps } from './actions';
import { createDatasetsActions } from './actions';
import { datasetsInitialState, type DatasetsState } from './initialState';
import { createStore, type StoreApi } from 'zustand/vanilla';

export type DatasetsSlice = DatasetsState & DatasetsActions;

function createDatasetsSlice(
  set: StoreApi<DatasetsSlice>['setState'], get: StoreApi<DatasetsSlice>['getState'], deps: DatasetsDeps,
): DatasetsSlice {
  return { ...datasetsInitialState, ...createDatasetsActions(set, get, deps) };
}

export type DatasetsStore = StoreApi<DatasetsSlice>;

export function createDatasetsStore(deps: DatasetsDeps): DatasetsStore {
  return createStore<DatasetsSlice>()((set, get) => createDatasetsSlice(set, get, deps));
}

export { datasetsSelectors } from './selectors';
export type { DatasetsState, DatasetsActions, DatasetsDeps };
