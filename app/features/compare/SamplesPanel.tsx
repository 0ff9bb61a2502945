// Several answers from one model to the prompt on screen: pick a column and how many, and the store asks the engine
// for that many sampled answers at once (generateSamples: one batch on our decoder), shown side by side as they
// stream. Marking one better pairs it with each other answer; the pairs go with the preferences download beside the
// base-vs-tuned verdicts. Greedy decoding would give one answer N times, so it asks for a temperature first.
import { useState } from 'react';
import { AnswerStats } from './AnswerStats';
import { useCompare } from './store';

/** Most answers asked at once here (the engine allows more; past this they no longer fit side by side). */
const MOST = 8;

export function SamplesPanel({ disabled }: { disabled: boolean }) {
  const columns = useCompare((x) => x.columns);
  const samples = useCompare((x) => x.samples);
  const greedy = useCompare((x) => x.sampling.temperature === 0);
  const askSamples = useCompare((x) => x.askSamples);
  const markSample = useCompare((x) => x.markSample);
  const [columnId, setColumnId] = useState('');
  const [count, setCount] = useState(3);
  const column = columns.find((c) => c.id === columnId) ?? columns.find((c) => c.id !== 'base') ?? columns[0];
  return (
    <section className="samples" aria-labelledby="samples-heading">
      <h4 id="samples-heading">Several answers from one model</h4>
      <div className="row">
        <label>
          Model to sample
          <select value={column?.id ?? ''} disabled={disabled} onChange={(e) => setColumnId(e.target.value)}>
            {columns.map((c) => <option key={c.id} value={c.id}>{c.label}</option>)}
          </select>
        </label>
        <label>
          Number of answers
          <input type="number" min={2} max={MOST} step={1} value={count} disabled={disabled} onChange={(e) => { const v = Math.round(Number(e.target.value)); if (v >= 2 && v <= MOST) setCount(v); }} />
        </label>
        <button type="button" disabled={disabled || greedy || !column} aria-describedby="samples-help" onClick={() => column && void askSamples(column, count)}>Sample answers</button>
      </div>
      <p className="help" id="samples-help">
        {greedy
          ? 'Greedy decoding gives the same answer every time: untick Greedy under Sampling to draw several.'
          : 'Each answer draws with its own seed (the seed, then ones derived from it). Mark the better one: it is paired with each other answer in the preferences download.'}
      </p>
      {samples ? (
        <div className="answer-grid" role="group" aria-label={`${samples.answers.length} answers from ${samples.column.label}`} tabIndex={0}>
          {samples.answers.map((a, i) => {
            const name = `Answer ${i + 1} of ${samples.answers.length} from ${samples.column.label}`;
            return (
              <article key={i} aria-label={name} className="answer" aria-busy={!a.done}>
                <h5>Answer {i + 1}</h5>
                <p className="answer-text">{a.text}</p>
                <AnswerStats answer={a} label={name} />
                <button
                  type="button" aria-pressed={samples.better === i} disabled={samples.running || !a.done || a.error !== null}
                  onClick={() => markSample(samples.better === i ? null : i)}
                >
                  Answer {i + 1} is better
                </button>
              </article>
            );
          })}
        </div>
      ) : null}
    </section>
  );
}
