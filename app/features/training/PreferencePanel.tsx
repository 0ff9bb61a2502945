// Preference tuning on the Train screen: preference pairs from a JSONL file, the built-in sample set or the current
// dataset (the Data step's curated pairs: its train split, the validation split held out),
// pick DPO or ORPO with β, start from a new adapter or a finished SFT run, and watch the loss beside the rewards
// (chosen / rejected), their margin and the preference accuracy live. The LoRA and optimizer settings are the form's
// above. Each listed pair's tokens can be shown as the loss sees them (chosen and rejected: the answer counts, the
// prompt is context). The run is a run like an SFT one (the engine store's startPreferenceRun): the live panel above
// pauses and cancels it, the run history keeps it and resumes it after a reload, Compare lists it; this panel
// draws its preference metrics while it is the run being watched. Its state and actions are its store's (store.ts).
// Not here: curating pairs in the Data step.
import { useMemo } from 'react';
import type { PreferenceMethod } from '../../../src/train/preference';
import type { PreferencePair } from '../../../src/train/preference-pairs';
import type { RunConfig } from '../../../src/train/presets';
import { useEngine } from '../../store/engine';
import { Token } from '../../components/Token';
import { fmt, STATUS_TEXT } from './LivePanel';
import { LineChart, type Series } from './LineChart';
import { useTraining } from './store';

const answer = (m: PreferencePair['chosen']) => m.map((x) => x.content).join(' ');

