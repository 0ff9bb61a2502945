// The run being watched: progress with ETA, pause/resume/cancel, charts (train/validation loss, learning
// rate, grad norm, tokens/s) and a table of the latest steps (the charts' numbers, for screen readers and
// tests). Status changes are announced in a live region.
import { useMemo } from 'react';
import { ProgressBar } from '../../components/ProgressBar';
import type { LiveRun } from '../../store/engine';
import { LineChart } from './LineChart';

export const fmt = (v: number | null | undefined, digits = 4) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));
export const fmtSeconds = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

export const STATUS_TEXT: Record<LiveRun['status'], string> = {
  running: 'Training', paused: 'Paused', completed: 'Finished', 'stopped-early': 'Stopped early (validation loss stopped improving)',
  cancelled: 'Cancelled', failed: 'Failed', interrupted: 'Interrupted',
};

export function LivePanel({ live, onControl }: { live: LiveRun; onControl: (a: 'pause' | 'resume' | 'cancel') => void }) {
  const last = live.points.at(-1);
  const step = last?.step ?? 0;
  const charts = useMemo(() => {
    const x = live.points.map((p) => p.step);
    const val = new Map(live.evals.map((e) => [e.step, e.valLoss]));
    return {
      x,
      loss: [
        { label: 'train loss', color: '#3a7bd5', values: live.points.map((p) => p.loss) },
        { label: 'validation loss', color: '#e67e22', values: live.points.map((p) => val.get(p.step) ?? null) },
      ],
      lr: [{ label: 'learning rate', color: '#27ae60', values: live.points.map((p) => p.lr) }],
      grad: [{ label: 'grad norm', color: '#8e44ad', values: live.points.map((p) => p.gradNorm) }],
      speed: [{ label: 'tokens/s', color: '#c0392b', values: live.points.map((p) => p.tokensPerSecond) }],
    };
  }, [live.points, live.evals]);
  const active = live.status === 'running' || live.status === 'paused';
  const valAt = new Map(live.evals.map((e) => [e.step, e.valLoss]));

  return (
    <section className="panel live" aria-labelledby="live-title">
      <h2 id="live-title">Run: {live.name}</h2>
      <p role="status" aria-label="Run status">
        {STATUS_TEXT[live.status]} — step {step} of {live.totalSteps}
        {live.status === 'running' && live.etaSeconds !== null ? `, about ${fmtSeconds(live.etaSeconds)} left` : ''}
        {live.lastCheckpoint !== null ? `; last checkpoint at step ${live.lastCheckpoint}` : ''}
      </p>
      <ProgressBar label="Training progress" fraction={live.totalSteps ? step / live.totalSteps : 0} />
      {active && (
        <div className="row" role="toolbar" aria-label="Run controls">
          {live.status === 'running'
            ? <button type="button" onClick={() => onControl('pause')}>Pause</button>
            : <button type="button" onClick={() => onControl('resume')}>Resume</button>}
          <button type="button" onClick={() => onControl('cancel')}>Cancel run</button>
        </div>
      )}
      <div className="charts">
        <LineChart title="Loss" x={charts.x} series={charts.loss} height={280} />
        <LineChart title="Learning rate" x={charts.x} series={charts.lr} />
        <LineChart title="Gradient norm" x={charts.x} series={charts.grad} />
        <LineChart title="Tokens per second" x={charts.x} series={charts.speed} />
      </div>
      <table className="metrics" aria-label="Latest metrics">
        <thead>
          <tr><th scope="col">Step</th><th scope="col">Loss</th><th scope="col">Validation loss</th><th scope="col">Learning rate</th><th scope="col">Grad norm</th><th scope="col">Tokens/s</th></tr>
        </thead>
        <tbody>
          {live.points.slice(-8).map((p) => (
            <tr key={p.step}>
              <td>{p.step}</td><td>{fmt(p.loss)}</td><td>{fmt(valAt.get(p.step))}</td>
              <td>{p.lr.toExponential(2)}</td><td>{fmt(p.gradNorm, 3)}</td><td>{p.tokensPerSecond.toFixed(0)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
