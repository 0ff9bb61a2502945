// Quality checks with their counts; each is a button that filters the table to it. Max sequence length
// and the short-answer word count are settings here (token counts are estimates until a tokenizer is
// loaded in the Tokens panel, and the panel says so).
import { QUALITY_CHECKS } from '../../../src/data/quality';
import { datasetsSelectors as sel, useDatasets } from '../../store';

export function QualityPanel() {
  const counts = useDatasets(sel.checkCounts);
  const q = useDatasets((s) => s.quality);
  const setQualityOptions = useDatasets((s) => s.setQualityOptions);
  const check = useDatasets((s) => s.query.check);
  const setQuery = useDatasets((s) => s.setQuery);
  const estimated = useDatasets((s) => s.tokenCounts === null);
  return (
    <section aria-labelledby="quality-heading" className="panel">
      <h2 id="quality-heading">Quality checks</h2>
      <div className="row">
        <label>Max sequence length (tokens)<input type="number" min={16} step={16} value={q.maxSeqLen} onChange={(e) => setQualityOptions({ maxSeqLen: Math.max(1, Number(e.target.value) || 1) })} /></label>
        <label>Short answer: fewer than (words)<input type="number" min={1} value={q.minAnswerWords} onChange={(e) => setQualityOptions({ minAnswerWords: Math.max(1, Number(e.target.value) || 1) })} /></label>
      </div>
      {estimated && <p className="hint">Token counts are estimates (characters ÷ 4) until a tokenizer is loaded.</p>}
      <ul className="checks">
        {QUALITY_CHECKS.map((c) => (
          <li key={c.id}>
            <button type="button" aria-pressed={check === c.id} onClick={() => setQuery({ check: check === c.id ? 'all' : c.id })}>
              {c.label}: {counts[c.id]}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
