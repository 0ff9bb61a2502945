// Derived views of the datasets slice, memoised on the identity of their inputs (the slice replaces
// arrays on change, never mutates them), so a 100k-row table recomputes only when its inputs change.
import { checkRecord, countChecks, estimateTokens, type QualityOptions, type QualityResult } from '../../../src/data/quality';
import { splitCounts } from '../../../src/data/split';
import { applyView } from '../../../src/data/view';
import type { DatasetRecord } from '../../../src/data/record';
import type { DatasetsState } from './initialState';

function memo<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => R {
  let last: A | null = null;
  let value: R;
  return (...args: A) => {
    if (!last || args.length !== last.length || args.some((a, i) => a !== last![i])) {
      value = f(...args);
      last = args;
    }
    return value;
  };
}

// A record's verdict is computed when first asked for and cached on the record object while the options
// stay the same, so an edit re-checks one record, not 100k, and landing 100k rows builds no table of
// verdicts up front (the text work behind each is done in the data worker: quality.ts QualityFacts).
const qualityOptions = memo((q: DatasetsState['quality'], counts: DatasetsState['tokenCounts']): QualityOptions => ({
  ...q,
  countTokens: counts ? (c) => { const r = c as DatasetRecord; return counts.get(`${r.id}:${r.rev}`) ?? estimateTokens(r); } : undefined,
}));

const qualityOf = memo((opts: QualityOptions) => {
  const cache = new WeakMap<DatasetRecord, QualityResult>();
  return (r: DatasetRecord): QualityResult => {
    let res = cache.get(r);
    if (!res) { res = checkRecord(r, opts); cache.set(r, res); }
    return res;
  };
});

const duplicateIds = memo((groups: DatasetsState['duplicates']) => new Set(groups?.flatMap((g) => g.ids) ?? []));

const visible = memo((records: DatasetRecord[], query: DatasetsState['query'], q: (r: DatasetRecord) => QualityResult, dups: ReadonlySet<string>) =>
  applyView(records, query, { quality: q, duplicateIds: dups }));

// The imported files, not a scan of 100k records (a file whose rows were all deleted stays listed).
const files = memo((contexts: DatasetsState['files']) => [...new Set(contexts.map((f) => f.file))].sort());
const splits = memo((records: DatasetRecord[]) => splitCounts(records));
// Counting does not fill the verdict cache: only rows on screen (and filters) need verdicts kept.
const checkCounts = memo((records: DatasetRecord[], opts: QualityOptions) => countChecks(records.map((r) => checkRecord(r, opts))));
// Built on the first lookup only (an open editor, a preview, duplicate groups), not on every records change.
const byId = memo((records: DatasetRecord[]) => {
  let map: Map<string, DatasetRecord> | null = null;
  return { get: (id: string) => (map ??= new Map(records.map((r) => [r.id, r]))).get(id) };
});

const hasPairs = memo((records: DatasetRecord[]) => records.some((r) => r.rejected));

export const datasetsSelectors = {
  /** True when some record is a preference pair (the table then shows the rejected answers). */
  hasPairs: (s: DatasetsState) => hasPairs(s.records),
  /** The verdict of one record under the current options: (record) => QualityResult. */
  quality: (s: DatasetsState) => qualityOf(qualityOptions(s.quality, s.tokenCounts)),
  duplicateIds: (s: DatasetsState) => duplicateIds(s.duplicates),
  visibleRecords: (s: DatasetsState) => visible(s.records, s.query, datasetsSelectors.quality(s), datasetsSelectors.duplicateIds(s)),
  sourceFiles: (s: DatasetsState) => files(s.files),
  splitCounts: (s: DatasetsState) => splits(s.records),
  checkCounts: (s: DatasetsState) => checkCounts(s.records, qualityOptions(s.quality, s.tokenCounts)),
  recordById: (s: DatasetsState) => byId(s.records),
  errorIssues: (s: DatasetsState) => s.issues.filter((i) => i.severity === 'error'),
  canUndo: (s: DatasetsState) => s.undoStack.length > 0,
  canRedo: (s: DatasetsState) => s.redoStack.length > 0,
};
