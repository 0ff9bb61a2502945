// The datasets slice: state + actions + selectors, composed into the studio store (app/store/index.ts).
import type { DatasetsActions, DatasetsDeps } from './actions';
import { createDatasetsActions } from './actions';
import { datasetsInitialState, type DatasetsState } from './initialState';
import type { StoreApi } from 'zustand/vanilla';

export type DatasetsSlice = DatasetsState & DatasetsActions;

export function createDatasetsSlice(
  set: StoreApi<DatasetsSlice>['setState'], get: StoreApi<DatasetsSlice>['getState'], deps: DatasetsDeps,
): DatasetsSlice {
  return { ...datasetsInitialState, ...createDatasetsActions(set, get, deps) };
}

export { datasetsSelectors } from './selectors';
export type { DatasetsState, DatasetsActions, DatasetsDeps };
