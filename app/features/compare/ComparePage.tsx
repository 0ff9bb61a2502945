// The Compare screen: pick a dataset row (validation rows first) or type a prompt, and the base model and each
// chosen run (last or best checkpoint) or imported adapter answer in turn, streaming, with the same sampling settings and seed,
// beside the reference answer; each tuned answer shows its word differences from the base answer, with
// tokens/s and length. Mark which answer is better (base, tuned, tie): the tally is a win rate and the marked
// pairs download as preference JSONL, with those of several sampled answers from one model (SamplesPanel). The
// conversation mode (ConversationView, loaded when first chosen) puts the same columns in a multi-turn chat. Below, the batch evaluation over the validation split, stored with the
// runs and adapters it evaluated: after a reload the newest stored one is shown again. Answers stand in
// columns side by side (app/styles.css .answer-grid scrolls sideways past three); keyboard shortcuts step
// through the rows and mark the better answer.
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { Alert } from '../../components/Alert';
import { download } from '../../components/download';
import { useDatasets } from '../../store';
import { useEngine } from '../../store/engine';
import { markedPairs, preferenceJsonl, promptText } from '../../../src/eval/export';
import { promptAndReference, winRate, type Verdict } from '../../../src/eval/metrics';
import { LastModelOffer } from '../model';
import { AdaptersPanel } from './AdaptersPanel';
import { AnswerDiff } from './AnswerDiff';
import { AnswerStats } from './AnswerStats';
import { BatchPanel } from './BatchPanel';
import { RowPicker, type PickRow } from './RowPicker';
import { SamplesPanel } from './SamplesPanel';
import { SamplingControls } from './SamplingControls';
import { appCompareStore, useCompare, type Column } from './store';

const ConversationView = lazy(async () => ({ default: (await import('./ConversationView')).ConversationView }));

