// Batch evaluation: every column over the validation split with a progress bar, then a table per model
// (exact match, ROUGE-L, average length, clean stops, tokens/s), a bar chart of the same rates, the
// per-example answers with a verdict each, and CSV / JSONL downloads; when the validation rows are preference
// pairs, their scores and win rates (PairResults). Finished batches are stored; any stored
// one can be shown again, with the model, dataset version and sampling settings it was run with.
import { download } from '../../components/download';
import { ProgressBar } from '../../components/ProgressBar';
import { evalCsv, evalJsonl } from '../../../src/eval/export';
import type { EvalSummary, Verdict } from '../../../src/eval/metrics';
import type { EvaluationRecord } from '../../../src/storage/runs';
import { BatchAnswersTable } from './BatchAnswersTable';
import { PairResults } from './PairResults';
import { type BatchState, type Column, type Sampling } from './store';
import { ScrollRegion } from '../../components/ScrollRegion';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const when = (t: number) => new Date(t).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

function samplingText(s: Sampling): string {
  const how = s.temperature === 0 ? 'greedy' : `temperature ${s.temperature}, top-k ${s.topK}, top-p ${s.topP}, seed ${s.seed}`;
  return `${how}, max ${s.maxNewTokens} new tokens${s.repetitionPenalty !== 1 ? `, repetition penalty ${s.repetitionPenalty}` : ''}${s.stopStrings.length ? `, stops ${s.stopStrings.map((x) => JSON.stringify(x)).join(' ')}` : ''}${s.chatTemplate ? '' : ', raw prompts'}`;
}

const storedLabel = (e: EvaluationRecord) => `${when(e.createdAt)}: ${e.columns.map((c) => c.label).join(' vs ')} (${e.rows.length} examples)`;

/** Column names longer than this are cut with an ellipsis in the chart (the full name is in its <title>). */
const CHART_LABEL_CHARS = 26;
const short = (t: string) => (t.length > CHART_LABEL_CHARS ? `${t.slice(0, CHART_LABEL_CHARS - 1)}…` : t);

/**
 * A horizontal bar per column and metric, in a fixed coordinate space scaled to the panel (viewBox): the metric
 * name on its own line, the column's name in a left gutter wide enough for CHART_LABEL_CHARS, the value after
 * the bar inside a reserved right margin, so no label overlaps another or is cut.
 */
function RateChart({ columns, summaries }: { columns: Column[]; summaries: Record<string, EvalSummary> }) {
  const metrics: [string, (s: EvalSummary) => number][] = [['Exact match', (s) => s.exactMatch], ['ROUGE-L', (s) => s.rougeL], ['Clean stops', (s) => s.cleanStopRate]];
  const barH = 22, head = 24, gap = 14, gutter = 200, barW = 320, valueW = 64;
  const groupH = head + columns.length * barH + gap;
  const width = gutter + barW + valueW;
  const description = metrics.map(([m, f]) => `${m}: ${columns.map((c) => `${c.label} ${pct(f(summaries[c.id]))}`).join(', ')}`).join('; ');
  return (
    <svg role="img" aria-label={`Batch results chart. ${description}`} viewBox={`0 0 ${width} ${metrics.length * groupH}`} width={width} className="batch-chart">
      {metrics.map(([m, f], gi) => (
        <g key={m} transform={`translate(0 ${gi * groupH})`}>
          <text x={0} y={16} fontSize={14} fontWeight={600}>{m}</text>
          <line className="axis" x1={gutter} x2={gutter} y1={head - 2} y2={head + columns.length * barH} />
          {columns.map((c, ci) => {
            const v = f(summaries[c.id]);
            const y = head + ci * barH;
            return (
              <g key={c.id}>
                <text x={gutter - 8} y={y + barH / 2 + 4} fontSize={12} textAnchor="end"><title>{c.label}</title>{short(c.label)}</text>
                <rect x={gutter} y={y + 3} width={Math.max(1, v * barW)} height={barH - 6} rx={3} className={`bar bar-${ci % 5}`} />
                <text x={gutter + Math.max(1, v * barW) + 6} y={y + barH / 2 + 4} fontSize={12}>{pct(v)}</text>
              </g>
            );
          })}
        </g>
      ))}
    </svg>
  );
}

