// A labelled progress bar (role=progressbar with a value), for imports and long jobs.
export function ProgressBar({ label, fraction }: { label: string; fraction: number }) {
  const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  return (
    <div className="progress">
      <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} className="progress-track">
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <span aria-hidden="true">{label}: {pct}%</span>
    </div>
  );
}