export function ComparePage() {
  const s = appCompareStore();
  const model = useEngine((e) => e.model);
  const runs = useEngine((e) => e.runs);
  const refreshRuns = useEngine((e) => e.refreshRuns);
  const adapters = useEngine((e) => e.adapters);
  const refreshAdapters = useEngine((e) => e.refreshAdapters);
  const evaluations = useEngine((e) => e.evaluations);
  const refreshEvaluations = useEngine((e) => e.refreshEvaluations);
  const records = useDatasets((st) => st.records);
  const dataset = useDatasets((st) => st.current);
  const error = useCompare((x) => x.error);
  const mode = useCompare((x) => x.mode);
  const sampling = useCompare((x) => x.sampling);
  const columns = useCompare((x) => x.columns);
  const current = useCompare((x) => x.current);
  const answers = useCompare((x) => x.answers);
  const generating = useCompare((x) => x.generating);
  const marks = useCompare((x) => x.marks);
  const batch = useCompare((x) => x.batch);
  const samplePairs = useCompare((x) => x.samplePairs);
  const [typed, setTyped] = useState('');
  /** The conversation view is answering (it shares the one resident model: nothing else may ask meanwhile). */
  const [chatBusy, setChatBusy] = useState(false);
  const [pick, setPick] = useState('');

  useEffect(() => { void refreshRuns(); void refreshAdapters(); void refreshEvaluations(); }, [refreshRuns, refreshAdapters, refreshEvaluations]);

  const runOptions = useMemo(() => runs.flatMap((r) => (['last', 'best'] as const)
    .filter((k) => r.checkpoints[k] !== null)
    .map((k): Column => ({ id: `${r.id}:${k}`, label: `${r.name} (${k})`, adapter: { kind: 'run', runId: r.id, checkpoint: k } }))), [runs]);
  const adapterOptions = useMemo(() => adapters.map((a): Column => ({ id: `imported:${a.id}`, label: `${a.name} (imported)`, adapter: { kind: 'imported', adapterId: a.id } })), [adapters]);
  const options = useMemo(() => [...runOptions, ...adapterOptions], [runOptions, adapterOptions]);

  // With only the base column, add the newest run's last checkpoint (or else the newest imported adapter) as the tuned column.
  useEffect(() => {
    const st = s.getState();
    if (st.columns.length !== 1) return;
    const newest = [...runs].sort((a, b) => b.updatedAt - a.updatedAt).find((r) => r.checkpoints.last !== null);
    const opt = newest ? runOptions.find((o) => o.id === `${newest.id}:last`) : adapterOptions[0];
    if (opt) st.addColumn(opt);
  }, [runOptions, adapterOptions, runs, s]);

  // After a reload (no batch on screen yet), show the newest stored evaluation.
  useEffect(() => {
    const st = s.getState();
    if (!st.batch && evaluations.length > 0) st.showStored(evaluations[0]);
  }, [evaluations, s]);

  const rows = useMemo((): PickRow[] => {
    const usable = records.filter((r) => !r.flagged && promptAndReference(r.messages) !== null);
    return [...usable.filter((r) => r.split === 'validation'), ...usable.filter((r) => r.split !== 'validation')].map((r) => {
      const pr = promptAndReference(r.messages)!;
      return { id: r.id, split: r.split, text: promptText({ kind: 'chat', messages: pr.prompt }), prompt: pr.prompt, reference: pr.reference, key: `row:${r.id}:${r.rev}` };
    });
  }, [records]);
  const validation = useMemo(() => records.filter((r) => r.split === 'validation' && !r.flagged && promptAndReference(r.messages) !== null), [records]);

  const busy = generating || !!batch?.running || chatBusy;
  const sampled = Object.values(samplePairs).flat();
  const tuned = columns.find((c) => c.id !== 'base');
  const base = columns.find((c) => c.id === 'base');
  const tally = winRate(Object.values(marks).map((m) => m.verdict));
  const currentVerdict = current ? marks[current.key]?.verdict ?? null : null;
  const canMark = !!current && !!tuned && !!base && !generating && answers[base.id]?.done && answers[tuned.id]?.done;

  const markCurrent = (v: Verdict) => {
    if (!current || !tuned || !base) return;
    s.getState().mark(current.key, v, { prompt: current.prompt, base: answers[base.id].text, tuned: answers[tuned.id].text });
  };
  const askRow = (r: PickRow) => { void s.getState().ask({ key: r.key, prompt: { kind: 'chat', messages: r.prompt }, reference: r.reference }); };

  // Keyboard shortcuts (not while typing): J / K next / previous dataset row, 1 / 2 / 3 base better / tuned better / tie.
  const keys = useRef({ rows, current, canMark, busy, model, askRow, markCurrent, mode });
  keys.current = { rows, current, canMark, busy, model, askRow, markCurrent, mode };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey || (e.target instanceof HTMLElement && e.target.closest('input, textarea, select, [contenteditable]'))) return;
      const k = keys.current;
      if (k.mode !== 'prompt') return;
      const key = e.key.toLowerCase();
      if ((key === 'j' || key === 'k') && k.model && !k.busy && k.rows.length > 0) {
        const at = k.rows.findIndex((r) => r.key === k.current?.key);
        const next = key === 'j' ? (at + 1) % k.rows.length : (at <= 0 ? k.rows.length - 1 : at - 1);
        k.askRow(k.rows[next]);
        e.preventDefault();
      } else if (k.canMark && (key === '1' || key === '2' || key === '3')) {
        k.markCurrent(key === '1' ? 'base' : key === '2' ? 'tuned' : 'tie');
        e.preventDefault();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="compare">
      <div className="page-head"><h2>Compare</h2><span className="shortcuts">Shortcuts: <kbd>J</kbd> / <kbd>K</kbd> next / previous row, <kbd>1</kbd> <kbd>2</kbd> <kbd>3</kbd> base better / tuned better / tie</span></div>
      <LastModelOffer why="The base model, every run of it and imported adapters answer here." />
      {error ? <Alert message={error} onDismiss={() => s.getState().dismissError()} /> : null}

      <fieldset className="mode-switch" disabled={busy}>
        <legend className="visually-hidden">Compare mode</legend>
        <label><input type="radio" name="compare-mode" checked={mode === 'prompt'} onChange={() => s.getState().setMode('prompt')} />One prompt</label>
        <label><input type="radio" name="compare-mode" checked={mode === 'conversation'} onChange={() => s.getState().setMode('conversation')} />Conversation</label>
      </fieldset>

      {mode === 'conversation' ? (
        <Suspense fallback={<p role="status" className="empty">Loading the conversation view…</p>}>
          <ConversationView
            setup={model ? { columns, sampling, model: { name: model.name, fingerprint: model.fingerprint } } : null}
            busy={generating || !!batch?.running} onBusyChange={setChatBusy}
          />
        </Suspense>
      ) : <>
      <section className="panel prompt-panel" aria-labelledby="prompt-heading">
        <h3 id="prompt-heading">Prompt</h3>
        <div className="prompt-columns">
          <form className="prompt-form" onSubmit={(e) => { e.preventDefault(); if (typed.trim()) void s.getState().ask({ key: `typed:${typed}`, prompt: sampling.chatTemplate ? { kind: 'chat', messages: [{ role: 'user', content: typed }] } : { kind: 'raw', text: typed }, reference: null }); }}>
            <label>
              Your prompt
              <textarea rows={3} value={typed} onChange={(e) => setTyped(e.target.value)} />
            </label>
            <button type="submit" className="primary" disabled={!model || busy || !typed.trim()}>Generate</button>
          </form>
          <RowPicker rows={rows} currentKey={current?.key ?? null} disabled={!model || busy} onPick={askRow} />
        </div>
      </section>

      {current ? (
        <section className="panel answers" aria-labelledby="answers-heading">
          <h3 id="answers-heading">Answers to: {promptText(current.prompt)}</h3>
          <div className="answer-grid" role="group" aria-label="Answers side by side" tabIndex={0}>
            {current.reference !== null ? (
              <article aria-label="Reference answer" className="answer reference">
                <h4>Reference</h4>
                <p className="answer-text">{current.reference}</p>
              </article>
            ) : null}
            {columns.map((c) => {
              const a = answers[c.id];
              if (!a) return null;
              const against = c.id !== 'base' && base && answers[base.id]?.done ? answers[base.id].text : null;
              return (
                <article key={c.id} aria-label={`Answer from ${c.label}`} className="answer" aria-busy={!a.done}>
                  <h4>{c.label}</h4>
                  <p className="answer-text" aria-live="polite" data-testid={`answer-${c.id}`}><AnswerDiff text={a.text} against={against} /></p>
                  <AnswerStats answer={a} label={c.label} />
                </article>
              );
            })}
          </div>
          {tuned && base ? (
            <div role="group" aria-label="Which answer is better?" className="verdicts">
              <span>Better answer ({base.label} vs {tuned.label}):</span>
              {(['base', 'tuned', 'tie'] as const).map((v) => (
                <button key={v} type="button" aria-pressed={currentVerdict === v} disabled={!canMark} onClick={() => markCurrent(v)}>
                  {v === 'base' ? 'Base is better' : v === 'tuned' ? 'Tuned is better' : 'Tie'}
                </button>
              ))}
            </div>
          ) : null}
          <SamplesPanel disabled={!model || busy} />
        </section>
      ) : (
        <section className="panel answers" aria-label="Answers">
          <p className="empty"><strong>No answers yet</strong>Pick a dataset row or type a prompt: every model in the list answers it, side by side.</p>
        </section>
      )}
      </>}

      <div className="compare-settings">
          <section className="panel" aria-labelledby="columns-heading">
            <h3 id="columns-heading">Models</h3>
            <ul aria-label="Answering models" className="models-list">
              {columns.map((c) => (
                <li key={c.id}>
                  {c.label}
                  {c.id !== 'base' ? <button type="button" disabled={busy} onClick={() => s.getState().removeColumn(c.id)} aria-label={`Remove ${c.label}`}>×</button> : null}
                </li>
              ))}
            </ul>
            <div className="row">
              <label>
                Add a model
                <select value={pick} disabled={busy} onChange={(e) => setPick(e.target.value)}>
                  <option value="">Choose a run or adapter…</option>
                  {!base ? <option value="base">Base</option> : null}
                  {options.filter((o) => !columns.some((c) => c.id === o.id)).map((o) => <option key={o.id} value={o.id}>{o.label}</option>)}
                </select>
              </label>
              <button
                type="button" disabled={busy || !pick}
                onClick={() => {
                  const c = pick === 'base' ? { id: 'base', label: 'Base', adapter: { kind: 'base' as const } } : options.find((o) => o.id === pick);
                  if (c) s.getState().setColumns(c.id === 'base' ? [c, ...columns] : [...columns, c]);
                  setPick('');
                }}
              >
                Add
              </button>
            </div>
          </section>
          <SamplingControls value={sampling} onChange={(p) => s.getState().setSampling(p)} disabled={busy} />
      </div>


      <section className="panel" aria-labelledby="prefs-heading">
        <h3 id="prefs-heading">Preferences</h3>
        <p role="status" aria-label="Win rate">
          {tally.total === 0 ? 'No answers marked yet.' : `Tuned wins ${tally.tuned}, base wins ${tally.base}, ties ${tally.tie}: win rate ${(100 * tally.winRate!).toFixed(1)}% of ${tally.total}`}
        </p>
        {sampled.length > 0 ? <p role="status" aria-label="Pairs from several answers">{sampled.length} {sampled.length === 1 ? 'pair' : 'pairs'} from several answers marked.</p> : null}
        <button type="button" disabled={tally.base + tally.tuned === 0 && sampled.length === 0} onClick={() => download('preferences.jsonl', preferenceJsonl([...markedPairs(Object.values(marks)), ...sampled]), 'application/jsonl')}>
          Download preferences as JSONL
        </button>
      </section>

      <BatchPanel
        batch={batch} validationCount={validation.length} canRun={!!model} busy={busy}
        onRun={() => model && void s.getState().runBatch(validation, {
          model: { name: model.name, fingerprint: model.fingerprint },
          dataset: dataset ? { id: dataset.id, name: dataset.name, version: dataset.head } : null,
        }).then(refreshEvaluations)}
        stored={evaluations}
        onShowStored={(id) => { const e = evaluations.find((x) => x.id === id); if (e) s.getState().showStored(e); }}
        onCancel={() => s.getState().cancelBatch()}
        verdictOf={(k) => marks[k]?.verdict ?? null}
        onMark={(k, v, row) => s.getState().mark(k, v, row)}
      />

      <AdaptersPanel onDeleted={(id) => s.getState().removeColumn(`imported:${id}`)} />
    </div>
  );
}
