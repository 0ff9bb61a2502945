// The dataset rows a comparison can be asked on, as a searchable list (validation rows first): type to filter
// by the prompt's text, click a row (or press J / K for the next / previous one) to ask every column. The
// chosen row is marked aria-current. Prompts are text, never HTML.
import { useMemo, useState } from 'react';
import type { ChatMessage } from '../../../src/data/types';

export interface PickRow { id: string; split: string; text: string; prompt: ChatMessage[]; reference: string; key: string }

/** Rows shown at once; the search narrows the rest. */
const SHOWN = 200;

export function RowPicker({ rows, currentKey, disabled, onPick }: {
  rows: PickRow[];
  currentKey: string | null;
  disabled: boolean;
  onPick: (r: PickRow) => void;
}) {
  const [query, setQuery] = useState('');
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return q ? rows.filter((r) => r.text.toLowerCase().includes(q)) : rows;
  }, [rows, query]);
  const validation = rows.filter((r) => r.split === 'validation').length;
  return (
    <div className="row-picker">
      <div className="row-picker-bar">
        <label>
          Find a dataset row
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder={`${validation} validation, ${rows.length - validation} train`} />
        </label>
        <span className="hint" role="status" aria-label="Rows shown">
          {shown.length === rows.length ? `${rows.length} rows` : `${shown.length} of ${rows.length} rows`}{shown.length > SHOWN ? ` (first ${SHOWN} listed)` : ''}
        </span>
      </div>
      {rows.length === 0 ? (
        <p className="empty"><strong>No dataset rows to ask</strong>Import a dataset on the Data step, or type a prompt above.</p>
      ) : (
        // Focusable itself: with its buttons disabled (no model yet) the keyboard could not scroll it otherwise.
        <ul aria-label="Dataset prompts" className="prompt-list" tabIndex={0}>
          {shown.slice(0, SHOWN).map((r) => (
            <li key={r.id}>
              {/* The name is the content (no aria-label), so what is seen is what is read: "Compare on validation row: …". */}
              <button type="button" disabled={disabled} aria-current={r.key === currentKey} onClick={() => onPick(r)}>
                <span className="visually-hidden">Compare on </span><span className="split-tag">{r.split}</span><span className="visually-hidden"> row:</span> {r.text}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
