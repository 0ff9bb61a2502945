// Export the curated set: all examples or one split, optionally without flagged ones, as JSONL (messages
// form or original shape) or Parquet. Runs on the main thread: writing is fast next to parsing.
import { useState } from 'react';
import { exportJsonl, exportParquet, type JsonlForm } from '../../../src/data/export';
import type { ColumnMap } from '../../../src/data/record';
import { download } from '../../components/download';
import { useDatasets } from '../../store';

export function ExportPanel() {
  const records = useDatasets((s) => s.records);
  const files = useDatasets((s) => s.files);
  const name = useDatasets((s) => s.current?.name ?? 'dataset');
  const [which, setWhich] = useState<'all' | 'train' | 'validation'>('all');
  const [skipFlagged, setSkipFlagged] = useState(true);
  const [form, setForm] = useState<JsonlForm>('messages');
  const chosen = records.filter((r) => (which === 'all' || r.split === which) && !(skipFlagged && r.flagged));
  const maps: Record<string, ColumnMap> = {};
  for (const f of files) if (f.columnMap) maps[f.file] = f.columnMap;
  const base = `${name}${which === 'all' ? '' : `-${which}`}`;
  return (
    <section aria-labelledby="export-heading" className="panel">
      <h2 id="export-heading">Export</h2>
      <div className="row">
        <label>
          Examples
          <select value={which} onChange={(e) => setWhich(e.target.value as typeof which)}>
            <option value="all">all</option><option value="train">train split</option><option value="validation">validation split</option>
          </select>
        </label>
        <label><input type="checkbox" checked={skipFlagged} onChange={(e) => setSkipFlagged(e.target.checked)} /> Leave out flagged examples</label>
        <label>
          JSONL form
          <select value={form} onChange={(e) => setForm(e.target.value as JsonlForm)}>
            <option value="messages">messages</option><option value="original">original shape</option>
          </select>
        </label>
      </div>
      <p role="status">{chosen.length} examples will be exported.</p>
      <button type="button" disabled={!chosen.length} onClick={() => download(`${base}.jsonl`, exportJsonl(chosen, form, maps), 'application/jsonl')}>Export JSONL</button>
      <button type="button" disabled={!chosen.length} onClick={() => download(`${base}.parquet`, exportParquet(chosen), 'application/vnd.apache.parquet')}>Export Parquet</button>
    </section>
  );
}
