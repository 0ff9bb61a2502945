// Duplicates: run the search (exact after whitespace normalising, and MinHash near-duplicates at a chosen
// similarity), then review each group and keep one — or keep the first of every group at once.
import { useState } from 'react';
import { promptOf, responseOf } from '../../../src/data/record';
import { datasetsSelectors as sel, useDatasets } from '../../store';

export function DuplicatesPanel() {
  const groups = useDatasets((s) => s.duplicates);
  const findDuplicates = useDatasets((s) => s.findDuplicates);
  const keepOne = useDatasets((s) => s.keepOne);
  const keepFirstOfAll = useDatasets((s) => s.keepFirstOfAll);
  const byId = useDatasets(sel.recordById);
  const count = useDatasets((s) => s.records.length);
  const [near, setNear] = useState(true);
  const [threshold, setThreshold] = useState(0.8);
  const [busy, setBusy] = useState(false);
  const run = () => { setBusy(true); void findDuplicates({ near, threshold }).finally(() => setBusy(false)); };
  const extra = groups?.reduce((n, g) => n + g.ids.length - 1, 0) ?? 0;
  return (
    <section aria-labelledby="dups-heading" className="panel">
      <h2 id="dups-heading">Duplicates</h2>
      <div className="row">
        <label><input type="checkbox" checked={near} onChange={(e) => setNear(e.target.checked)} /> Include near-duplicates</label>
        <label>
          Similarity threshold
          <input type="number" min={0.5} max={1} step={0.05} value={threshold} disabled={!near} onChange={(e) => setThreshold(Number(e.target.value))} />
        </label>
        <button type="button" onClick={run} disabled={busy || count < 2}>Find duplicates</button>
      </div>
      {groups && (
        <>
          <p role="status">{groups.length === 0 ? 'No duplicates found.' : `${groups.length} duplicate group${groups.length > 1 ? 's' : ''}, ${extra} extra example${extra !== 1 ? 's' : ''}.`}</p>
          {groups.length > 0 && <button type="button" onClick={keepFirstOfAll}>Keep the first of every group</button>}
          <ol className="dup-groups" aria-label="Duplicate groups">
            {groups.slice(0, 100).map((g, gi) => (
              <li key={g.ids.join()}>
                <h3>Group {gi + 1}: {g.kind === 'exact' ? 'exact' : `near (≥ ${Math.round(g.similarity * 100)}% similar)`}</h3>
                <ul>
                  {g.ids.map((id) => {
                    const r = byId.get(id);
                    if (!r) return null;
                    const where = `${r.source.file} line ${r.source.line}`;
                    return (
                      <li key={id}>
                        <span className="issue-where">{where}</span>: <span>{promptOf(r).slice(0, 200)}</span> → <span>{responseOf(r).slice(0, 200)}</span>{' '}
                        <button type="button" onClick={() => keepOne(gi, id)} aria-label={`Keep ${where}, delete the others in group ${gi + 1}`}>Keep this one</button>
                      </li>
                    );
                  })}
                </ul>
              </li>
            ))}
          </ol>
          {groups.length > 100 && <p>…and {groups.length - 100} more groups (use "Keep the first of every group", or the Duplicates filter in the table).</p>}
        </>
      )}
    </section>
  );
}
