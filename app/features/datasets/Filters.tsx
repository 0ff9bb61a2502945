// The table's search and filters: full-text search, prompt/response column filters, flag, split, source
// file, quality check, duplicates and length. Each control is labelled; all write the slice's query.
import { QUALITY_CHECKS } from '../../../src/data/quality';
import { datasetsSelectors as sel, useDatasets } from '../../store';
import type { ViewQuery } from '../../../src/data/view';

export function Filters() {
  const q = useDatasets((s) => s.query);
  const setQuery = useDatasets((s) => s.setQuery);
  const files = useDatasets(sel.sourceFiles);
  const hasDups = useDatasets((s) => s.duplicates !== null);
  const num = (v: string) => (v.trim() === '' ? null : Math.max(0, Number(v)));
  return (
    <div className="filters" role="search" aria-label="Filter examples">
      <label>Search<input type="search" value={q.search} onChange={(e) => setQuery({ search: e.target.value })} /></label>
      <label>Prompt contains<input value={q.prompt} onChange={(e) => setQuery({ prompt: e.target.value })} /></label>
      <label>Response contains<input value={q.response} onChange={(e) => setQuery({ response: e.target.value })} /></label>
      <label>
        Flag
        <select value={q.flag} onChange={(e) => setQuery({ flag: e.target.value as ViewQuery['flag'] })}>
          <option value="all">all</option><option value="flagged">flagged</option><option value="unflagged">not flagged</option>
        </select>
      </label>
      <label>
        Split
        <select value={q.split} onChange={(e) => setQuery({ split: e.target.value as ViewQuery['split'] })}>
          <option value="all">all</option><option value="train">train</option><option value="validation">validation</option>
        </select>
      </label>
      <label>
        Source file
        <select value={q.file} onChange={(e) => setQuery({ file: e.target.value })}>
          <option value="all">all</option>
          {files.map((f) => <option key={f} value={f}>{f}</option>)}
        </select>
      </label>
      <label>
        Quality check
        <select value={q.check} onChange={(e) => setQuery({ check: e.target.value as ViewQuery['check'] })}>
          <option value="all">all</option>
          {QUALITY_CHECKS.map((c) => <option key={c.id} value={c.id}>{c.label}</option>)}
        </select>
      </label>
      <label>
        Duplicates
        <select value={q.duplicates} disabled={!hasDups} onChange={(e) => setQuery({ duplicates: e.target.value as ViewQuery['duplicates'] })}>
          <option value="all">all</option><option value="duplicates">only duplicates</option>
        </select>
      </label>
      <label>Min characters<input type="number" min={0} value={q.minChars ?? ''} onChange={(e) => setQuery({ minChars: num(e.target.value) })} /></label>
      <label>Max characters<input type="number" min={0} value={q.maxChars ?? ''} onChange={(e) => setQuery({ maxChars: num(e.target.value) })} /></label>
    </div>
  );
}
