// When the importer cannot tell a file's shape, the user maps its columns to turns: prompt and response
// (required), an input appended to the prompt and a system prompt (optional). The map can be remembered
// for files with the same columns.
import { useState } from 'react';
import type { ColumnMap } from '../../../src/data/record';
import { useDatasets } from '../../store';
import type { PendingMapping } from '../../store/datasets/initialState';

const ROLES: { key: keyof ColumnMap; label: string; required: boolean }[] = [
  { key: 'prompt', label: 'Prompt (user) column', required: true },
  { key: 'response', label: 'Response (assistant) column', required: true },
  { key: 'input', label: 'Extra input column (appended to the prompt)', required: false },
  { key: 'system', label: 'System prompt column', required: false },
];

export function ColumnMapper({ pending }: { pending: PendingMapping }) {
  const applyMapping = useDatasets((s) => s.applyMapping);
  const skipMapping = useDatasets((s) => s.skipMapping);
  const cols = pending.needs.columns;
  const [map, setMap] = useState<Partial<ColumnMap>>({ prompt: cols[0], response: cols[1] ?? cols[0] });
  const [remember, setRemember] = useState(true);
  const ok = !!map.prompt && !!map.response;
  return (
    <form
      className="mapper" aria-label={`Map columns of ${pending.file.name}`}
      onSubmit={(e) => { e.preventDefault(); if (ok) void applyMapping(map as ColumnMap, remember); }}
    >
      <h3>Which columns are the conversation in {pending.file.name}?</h3>
      <p>The file's shape was not recognised. Columns: {cols.join(', ')}.</p>
      {ROLES.map((r) => (
        <label key={r.key}>
          {r.label}
          <select value={map[r.key] ?? ''} onChange={(e) => setMap({ ...map, [r.key]: e.target.value || undefined })}>
            {!r.required && <option value="">(none)</option>}
            {cols.map((c) => <option key={c} value={c}>{c}</option>)}
          </select>
        </label>
      ))}
      <label>
        <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
        Remember this map for files with these columns
      </label>
      <details>
        <summary>Sample rows</summary>
        <pre>{JSON.stringify(pending.needs.sample, null, 2)}</pre>
      </details>
      <button type="submit" disabled={!ok}>Import with this map</button>
      <button type="button" onClick={skipMapping}>Skip this file</button>
    </form>
  );
}
