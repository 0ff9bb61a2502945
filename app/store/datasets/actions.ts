// The datasets slice's actions, composed from slices of one idea each (library, imports, edits, view, curation,
// tokens) over their shared context (context.ts: the log and `change`, through which every change to records goes).
import type { ViewQuery } from '../../../src/data/view';
import type { ColumnMap } from '../../../src/data/record';
import type { SplitConfig } from '../../../src/data/split';
import type { ChatMessage } from '../../../src/data/types';
import { createDatasetsContext, type DatasetsDeps } from './context';
import { curationActions } from './curation';
import { editActions } from './edits';
import { importActions } from './imports';
import type { DatasetsState } from './initialState';
import { libraryActions } from './library';
import { tokenActions } from './tokens';
import { viewActions } from './view';
import type { StoreApi } from 'zustand/vanilla';

export type { DatasetsDeps };

export interface DatasetsActions {
  init(): Promise<void>;
  importFiles(files: File[]): Promise<void>;
  /** Lists Hub dataset `spec` (OWNER/NAME[@revision]) at `endpoint` into hubListing; a failure is the error line. */
  listHubDataset(spec: string, endpoint: string): Promise<void>;
  /** Downloads the listed dataset's `split` of `config` (with progress) and imports its files as importFiles does. */
  importHubSplit(config: string, split: string, endpoint: string): Promise<void>;
  applyMapping(map: ColumnMap, remember: boolean): Promise<void>;
  skipMapping(): void;
  /** `rejected`: a preference pair's rejected answer, edited beside its messages. */
  editRecord(id: string, messages: ChatMessage[], rejected?: ChatMessage[]): void;
  setFlag(ids: readonly string[], flagged: boolean): void;
  deleteRecords(ids: readonly string[]): void;
  undo(): void;
  redo(): void;
  fixIssue(issueId: string, raw: string): void;
  dropIssues(issueIds: readonly string[]): void;
  setQuery(q: Partial<ViewQuery>): void;
  setSelected(ids: readonly string[], selected: boolean): void;
  clearSelection(): void;
  findDuplicates(opts?: { near: boolean; threshold: number }): Promise<void>;
  /** Keeps `keepId` of a duplicate group and deletes the group's other members. */
  keepOne(groupIndex: number, keepId: string): void;
  /** Keeps the first member of every duplicate group. */
  keepFirstOfAll(): void;
  applySplit(cfg: SplitConfig): void;
  setQualityOptions(q: Partial<DatasetsState['quality']>): void;
  /** Loads tokenizer.json + tokenizer_config.json (picked together) into the data tools: an override of the model's. */
  loadTokenizer(files: File[]): Promise<void>;
  /**
   * Counts with the loaded model's tokenizer, which the data tools read from whoever holds the model at this moment:
   * after each model load, and to go back after picked files.
   */
  countWithModelTokenizer(): Promise<void>;
  computeTokenStats(): Promise<void>;
  setAssistantOnly(on: boolean): void;
  previewExample(id: string): Promise<void>;
  newDataset(name: string): Promise<void>;
  openDataset(id: string, version?: number): Promise<void>;
  deleteDataset(id: string): Promise<void>;
  renameDataset(name: string): Promise<void>;
  restoreVersion(version: number): Promise<void>;
  /** Writes pending changes now (a new version if anything changed). */
  flush(): Promise<void>;
  dismissError(): void;
}

export function createDatasetsActions(
  set: StoreApi<DatasetsState & DatasetsActions>['setState'], get: StoreApi<DatasetsState & DatasetsActions>['getState'], deps: DatasetsDeps,
): DatasetsActions {
  const ctx = createDatasetsContext(set, get, deps);
  return { ...libraryActions(ctx), ...importActions(ctx), ...editActions(ctx), ...viewActions(ctx), ...curationActions(ctx), ...tokenActions(ctx) };
}
