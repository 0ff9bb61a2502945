// Every run (SFT, preference: DPO / ORPO with its β, or GRPO with G and β; and the run it started from) with its config, model, dataset
// version, curve summary, final metrics and its latest stored batch evaluation (from Compare); interrupted runs can be resumed from their last checkpoint; any runs can be ticked
// to compare their loss curves and settings side by side.
import { useMemo, useState } from 'react';
import type { EvaluationRecord, RunRecord } from '../../../src/storage/runs';
import { LineChart } from './LineChart';
import { fmt } from './LivePanel';

const COLORS = ['#3a7bd5', '#e67e22', '#27ae60', '#8e44ad', '#c0392b', '#16a085'];
const resumable = (r: RunRecord) => r.status === 'interrupted' || r.status === 'paused' || r.status === 'cancelled' || r.status === 'failed';

/** What the run started from: a new adapter, an imported one, or (a preference run) another run. */
function startedFrom(r: RunRecord): string {
  if (!r.init) return 'a new adapter';
  return 'runId' in r.init ? `run ${r.init.name}` : `imported adapter ${r.init.name}`;
}

/** SFT, the preference method with its β (ORPO's λ), or GRPO with G and β. */
function methodOf(r: RunRecord): string {
  const { preference: p, grpo: g } = r.config;
  if (g) return `GRPO, G ${g.numGenerations}, β ${g.beta}`;
  return p ? `${p.method.toUpperCase()}, ${p.method === 'dpo' ? 'β' : 'λ'} ${p.beta}` : 'SFT';
}

/** The run's exact match in the newest stored evaluation that has a column for it. */
function latestEvaluation(r: RunRecord, evaluations: EvaluationRecord[]): string {
  for (const e of evaluations) {
    const c = e.columns.find((x) => x.adapter.kind === 'run' && x.adapter.runId === r.id);
    const s = c && e.summaries[c.id];
    if (s) return `${(100 * s.exactMatch).toFixed(1)}% exact match, ROUGE-L ${s.rougeL.toFixed(3)} (${s.examples} examples, ${c.label})`;
  }
  return '—';
}

function summary(r: RunRecord): [string, string][] {
  const { lora: l, train: t } = r.config;
  return [
    ['Model', r.model.name],
    ['Method', methodOf(r)],
    ['Started from', startedFrom(r)],
    ['Dataset', r.dataset ? `${r.dataset.name} v${r.dataset.version}` : '—'],
    ['Examples (train / validation)', `${r.trainExamples} / ${r.validationExamples}`],
    ['LoRA', `r=${l.rank}, alpha=${l.alpha}${l.useRslora ? ' (rsLoRA)' : ''}, dropout ${l.dropout}, ${l.targetModules.join(' ')}`],
    ['Learning rate', `${t.lr} ${t.schedule}, warm-up ${t.warmupSteps}`],
    ['Batch', `${t.batchSize} × ${t.gradAccumSteps} accumulation, max length ${t.maxSeqLength}${r.config.packing ? ', packed' : ''}`],
    ['Steps', `${r.metrics.at(-1)?.step ?? 0} of ${r.totalSteps}`],
    ['First loss', fmt(r.metrics[0]?.loss)],
    ['Final loss', fmt(r.final?.trainLoss ?? r.metrics.at(-1)?.loss)],
    ['Best validation loss', fmt(r.bestValLoss)],
    ['Seed', String(t.seed)],
  ];
}

export function RunHistory({ runs, evaluations, activeId, canResume, onResume, onDelete, onExport }: {
  runs: RunRecord[];
  /** Stored batch evaluations, newest first. */
  evaluations: EvaluationRecord[];
  activeId: string | null;
  canResume: boolean;
  onResume: (id: string) => void;
  onDelete: (id: string) => void;
  /** Download the run's adapter (best checkpoint when there is one); needs the run's model loaded. */
  onExport: (run: RunRecord) => void;
}) {
  const [picked, setPicked] = useState<string[]>([]);
  const compared = runs.filter((r) => picked.includes(r.id));
  const chart = useMemo(() => {
    const steps = [...new Set(compared.flatMap((r) => r.metrics.map((p) => p.step)))].sort((a, b) => a - b);
    return {
      x: steps,
      series: compared.map((r, i) => {
        const at = new Map(r.metrics.map((p) => [p.step, p.loss]));
        return { label: r.name, color: COLORS[i % COLORS.length], values: steps.map((s) => at.get(s) ?? null) };
      }),
    };
  }, [compared]);

  return (
    <section className="panel history" aria-labelledby="history-title">
      <h2 id="history-title">Run history</h2>
      {runs.length === 0 ? <p>No runs yet.</p> : (
        <table aria-label="Runs">
          <thead>
            <tr>
              <th scope="col">Compare</th><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Dataset</th>
              <th scope="col">Steps</th><th scope="col">First loss</th><th scope="col">Final loss</th><th scope="col">Best validation loss</th><th scope="col">Latest evaluation</th><th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id}>
                <td>
                  <input
                    type="checkbox" aria-label={`Compare ${r.name}`} checked={picked.includes(r.id)}
                    onChange={(e) => setPicked((p) => (e.target.checked ? [...p, r.id] : p.filter((x) => x !== r.id)))}
                  />
                </td>
                <td>{r.name}{r.config.preference || r.config.grpo ? ` (${methodOf(r)})` : ''}</td>
                <td>{r.status}{r.error ? ` (${r.error})` : ''}</td>
                <td>{r.dataset ? `${r.dataset.name} v${r.dataset.version}` : '—'}</td>
                <td>{r.metrics.at(-1)?.step ?? 0}/{r.totalSteps}</td>
                <td>{fmt(r.metrics[0]?.loss)}</td>
                <td>{fmt(r.final?.trainLoss ?? r.metrics.at(-1)?.loss)}</td>
                <td>{fmt(r.bestValLoss)}</td>
                <td>{latestEvaluation(r, evaluations)}</td>
                <td>
                  {resumable(r) && r.id !== activeId && (
                    <button type="button" disabled={!canResume} onClick={() => onResume(r.id)} aria-label={`Resume ${r.name}`}>Resume</button>
                  )}
                  {r.id !== activeId && r.checkpoints.last !== null && (
                    <button type="button" disabled={!canResume} onClick={() => onExport(r)} aria-label={`Download adapter of ${r.name}`}>Adapter</button>
                  )}
                  {r.id !== activeId && <button type="button" onClick={() => onDelete(r.id)} aria-label={`Delete ${r.name}`}>Delete</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {compared.length > 0 && (
        <div className="compare-runs">
          <LineChart title="Training loss of the compared runs" x={chart.x} series={chart.series} />
          <table aria-label="Compared runs">
            <thead><tr><th scope="col">Setting</th>{compared.map((r) => <th key={r.id} scope="col">{r.name}</th>)}</tr></thead>
            <tbody>
              {summary(compared[0]).map(([k], row) => (
                <tr key={k}><th scope="row">{k}</th>{compared.map((r) => <td key={r.id}>{summary(r)[row][1]}</td>)}</tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
