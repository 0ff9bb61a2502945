// Train / validation split: seeded random with a validation share, or by a column of the original rows;
// applying it is one undoable step. Counts are always shown.
import { useState } from 'react';
import { datasetsSelectors as sel, useDatasets } from '../../store';

export function SplitPanel() {
  const counts = useDatasets(sel.splitCounts);
  const cfg = useDatasets((s) => s.splitConfig);
  const applySplit = useDatasets((s) => s.applySplit);
  const records = useDatasets((s) => s.records);
  const [kind, setKind] = useState(cfg.kind);
  const [seed, setSeed] = useState(cfg.kind === 'random' ? cfg.seed : 42);
  const [pct, setPct] = useState(cfg.kind === 'random' ? Math.round(cfg.validationFraction * 100) : 10);
  const columns = [...new Set(records.slice(0, 200).flatMap((r) => Object.keys(r.original)))];
  const [column, setColumn] = useState(cfg.kind === 'column' ? cfg.column : columns[0] ?? '');
  return (
    <section aria-labelledby="split-heading" className="panel">
      <h2 id="split-heading">Train / validation split</h2>
      <p role="status">Train: {counts.train} · Validation: {counts.validation}</p>
      <div className="row">
        <label>
          Split by
          <select value={kind} onChange={(e) => setKind(e.target.value as 'random' | 'column')}>
            <option value="random">seeded random</option><option value="column">a column</option>
          </select>
        </label>
        {kind === 'random' ? (
          <>
            <label>Validation %<input type="number" min={0} max={100} value={pct} onChange={(e) => setPct(Number(e.target.value))} /></label>
            <label>Seed<input type="number" value={seed} onChange={(e) => setSeed(Number(e.target.value) | 0)} /></label>
          </>
        ) : (
          <label>
            Column
            <select value={column} onChange={(e) => setColumn(e.target.value)}>
              {columns.map((c) => <option key={c} value={c}>{c}</option>)}
            </select>
          </label>
        )}
        <button
          type="button" disabled={!records.length || (kind === 'column' && !column)}
          onClick={() => applySplit(kind === 'random' ? { kind, seed, validationFraction: Math.min(100, Math.max(0, pct)) / 100 } : { kind, column })}
        >
          Apply split
        </button>
      </div>
      {kind === 'column' && <p className="hint">Rows whose value is val, valid, validation, dev, eval or test go to validation.</p>}
    </section>
  );
}
