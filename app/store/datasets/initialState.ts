// The datasets slice's state: the open dataset (records, open import issues, file contexts, split), the
// table's query and selection, duplicate groups, progress of long jobs, undo history and save status.
import type { DuplicateGroup } from '../../../src/data/dedupe';
import type { HubListing, Progress } from '../../../src/data/tools';
import type { FileContext, NeedsMapping } from '../../../src/data/import';
import { DEFAULT_QUALITY } from '../../../src/data/quality';
import type { DatasetRecord, ImportIssue } from '../../../src/data/record';
import { DEFAULT_SPLIT, type SplitConfig } from '../../../src/data/split';
import type { PreviewToken, TokenizerInfo, TokenStats } from '../../../src/data/tokens';
import { EMPTY_QUERY, type ViewQuery } from '../../../src/data/view';
import type { SaveStatus } from '../../../src/storage/dataset-log';
import type { DatasetMeta, VersionMeta } from '../../../src/storage/repository';

export interface UndoEntry {
  label: string;
  records: DatasetRecord[];
  issues: ImportIssue[];
  files: FileContext[];
}

export interface PendingMapping {
  file: File;
  needs: NeedsMapping;
}


export interface DatasetsState {
  datasets: DatasetMeta[];
  current: DatasetMeta | null;
  records: DatasetRecord[];
  issues: ImportIssue[];
  files: FileContext[];
  splitConfig: SplitConfig;
  versions: VersionMeta[];
  query: ViewQuery;
  selection: ReadonlySet<string>;
  duplicates: DuplicateGroup[] | null;
  quality: { maxSeqLen: number; minAnswerWords: number };
  /** Token counts from the chosen tokenizer keyed by `${id}:${rev}` (edited rows fall back to estimates). */
  tokenCounts: ReadonlyMap<string, number> | null;
  /** The tokenizer counting tokens: the loaded model's (origin 'model', named by the model) or picked files. */
  tokenizer: { name: string; origin: 'model' | 'files'; info: TokenizerInfo } | null;
  /** Name of the loaded model whose tokenizer the studio has (to go back to it after picking files). */
  modelTokenizer: string | null;
  tokenStats: TokenStats | null;
  /** Train on assistant turns only (the default), or on the whole sequence. */
  assistantOnly: boolean;
  /** The previewed example's tokens; for a preference pair `tokens` is prompt + chosen, `rejected` prompt + rejected. */
  preview: { id: string; rev: number; tokens: PreviewToken[]; rejected?: PreviewToken[] } | null;
  progress: Progress | null;
  /** The Hub dataset last listed for import (its configs, splits and files), or null. */
  hubListing: HubListing | null;
  pendingMappings: PendingMapping[];
  undoStack: UndoEntry[];
  redoStack: UndoEntry[];
  save: SaveStatus;
  /** A message for the user (role=alert); cleared by dismissError. */
  error: string | null;
  /** False when running on the in-memory fallback (nothing survives reload). */
  persistent: boolean;
}

export const datasetsInitialState: DatasetsState = {
  datasets: [], current: null, records: [], issues: [], files: [], splitConfig: DEFAULT_SPLIT, versions: [],
  query: EMPTY_QUERY, selection: new Set(), duplicates: null,
  quality: { maxSeqLen: DEFAULT_QUALITY.maxSeqLen, minAnswerWords: DEFAULT_QUALITY.minAnswerWords },
  tokenCounts: null, tokenizer: null, modelTokenizer: null, tokenStats: null, assistantOnly: true, preview: null, progress: null, hubListing: null, pendingMappings: [], undoStack: [], redoStack: [],
  save: { kind: 'idle' }, error: null, persistent: true,
};
