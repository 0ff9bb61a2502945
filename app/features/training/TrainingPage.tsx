// The Train screen: pick a model, configure LoRA SFT on the current dataset (unflagged rows; its train and
// validation splits), see problems and the memory/time estimate before starting, then watch the run live
// and compare it with earlier runs; below, preference tuning (PreferencePanel). A run starts from a fresh adapter or from an imported one (imported on the
// Compare tab; its LoRA shape is then fixed). Training runs in the engine worker; this page only sends
// commands and draws events.
import { useEffect, useMemo, useState } from 'react';
import { charLength } from '../../../src/data/record';
import { estimateRun, presetFor, validateRunConfig, type PresetName, type RunConfig } from '../../../src/train/presets';
import { engineSelectors, useEngine } from '../../store/engine';
import { useDatasets } from '../../store';
import { download } from '../../components/download';
import type { RunRecord } from '../../../src/storage/runs';
import { ModelPicker } from '../model';
import { ConfigForm } from './ConfigForm';
import { fmtSeconds, LivePanel } from './LivePanel';
import { PreferencePanel } from './PreferencePanel';
import { RunHistory } from './RunHistory';
import { loadRunSettings, saveRunSettings } from './runSettings';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
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
  // Before tokenizing: ~4 characters a token plus template overhead. The run itself uses exact counts.
  const meanTokens = useMemo(() => (usable.length ? usable.reduce((s, r) => s + charLength(r) / 4 + 12, 0) / usable.length : 0), [usable]);
  // The memory checks count the base as the loaded model keeps it (bf16, 8-bit, 4-bit).
  const sized = useMemo(() => (model ? { ...run, train: { ...run.train, weights: model.weights } } : run), [run, model]);
  const problems = useMemo(() => {
    const list = validateRunConfig(sized, model?.config ?? null, counts, model ? { model: model.config, budget: model.memoryBudget } : undefined);
    return model ? list : [{ field: 'model', severity: 'error' as const, message: 'Load a model first.' }, ...list];
  }, [sized, model, counts]);
  const errors = problems.filter((p) => p.severity === 'error');
  // Sustained FLOP/s guess until a run measures it: a software adapter does ~2 GFLOP/s, a GPU ~1 TFLOP/s here.
  const estimate = model && errors.length === 0 ? estimateRun(sized, model.config, { ...counts, meanTokens }, adapter?.software ? 2e9 : 1e12) : null;
  const canStart = errors.length === 0 && !running && !loading && adapter?.available !== false;

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
        {problems.length > 0 && (
          <ul aria-label="Problems with this configuration" className="problems">
            {problems.map((p, i) => <li key={i} className={p.severity}>{p.severity === 'error' ? 'Error' : 'Warning'}: {p.message}</li>)}
          </ul>
        )}
        {estimate && (
          <p aria-label="Estimate">
            Estimated GPU memory {mib(estimate.memoryBytes)}; {estimate.stepsPerEpoch} steps per epoch, {estimate.totalSteps} in all;
            roughly {fmtSeconds(estimate.secondsPerEpoch)} per epoch{adapter?.software ? ' on this software adapter' : ''} (measured once the run starts).
          </p>
        )}
        <div className="row">
          <label>
            Run name
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder={`Run ${runs.length + 1}`} />
          </label>
          <button type="button" className="primary" disabled={!canStart} onClick={start}>Start training</button>
        </div>
      </section>
      <PreferencePanel cfg={run} disabled={running || loading || !model || adapter?.available === false} />
      <RunHistory
        runs={runs} evaluations={evaluations} activeId={running ? live?.runId ?? null : null} canResume={!!model && !running && !loading}
        onResume={(id) => void resumeRun(id)} onDelete={(id) => void deleteRun(id)} onExport={(r) => void saveAdapter(r)}
      />
    </div>
  );
}
