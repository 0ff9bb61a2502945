// The batch's held-out preference pairs (rows whose conversation also has a rejected answer): per model, how often
// its answer reads more like the chosen answer than the rejected one and how often its log-probs prefer chosen,
// and its win rate against one other column (by default the first tuned one, typically the SFT run a DPO run
// started from). Definitions in src/eval/preference.ts; this only lays them out.
import { useState } from 'react';
import { batchPreference, versus } from '../../../src/eval/preference';
import type { WinTally } from '../../../src/eval/metrics';
import { ScrollRegion } from '../../components/ScrollRegion';
import type { BatchState } from './store';

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
const tally = (t: WinTally | null | undefined) => (t ? `${pct(t.winRate)} (${t.tuned} won, ${t.tie} tied, ${t.base} lost)` : '—');

export function PairResults({ batch }: { batch: BatchState }) {
  const scores = batch.columns.map((c) => ({ column: c, s: batchPreference(batch.rows, c.id) }));
  const pairs = scores.find((x) => x.s)?.s?.pairs ?? 0;
  const fallback = batch.columns.find((c) => c.id !== 'base') ?? batch.columns[0];
  const [chosenAgainst, setAgainst] = useState<string | null>(null);
  const against = batch.columns.find((c) => c.id === chosenAgainst) ?? fallback;
  if (pairs === 0) return null;
  return (
    <section aria-labelledby="pairs-heading" className="pair-results">
      <h4 id="pairs-heading">Preference pairs ({pairs} held out)</h4>
      <p>
        An answer leans to the chosen side when it is closer (ROUGE-L) to the chosen answer than to the rejected one. A win against
        another column: on the same pair, this column&apos;s answer leans further to the chosen side (answers), or its log-probabilities
        separate chosen from rejected by more (margins); ties count half.
      </p>
      <label>
        Win rate against
        <select value={against.id} onChange={(e) => setAgainst(e.target.value)}>
          {batch.columns.map((c) => <option key={c.id} value={c.id}>{c.label}</option>)}
        </select>
      </label>
      <ScrollRegion label="Preference pairs table">
        <table aria-label="Preference pair results">
          <thead>
            <tr>
              <th scope="col">Model</th><th scope="col">Answers closer to chosen</th><th scope="col">Log-prob prefers chosen</th>
              <th scope="col">Mean margin (nats)</th><th scope="col">Win rate by answers</th><th scope="col">Win rate by margins</th>
            </tr>
          </thead>
          <tbody>
            {scores.map(({ column: c, s }) => {
              const v = c.id === against.id ? null : versus(batch.rows, c.id, against.id);
              return (
                <tr key={c.id}>
                  <th scope="row">{c.label}</th>
                  <td data-value={s?.closerToChosen ?? ''}>{s ? pct(s.closerToChosen) : '—'}</td>
                  <td data-value={s?.logpAccuracy ?? ''}>{s ? pct(s.logpAccuracy) : '—'}</td>
                  <td data-value={s?.logpMargin ?? ''}>{s?.logpMargin == null ? '—' : s.logpMargin.toFixed(2)}</td>
                  <td data-value={v?.answers.winRate ?? ''}>{c.id === against.id ? 'the reference' : tally(v?.answers)}</td>
                  <td data-value={v?.margins?.winRate ?? ''}>{c.id === against.id ? 'the reference' : tally(v?.margins)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollRegion>
    </section>
  );
}
