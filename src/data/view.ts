// What the table shows: records filtered by search, column filters, flag, split, source file, quality
// check, duplicate membership and length, then sorted. Pure and framework-free so it is tested in Node and
// fast on 100k rows: lowercased search text is cached per record object (records are immutable, so a
// WeakMap keyed by the object never goes stale).
import type { QualityCheck, QualityResult } from './quality';
import { charLength, promptOf, responseOf, type DatasetRecord, type Split } from './record';

export type SortColumn = 'source' | 'prompt' | 'response' | 'length' | 'tokens' | 'turns' | 'split';

export interface ViewQuery {
  search: string;
  prompt: string;
  response: string;
  flag: 'all' | 'flagged' | 'unflagged';
  split: 'all' | Split;
  file: string; // 'all' or a source file name
  check: 'all' | QualityCheck;
  duplicates: 'all' | 'duplicates';
  minChars: number | null;
  maxChars: number | null;
  sort: { column: SortColumn; desc: boolean } | null;
}

export const EMPTY_QUERY: ViewQuery = {
  search: '', prompt: '', response: '', flag: 'all', split: 'all', file: 'all', check: 'all',
  duplicates: 'all', minChars: null, maxChars: null, sort: null,
};

interface ViewContext {
  /** A record's quality verdict (computed lazily and cached by the caller: only filters and sorts ask). */
  quality: (r: DatasetRecord) => QualityResult;
  duplicateIds: ReadonlySet<string>;
}

const haystacks = new WeakMap<DatasetRecord, string>();

function haystack(r: DatasetRecord): string {
  let h = haystacks.get(r);
  if (h === undefined) {
    h = [...r.messages, ...r.rejected ?? []].map((m) => m.content).join('\n').toLowerCase();
    haystacks.set(r, h);
  }
  return h;
}

function sortValue(r: DatasetRecord, col: SortColumn, ctx: ViewContext): string | number {
  switch (col) {
    case 'source': return `${r.source.file}\u0000${String(r.source.line).padStart(10, '0')}`;
    case 'prompt': return promptOf(r).toLowerCase();
    case 'response': return responseOf(r).toLowerCase();
    case 'length': return charLength(r);
    case 'tokens': return ctx.quality(r).tokens;
    case 'turns': return r.messages.length;
    case 'split': return r.split;
  }
}

export function applyView(records: readonly DatasetRecord[], q: ViewQuery, ctx: ViewContext): DatasetRecord[] {
  const search = q.search.trim().toLowerCase();
  const prompt = q.prompt.trim().toLowerCase();
  const response = q.response.trim().toLowerCase();
  const out = records.filter((r) => {
    if (q.flag === 'flagged' && !r.flagged) return false;
    if (q.flag === 'unflagged' && r.flagged) return false;
    if (q.split !== 'all' && r.split !== q.split) return false;
    if (q.file !== 'all' && r.source.file !== q.file) return false;
    if (q.check !== 'all' && !ctx.quality(r).checks.includes(q.check)) return false;
    if (q.duplicates === 'duplicates' && !ctx.duplicateIds.has(r.id)) return false;
    if (q.minChars !== null || q.maxChars !== null) {
      const n = charLength(r);
      if (q.minChars !== null && n < q.minChars) return false;
      if (q.maxChars !== null && n > q.maxChars) return false;
    }
    if (search && !haystack(r).includes(search)) return false;
    if (prompt && !promptOf(r).toLowerCase().includes(prompt)) return false;
    if (response && !responseOf(r).toLowerCase().includes(response)) return false;
    return true;
  });
  if (q.sort) {
    const { column, desc } = q.sort;
    const keyed = out.map((r, i) => ({ r, i, k: sortValue(r, column, ctx) }));
    keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i) * (desc && a.k !== b.k ? -1 : 1));
    return keyed.map((x) => x.r);
  }
  return out;
}