export function PreferencePanel({ cfg, disabled }: { cfg: RunConfig; disabled: boolean }) {
  const runs = useEngine((s) => s.runs);
  const model = useEngine((s) => s.model);
  const live = useEngine((s) => s.live);
  const { pairs, method, beta, rpoAlpha, startRun, mask, message } = useTraining((s) => s);
  const { set, readPairs, loadSample, readDataset, showMask, start } = useTraining((s) => s);
  const finished = runs.filter((r) => r.model.fingerprint === model?.fingerprint && r.checkpoints.last !== null);

  // The run being watched, when it is a preference run (started here, or resumed from the run history).
  const watched = live && (live.method === 'dpo' || live.method === 'orpo') ? live : null;
  const charts = useMemo(() => {
    const p = watched?.points ?? [];
    const panels: [string, Series[]][] = [
      ['Preference loss', [{ label: 'loss', color: '#3a7bd5', values: p.map((q) => q.loss) }]],
      ['Rewards', [
        { label: 'reward chosen', color: '#27ae60', values: p.map((q) => q.rewardsChosen ?? null) },
        { label: 'reward rejected', color: '#c0392b', values: p.map((q) => q.rewardsRejected ?? null) },
      ]],
      ['Reward margin', [{ label: 'margin', color: '#8e44ad', values: p.map((q) => q.margins ?? null) }]],
      ['Preference accuracy', [{ label: 'preference accuracy', color: '#e67e22', values: p.map((q) => q.accuracy ?? null) }]],
    ];
    return { x: p.map((q) => q.step), panels };
  }, [watched?.points]);
  const running = live?.status === 'running' || live?.status === 'paused';

  return (
    <section className="panel" aria-labelledby="preference-title">
      <h2 id="preference-title">Preference tuning (DPO / ORPO)</h2>
      <p>
        Teaches which of two acceptable answers is preferred. Uses the LoRA and optimizer settings above; the reference
        for DPO is the model as the run starts (a finished SFT run, or the base model for a new adapter).
      </p>
      <div className="row">
        <label className="file-pick">
          Choose preference pairs (JSONL)
          <input type="file" accept=".jsonl,.json" disabled={running} aria-label="Preference pairs (JSONL: prompt, chosen, rejected)" onChange={async (e) => { const f = e.target.files?.[0]; if (f) readPairs(f.name, await f.text()); }} />
        </label>
        <button type="button" disabled={running} onClick={() => void loadSample()}>Use the sample preference set</button>
        <button type="button" disabled={running} onClick={readDataset}>Use the current dataset's pairs</button>
      </div>
      {pairs && (
        <table className="metrics" aria-label="Preference pairs">
          <caption>{pairs.name}: {pairs.pairs.length} pairs{pairs.heldOut !== undefined ? ` (train split; ${pairs.heldOut} validation pairs held out)` : ''}</caption>
          <thead><tr><th scope="col">Prompt</th><th scope="col">Chosen</th><th scope="col">Rejected</th><th scope="col">Mask</th></tr></thead>
          <tbody>
            {pairs.pairs.slice(0, 5).map((p, i) => (
              <tr key={i}>
                <td>{answer(p.prompt)}</td><td>{answer(p.chosen)}</td><td>{answer(p.rejected)}</td>
                <td><button type="button" disabled={!model} onClick={() => void showMask(i, cfg.train.maxSeqLength)}>Tokens</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {mask && (
        <div role="region" aria-label="Preference mask preview">
          <p className="hint">Pair {mask.index + 1} as the preference loss sees it. Green: the loss counts the token (the answer). Grey: the prompt, context only.</p>
          {(['chosen', 'rejected'] as const).map((side) => (
            <div key={side}>
              <h3>{side === 'chosen' ? 'Chosen' : 'Rejected'}: {mask[side].length} tokens, {mask[side].filter((t) => t.target).length} in the loss</h3>
              <div className="token-preview" aria-label={`${side} tokens`}>{mask[side].map((t, i) => <Token key={i} t={t} />)}</div>
            </div>
          ))}
        </div>
      )}
      <div className="row">
        <label>
          Method
          <select value={method} disabled={running} onChange={(e) => set({ method: e.target.value as PreferenceMethod })}>
            <option value="dpo">DPO</option>
            <option value="orpo">ORPO</option>
          </select>
        </label>
        <label>
          {method === 'dpo' ? 'β' : 'λ'}
          <input type="number" step="0.05" min="0.01" value={beta} disabled={running} onChange={(e) => set({ beta: Number(e.target.value) })} />
        </label>
        {method === 'dpo' && (
          <label>
            NLL weight on chosen (RPO α)
            <input type="number" step="0.5" min="0" value={rpoAlpha} disabled={running} aria-describedby="rpo-help" onChange={(e) => set({ rpoAlpha: Number(e.target.value) })} />
          </label>
        )}
        <label>
          Preference run starts from
          <select value={startRun} disabled={running} onChange={(e) => set({ startRun: e.target.value })}>
            <option value="">a new adapter</option>
            {finished.map((r) => <option key={r.id} value={r.id}>run {r.name}</option>)}
          </select>
        </label>
        <button type="button" className="primary" disabled={disabled || running || !pairs || !(beta > 0) || !(rpoAlpha >= 0)} onClick={() => void start(cfg)}>Start preference tuning</button>
      </div>
      {method === 'dpo' && <p id="rpo-help" className="help">RPO α: 0 is plain DPO; 1 also trains on the chosen answer, as the lesson does (DPO alone can push end-of-turn down, and answers ramble).</p>}
      {message && <p role="status">{message}</p>}
      {watched && (
        <>
          <p role="status" aria-label="Preference run status">{STATUS_TEXT[watched.status]} — step {watched.points.at(-1)?.step ?? 0} of {watched.totalSteps || '…'}</p>
          {watched.status === 'completed' && <p>Run &quot;{watched.name}&quot; is in the run history; Compare answers with its adapter.</p>}
          <div className="charts">
            {charts.panels.map(([title, series]) => <LineChart key={title} title={title} x={charts.x} series={series} />)}
          </div>
          <table className="metrics" aria-label="Latest preference metrics">
            <thead>
              <tr><th scope="col">Step</th><th scope="col">Loss</th><th scope="col">Reward chosen</th><th scope="col">Reward rejected</th><th scope="col">Margin</th><th scope="col">Accuracy</th></tr>
            </thead>
            <tbody>
              {watched.points.slice(-8).map((p) => (
                <tr key={p.step}><td>{p.step}</td><td>{fmt(p.loss)}</td><td>{fmt(p.rewardsChosen)}</td><td>{fmt(p.rewardsRejected)}</td><td>{fmt(p.margins)}</td><td>{fmt(p.accuracy, 2)}</td></tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