export function BatchPanel(props: {
  batch: BatchState | null;
  validationCount: number;
  canRun: boolean;
  busy: boolean;
  onRun: () => void;
  onCancel: () => void;
  verdictOf: (key: string) => Verdict | null;
  onMark: (key: string, v: Verdict | null, row: { prompt: BatchState['rows'][number]['prompt']; base: string; tuned: string }) => void;
  /** Stored evaluations, newest first. */
  stored: EvaluationRecord[];
  onShowStored: (id: string) => void;
}) {
  const { batch } = props;
  const tunedId = batch?.columns.find((c) => c.id !== 'base')?.id;
  const canMark = !!tunedId && batch?.columns.some((c) => c.id === 'base');
  return (
    <section className="panel" aria-labelledby="batch-heading">
      <h3 id="batch-heading">Batch evaluation</h3>
      <p>
        Runs every column over the {props.validationCount} validation examples with the sampling settings above (greedy is what the
        command line&apos;s <code>eval</code> uses): each answers the conversation up to its last assistant turn.
      </p>
      <button type="button" className="primary" disabled={!props.canRun || props.busy || props.validationCount === 0} onClick={props.onRun}>Evaluate the validation split</button>
      {batch?.running ? <button type="button" onClick={props.onCancel}>Stop evaluation</button> : null}
      {props.stored.length > 0 ? (
        <label>
          Stored evaluations
          <select value={props.stored.some((e) => e.id === batch?.id) ? batch!.id : ''} disabled={props.busy} onChange={(e) => props.onShowStored(e.target.value)}>
            {props.stored.some((e) => e.id === batch?.id) ? null : <option value="">—</option>}
            {props.stored.map((e) => <option key={e.id} value={e.id}>{storedLabel(e)}</option>)}
          </select>
        </label>
      ) : null}
      {batch ? <ProgressBar label="Batch evaluation" fraction={batch.total ? batch.done / batch.total : 1} /> : null}
      {batch ? <p role="status" aria-label="Batch status">{batch.running ? `Evaluating: ${batch.done} of ${batch.total}` : `Done: ${batch.done} of ${batch.total} examples`}{batch.error ? ` — stopped: ${batch.error}` : ''}</p> : null}
      {batch && !batch.running && batch.rows.length > 0 ? (
        <>
          <p aria-label="Batch settings">
            {`Run ${when(batch.createdAt)} on ${batch.context.model.name}, ${batch.context.dataset ? `dataset ${batch.context.dataset.name} version ${batch.context.dataset.version}` : 'no saved dataset'}; ${samplingText(batch.sampling)}.`}
          </p>
          <ScrollRegion label="Batch results table">
          <table aria-label="Batch results">
            <thead>
              <tr><th scope="col">Model</th><th scope="col">Examples</th><th scope="col">Exact match</th><th scope="col">ROUGE-L</th><th scope="col">Average length (tokens)</th><th scope="col">Clean stops</th><th scope="col">Loss</th><th scope="col">Perplexity</th><th scope="col">Tokens/s</th></tr>
            </thead>
            <tbody>
              {batch.columns.map((c) => {
                const s = batch.summaries[c.id];
                return (
                  <tr key={c.id}>
                    <th scope="row">{c.label}</th>
                    <td>{s.examples}</td>
                    <td data-value={s.exactMatch}>{pct(s.exactMatch)}</td>
                    <td data-value={s.rougeL}>{s.rougeL.toFixed(4)}</td>
                    <td data-value={s.averageLength}>{s.averageLength.toFixed(2)}</td>
                    <td data-value={s.cleanStopRate}>{pct(s.cleanStopRate)}</td>
                    <td data-value={s.loss ?? ''}>{s.loss === null ? '—' : s.loss.toFixed(4)}</td>
                    <td data-value={s.perplexity ?? ''}>{s.perplexity === null ? '—' : s.perplexity.toFixed(3)}</td>
                    <td>{s.tokensPerSecond === null ? '—' : s.tokensPerSecond.toFixed(1)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          </ScrollRegion>
          <RateChart columns={batch.columns} summaries={batch.summaries} />
          <PairResults batch={batch} />
          <div className="toolbar" role="toolbar" aria-label="Batch downloads">
            <button type="button" onClick={() => download('evaluation.csv', evalCsv(batch.columns.map((c) => c.id), batch.rows), 'text/csv')}>Download results as CSV</button>
            <button type="button" onClick={() => download('evaluation.jsonl', evalJsonl(batch.columns.map((c) => c.id), batch.rows), 'application/jsonl')}>Download results as JSONL</button>
          </div>
          <BatchAnswersTable batch={batch} canMark={!!canMark} tunedId={tunedId} verdictOf={props.verdictOf} onMark={props.onMark} />
        </>
      ) : null}
    </section>
  );
}
