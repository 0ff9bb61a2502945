// Derived views of the datasets slice, memoised on the identity of their inputs (the slice replaces
// arrays on change, never mutates them), so a 100k-row table recomputes only when its inputs change.
import { checkRecord, countChecks, estimateTokens, type QualityOptions, type QualityResult } from '../../../src/data/quality';
import { splitCounts } from '../../../src/data/split';
import { applyView, sourceFiles } from '../../../src/data/view';
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

// Per-record results are cached on the record object while the options stay the same, so an edit
// re-checks one record, not 100k.
let cacheKey: [DatasetsState['quality'], DatasetsState['tokenCounts']] | null = null;
let cache = new WeakMap<DatasetRecord, QualityResult>();

const quality = memo((records: DatasetRecord[], q: DatasetsState['quality'], counts: DatasetsState['tokenCounts']) => {
  if (!cacheKey || cacheKey[0] !== q || cacheKey[1] !== counts) { cache = new WeakMap(); cacheKey = [q, counts]; }
  const opts: QualityOptions = {
    ...q,
    countTokens: counts ? (c) => { const r = c as DatasetRecord; return counts.get(`${r.id}:${r.rev}`) ?? estimateTokens(r); } : undefined,
  };
  const out = new Map<string, QualityResult>();
  for (const r of records) {
    let res = cache.get(r);
    if (!res) { res = checkRecord(r, opts); cache.set(r, res); }
    out.set(r.id, res);
  }
  return out;
});

const duplicateIds = memo((groups: DatasetsState['duplicates']) => new Set(groups?.flatMap((g) => g.ids) ?? []));

const visible = memo((records: DatasetRecord[], query: DatasetsState['query'], q: ReadonlyMap<string, QualityResult>, dups: ReadonlySet<string>) =>
  applyView(records, query, { quality: q, duplicateIds: dups }));

const files = memo((records: DatasetRecord[]) => sourceFiles(records));
const splits = memo((records: DatasetRecord[]) => splitCounts(records));
const checkCounts = memo((q: ReadonlyMap<string, QualityResult>) => countChecks(q.values()));
const byId = memo((records: DatasetRecord[]) => new Map(records.map((r) => [r.id, r])));

export const datasetsSelectors = {
  quality: (s: DatasetsState) => quality(s.records, s.quality, s.tokenCounts),
  duplicateIds: (s: DatasetsState) => duplicateIds(s.duplicates),
  visibleRecords: (s: DatasetsState) => visible(s.records, s.query, datasetsSelectors.quality(s), datasetsSelectors.duplicateIds(s)),
  sourceFiles: (s: DatasetsState) => files(s.records),
  splitCounts: (s: DatasetsState) => splits(s.records),
  checkCounts: (s: DatasetsState) => checkCounts(datasetsSelectors.quality(s)),
  recordById: (s: DatasetsState) => byId(s.records),
  errorIssues: (s: DatasetsState) => s.issues.filter((i) => i.severity === 'error'),
  canUndo: (s: DatasetsState) => s.undoStack.length > 0,
  canRedo: (s: DatasetsState) => s.redoStack.length > 0,
};
