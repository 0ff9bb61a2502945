// A GRPO run while it is the run being watched: its status, curves of the reward (the weighted sum and each reward
// function's mean) and their spread (standard deviations), the KL term (when β > 0), the answers' length and the
// clipped fraction;
// the latest steps' numbers (the charts' figures, for screen readers and tests); the reward errors the run met, per
// answer; and the latest generation batch as groups: each prompt with its G answers, every reward's value (or its
// error), the weighted reward and the advantage. Answers and errors are shown as text.
// Pause, resume and cancel are the live panel's, as for every run.
import { useMemo } from 'react';
import type { LiveRun } from '../../store/engine';
import { ScrollRegion } from '../../components/ScrollRegion';
import { LineChart, type Series } from './LineChart';
import { fmt, STATUS_TEXT } from './LivePanel';
import { ENDED, RewardCell } from './RewardsEditor';

const COLORS = ['#3a7bd5', '#e67e22', '#27ae60', '#8e44ad', '#c0392b', '#16a085', '#7f8c8d'];

export function GrpoLive({ live, names }: { live: LiveRun; names: string[] }) {
  const p = live.points;
  const charts = useMemo(() => {
    const per = (pick: (q: LiveRun['points'][number]) => number[] | undefined, what: string): Series[] =>
      names.map((n, k) => ({ label: `${n} ${what}`, color: COLORS[(k + 1) % COLORS.length], values: p.map((q) => pick(q)?.[k] ?? null) }));
    const panels: [string, Series[]][] = [
      ['Reward', [{ label: 'reward (weighted sum)', color: COLORS[0], values: p.map((q) => q.reward ?? null) }, ...per((q) => q.rewardMeans, 'mean')]],
      ['Reward spread (standard deviation)', [{ label: 'reward std', color: COLORS[0], values: p.map((q) => q.rewardStd ?? null) }, ...per((q) => q.rewardStds, 'std')]],
      ['Answer length (tokens)', [{ label: 'mean answer length', color: '#e67e22', values: p.map((q) => q.completionLength ?? null) }]],
      ['Clipped fraction', [{ label: 'clipped tokens', color: '#c0392b', values: p.map((q) => q.clipRatio ?? null) }]],
    ];
    // β 0 (TRL's default): no reference, no KL term to draw.
    if (p.some((q) => q.kl !== null && q.kl !== undefined)) panels.splice(2, 0, ['KL to the reference', [{ label: 'KL', color: '#8e44ad', values: p.map((q) => q.kl ?? null) }]]);
    return { x: p.map((q) => q.step), panels };
  }, [p, names]);
  const failures = p.filter((q) => (q.unscorable ?? 0) > 0).slice(-3);
  const latest = live.groups;

  return (
    <div className="grpo-live">
      <p role="status" aria-label="GRPO run status">{STATUS_TEXT[live.status]} — step {p.at(-1)?.step ?? 0} of {live.totalSteps || '…'}</p>
      {live.status === 'completed' && <p>Run &quot;{live.name}&quot; is in the run history; Compare answers with its adapter.</p>}
      <div className="charts">
        {charts.panels.map(([title, series]) => <LineChart key={title} title={title} x={charts.x} series={series} />)}
      </div>
      {p.length > 0 && charts.panels.length === 4 && <p className="hint">No KL curve: with β 0 the run keeps no reference model, so there is no KL term.</p>}
      <ScrollRegion label="Latest GRPO metrics, scrollable">
        <table className="metrics" aria-label="Latest GRPO metrics">
          <thead>
            <tr>
              <th scope="col">Step</th><th scope="col">Loss</th><th scope="col">Reward</th><th scope="col">Reward std</th><th scope="col">KL</th>
              <th scope="col">Answer length</th><th scope="col">Clipped</th><th scope="col">Unscorable</th>
            </tr>
          </thead>
          <tbody>
            {p.slice(-8).map((q) => (
              <tr key={q.step}>
                <td>{q.step}</td><td>{fmt(q.loss)}</td><td>{fmt(q.reward)}</td><td>{fmt(q.rewardStd)}</td><td>{fmt(q.kl)}</td>
                <td>{fmt(q.completionLength, 1)}</td><td>{fmt(q.clipRatio, 3)}</td><td>{q.unscorable ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      {failures.length > 0 && (
        <div className="reward-errors">
          <h3>Reward errors</h3>
          <p className="help">Answers a reward could not score are left out of their group's statistics (advantage 0); the run goes on.</p>
          <ul aria-label="Reward errors">
            {failures.flatMap((q) => [
              <li key={q.step}>Step {q.step}: {q.unscorable} {q.unscorable === 1 ? 'answer' : 'answers'} unscorable</li>,
              ...(q.errors ?? []).map((e, i) => <li key={`${q.step}-${i}`} className="reward-error">Step {q.step}, {e}</li>),
            ])}
          </ul>
        </div>
      )}
      {latest && (
        <>
          <h3>Latest groups</h3>
          <p className="help">
            An answer&apos;s advantage is its reward against its group&apos;s mean (scaled by the group&apos;s spread): what the step makes
            likelier (above 0) or less likely (below 0).
          </p>
          <ScrollRegion label="Latest groups, scrollable">
            <table className="metrics groups-table" aria-label="Latest groups">
              <caption>The answers of step {latest.step}: {latest.groups.length} prompts × {latest.groups[0]?.answers.length ?? 0} answers</caption>
              <thead>
                <tr>
                  <th scope="col">Prompt</th><th scope="col">Answer</th><th scope="col">Ended</th>
                  {names.map((n, k) => <th key={k} scope="col">{n}</th>)}
                  <th scope="col">Reward</th><th scope="col">Advantage</th>
                </tr>
              </thead>
              {latest.groups.map((g, gi) => (
                <tbody key={gi}>
                  {g.answers.map((a, ai) => (
                    <tr key={ai}>
                      {ai === 0 && <th scope="rowgroup" rowSpan={g.answers.length} className="text">{g.prompt}</th>}
                      <td className="text">{a.text}</td>
                      <td>{ENDED[a.finishReason]}</td>
                      {a.error !== null
                        ? <td className="reward-error" colSpan={Math.max(1, names.length) + 1}>{a.error}</td>
                        : <>{a.rewards.map((v, k) => <RewardCell key={k} value={v} error={null} />)}<RewardCell value={a.reward} error={null} /></>}
                      <td data-value={a.advantage}>{fmt(a.advantage, 3)}</td>
                    </tr>
                  ))}
                </tbody>
              ))}
            </table>
          </ScrollRegion>
        </>
      )}
    </div>
  );
}
