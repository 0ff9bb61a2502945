// The Train screen: pick a model, configure LoRA SFT on the current dataset (unflagged rows; its train and
// validation splits), see problems and the memory/time estimate before starting, then watch the run live
// and compare it with earlier runs; below, preference tuning (PreferencePanel) and reinforcement learning with rewards
// (GrpoPanel, loaded on demand). A run starts from a fresh adapter or from an imported one (imported on the
// Compare tab; its LoRA shape is then fixed). Training runs in the engine worker; this page only sends
// commands and draws events.
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { presetFor, type PresetName, type RunConfig } from '../../../src/train/presets';
import { engineSelectors, useEngine } from '../../store/engine';
import { useDatasets } from '../../store';
import { download } from '../../components/download';
import type { RunRecord } from '../../../src/storage/runs';
import { ModelPicker } from '../model';
import { ConfigForm } from './ConfigForm';
import { LivePanel } from './LivePanel';
import { PreferencePanel } from './PreferencePanel';
import { meanTokensOf, RunCheck, useRunCheck } from './RunCheck';
import { RunHistory } from './RunHistory';
import { loadRunSettings, saveRunSettings } from './runSettings';

/** The GRPO panel, fetched when the Train screen first shows (its editor, live view and store stay out of the first load). */
const GrpoPanel = lazy(() => import('./GrpoPanel'));
const NO_MODEL = { architecture: 'llama' as const, maxPositions: 2048, hiddenSize: 2048 };

export function TrainingPage() {
  const model = useEngine((s) => s.model);
  const adapter = useEngine((s) => s.adapter);
  const live = useEngine((s) => s.live);
  const runs = useEngine((s) => s.runs);
  const running = useEngine((s) => engineSelectors.isRunning(s));
  const loading = useEngine((s) => s.loading !== null);
  const startRun = useEngine((s) => s.startRun);
  const resumeRun = useEngine((s) => s.resumeRun);
  const control = useEngine((s) => s.control);
  const deleteRun = useEngine((s) => s.deleteRun);
  const exportAdapter = useEngine((s) => s.exportAdapter);
  const adapters = useEngine((s) => s.adapters);
  const evaluations = useEngine((s) => s.evaluations);
  const refreshEvaluations = useEngine((s) => s.refreshEvaluations);
  const records = useDatasets((s) => s.records);
  const current = useDatasets((s) => s.current);
  const unsaved = useDatasets((s) => s.save.kind === 'unsaved');

  // The form's settings outlive a tab switch and a reload (runSettings.ts).
  const [stored] = useState(() => loadRunSettings(() => ({ preset: 'quick', cfg: presetFor('quick', NO_MODEL) })));
  const [preset, setPreset] = useState<PresetName | null>(stored.preset);
  const [cfg, setCfg] = useState<RunConfig>(stored.cfg);
  useEffect(() => saveRunSettings({ preset, cfg }), [preset, cfg]);
  const [name, setName] = useState('');
  const [startFrom, setStartFrom] = useState('');
  useEffect(() => { void refreshEvaluations(); }, [refreshEvaluations]);
  const startable = useMemo(() => adapters.filter((a) => a.model.fingerprint === model?.fingerprint), [adapters, model?.fingerprint]);
  const from = startable.find((a) => a.id === startFrom) ?? null;
  // Starting from an imported adapter fixes the LoRA shape to the adapter's (the engine does the same).
  const run = useMemo<RunConfig>(() => (from ? { ...cfg, lora: { ...from.lora, dropout: cfg.lora.dropout } } : cfg), [cfg, from]);
  // A newly loaded model re-applies the chosen preset (module names and context length differ per model).
  useEffect(() => { if (model && preset) setCfg(presetFor(preset, model.config)); }, [model?.fingerprint]); // eslint-disable-line react-hooks/exhaustive-deps

  const usable = useMemo(() => records.filter((r) => !r.flagged), [records]);
  const counts = useMemo(() => ({
    trainExamples: usable.filter((r) => r.split === 'train').length,
    validationExamples: usable.filter((r) => r.split === 'validation').length,
  }), [usable]);
  const meanTokens = useMemo(() => meanTokensOf(usable), [usable]);
  const check = useRunCheck(run, counts, meanTokens);
  const canStart = check.errors.length === 0 && !running && !loading && adapter?.available !== false;

  const start = () => {
    const runName = name.trim() || `Run ${runs.length + 1}`;
    void startRun({
      name: runName, config: run,
      records: usable.map((r) => ({ messages: r.messages, split: r.split })),
      dataset: current ? { id: current.id, name: current.name, version: current.head } : null,
      init: from ? { kind: 'imported', adapterId: from.id } : null,
    });
    setName('');
  };

  const saveAdapter = async (r: RunRecord) => {
    const files = await exportAdapter(r.id, r.checkpoints.best !== null ? 'best' : 'last');
    if (!files) return;
    const stem = r.name.replace(/[^\w.-]+/g, '_');
    download(`${stem}-adapter_model.safetensors`, files['adapter_model.safetensors'].slice(), 'application/octet-stream');
    download(`${stem}-adapter_config.json`, files['adapter_config.json'], 'application/json');
  };

  return (
    <div className="training">
      <ModelPicker />
      {/* The run being watched comes before the form: its charts are what the page is for while it runs. */}
      {live && <LivePanel live={live} onControl={(a) => void control(a)} />}
      <section className="panel" aria-labelledby="configure-title">
        <h2 id="configure-title">Configure</h2>
        <p>
          Dataset: {current ? `${current.name} (version ${current.head}${unsaved ? ', with unsaved edits' : ''})` : 'none open'} —{' '}
          {counts.trainExamples} training and {counts.validationExamples} validation examples (flagged rows are left out).
        </p>
        <label>
          Start from
          <select value={from?.id ?? ''} disabled={running} onChange={(e) => setStartFrom(e.target.value)}>
            <option value="">a new adapter</option>
            {startable.map((a) => <option key={a.id} value={a.id}>imported adapter {a.name}</option>)}
          </select>
        </label>
        {startable.length === 0 ? <span className="hint"> Import a PEFT adapter on the Compare tab to train it further.</span> : null}
        <ConfigForm
          cfg={run} loraFixedBy={from?.name ?? null} modules={model?.targetModules ?? ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']}
          onChange={(c) => { setCfg(c); setPreset(null); }} preset={preset}
          onPreset={(p) => { setPreset(p); setCfg(presetFor(p, model?.config ?? NO_MODEL)); }} disabled={running}
        />
        <RunCheck check={check} problemsLabel="Problems with this configuration" estimateLabel="Estimate" />
        <div className="row">
          <label>
            Run name
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder={`Run ${runs.length + 1}`} />
          </label>
          <button type="button" className="primary" disabled={!canStart} onClick={start}>Start training</button>
        </div>
      </section>
      <PreferencePanel cfg={run} disabled={running || loading || !model || adapter?.available === false} />
      <Suspense fallback={<p className="hint">Loading reinforcement learning with rewards (GRPO)…</p>}>
        <GrpoPanel cfg={run} disabled={running || loading || !model || adapter?.available === false} />
      </Suspense>
      <RunHistory
        runs={runs} evaluations={evaluations} activeId={running ? live?.runId ?? null : null} canResume={!!model && !running && !loading}
        onResume={(id) => void resumeRun(id)} onDelete={(id) => void deleteRun(id)} onExport={(r) => void saveAdapter(r)}
      />
    </div>
  );
}
