// The Export tab: pick a run and checkpoint (or an imported adapter) and download any export format of the
// registry (src/export/formats) as a zip with a model card. Every file is built whole before the download
// starts: a failure shows a message and writes nothing. The engine makes every format with its card (those that
// need the weights from the loaded model; the kit from the open dataset's train split and the run's settings).
// The ONNX check runs the export in onnxruntime-web beside our engine and says whether they agree and which
// decodes faster here.
import { useEffect, useMemo, useState } from 'react';
import { Alert } from '../../components/Alert';
import { notify } from '../../components/toasts';
import { LastModelOffer } from '../model';
import { download } from '../../components/download';
import { useDatasets } from '../../store';
import { appEngineStore, useEngine } from '../../engine/store';
import { EXPORT_FORMATS, type ExportFormat, type ExportFormatSpec } from '../../../src/export/formats';
import type { CheckpointKind } from '../../../src/storage/runs';
import type { AdapterChoice } from '../../../src/engine/api';
import { exportZip } from './build';
import { FormatList } from './FormatList';
import { errorMessage } from '../../../src/errors';

export function ExportPage() {
  const runs = useEngine((e) => e.runs);
  const model = useEngine((e) => e.model);
  const refreshRuns = useEngine((e) => e.refreshRuns);
  const exportModel = useEngine((e) => e.exportModel);
  const adapters = useEngine((e) => e.adapters);
  const refreshAdapters = useEngine((e) => e.refreshAdapters);
  const engineError = useEngine((e) => e.error);
  const dismissEngineError = useEngine((e) => e.dismissError);
  const records = useDatasets((s) => s.records);
  // 'run:<id>' or 'imported:<id>'; empty: the first run (or adapter) listed.
  const [choice, setChoice] = useState('');
  const [checkpoint, setCheckpoint] = useState<CheckpointKind>('last');
  const [dtypes, setDtypes] = useState<Partial<Record<ExportFormat, string>>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [onnxCheck, setOnnxCheck] = useState<string | null>(null);

  useEffect(() => { void refreshRuns(); void refreshAdapters(); }, [refreshRuns, refreshAdapters]);
  const exportable = useMemo(() => runs.filter((r) => r.checkpoints.last !== null || r.checkpoints.best !== null), [runs]);
  const chosenAdapter = adapters.find((a) => `imported:${a.id}` === choice) ?? null;
  const run = chosenAdapter ? null : exportable.find((r) => `run:${r.id}` === choice) ?? exportable[0] ?? null;
  const imported = chosenAdapter ?? (run ? null : adapters[0] ?? null);
  const hasCheckpoint = (run !== null && run.checkpoints[checkpoint] !== null) || imported !== null;

  const perform = async (label: string, make: () => Promise<{ name: string; bytes: Uint8Array }>) => {
    setBusy(label); setError(null); setDone(null);
    try {
      const { name, bytes } = await make();
      download(name, bytes.slice(), 'application/zip');
      setDone(`Downloaded ${name} (${(bytes.length / 1024).toFixed(1)} KiB).`);
      notify(`Downloaded ${name}.`, 'success');
    } catch (e) {
      setError(`${label} failed, nothing was saved: ${errorMessage(e)}`);
    } finally {
      setBusy(null);
    }
  };

  /** The run's base model must be the one loaded: the engine reads the weights from it. */
  const requireRunModel = () => {
    if (!run) throw new Error('no run chosen');
    if (!model) throw new Error('load the run\'s base model on the Train tab first (the adapter is read from the engine)');
    if (model.fingerprint !== run.model.fingerprint) throw new Error(`this run was trained on ${run.model.name}; load that model first`);
    dismissEngineError();
    return run;
  };

  const engineFailure = (fallback: string) => {
    const why = appEngineStore().getState().error;
    dismissEngineError();
    return new Error(why ?? fallback);
  };

  /** An imported adapter exports only onto the model it was imported onto. */
  const requireAdapterModel = () => {
    if (!imported) throw new Error('no adapter chosen');
    if (model?.fingerprint !== imported.model.fingerprint) throw new Error(`this adapter was imported onto ${imported.model.name}; load that model on the Train tab first`);
    dismissEngineError();
    return imported;
  };

  /** The format's files with their card, from the engine; weights need the chosen weights' model loaded. */
  const exportFormat = (id: ExportFormat) => {
    const f: ExportFormatSpec = EXPORT_FORMATS[id];
    return perform(`${f.label} export`, async () => {
      // An imported adapter's PEFT files go out as they came in (the engine reads them from its store, no model needed).
      const needsModel = f.needs.weights && !(imported && id === 'peft');
      const adapter: AdapterChoice = imported
        ? { kind: 'imported', adapterId: needsModel ? requireAdapterModel().id : imported.id }
        : { kind: 'run', runId: needsModel ? requireRunModel().id : run?.id ?? '', checkpoint };
      if (!imported && !run) throw new Error('no run chosen');
      const train = f.needs.records ? records.filter((r) => !r.flagged && r.split === 'train').map((r) => ({ messages: r.messages })) : undefined;
      const r = await exportModel({ adapter, format: id, dtype: dtypes[id], records: train });
      if (!r) throw engineFailure(`the engine could not make the ${f.label}`);
      return exportZip(r.name, id, new Map(r.files));
    });
  };

  /** Weights come from a checkpoint or an imported adapter; the kit repeats a run, so it needs a run and records. */
  const ready = (f: ExportFormatSpec) => (!f.needs.weights || hasCheckpoint) && (!f.needs.records || (run !== null && records.length > 0));

  /** Runs the ONNX export of the chosen weights in onnxruntime-web beside our engine, on a prompt of the dataset. */
  const checkOnnx = async () => {
    setBusy('Checking the ONNX export'); setError(null); setDone(null); setOnnxCheck(null);
    try {
      const adapter: AdapterChoice = imported ? { kind: 'imported', adapterId: requireAdapterModel().id } : { kind: 'run', runId: requireRunModel().id, checkpoint };
      const prompt = records.find((r) => r.split === 'validation')?.messages.find((m) => m.role === 'user')?.content
        ?? records[0]?.messages.find((m) => m.role === 'user')?.content ?? 'Hello.';
      const c = await appEngineStore().getState().engine.checkOnnx({ adapter, prompt });
      setOnnxCheck(c.ok
        ? `The ONNX export matches the engine: next-token logits within ${c.maxRelDiff.toExponential(1)} (relative), the same next token and the same greedy tokens. Decoding here: onnxruntime-web ${c.ortTokensPerSecond.toFixed(0)} tokens/s, WebGPU engine ${c.engineTokensPerSecond.toFixed(0)} tokens/s.`
        : `The ONNX export does NOT match the engine: logits differ by up to ${c.maxRelDiff.toExponential(1)} (relative)${c.sameArgmax ? '' : ', another next token'}${c.sameTokens ? '' : ', other greedy tokens'}.`);
    } catch (e) {
      setError(`ONNX check failed: ${errorMessage(e)}`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="export">
      <h2>Export</h2>
      {exportable.length === 0 && adapters.length === 0 ? <p role="note" className="empty"><strong>Nothing to export yet</strong>No run with a checkpoint yet: train one on the Train tab (or import an adapter on the Compare tab).</p> : (
        <fieldset className="panel" aria-label="What to export">
          <label>
            Run or adapter
            <select value={run ? `run:${run.id}` : imported ? `imported:${imported.id}` : ''} onChange={(e) => setChoice(e.target.value)} disabled={busy !== null}>
              {exportable.map((r) => <option key={r.id} value={`run:${r.id}`}>{r.name} ({r.status})</option>)}
              {adapters.map((a) => <option key={a.id} value={`imported:${a.id}`}>{a.name} (imported adapter)</option>)}
            </select>
          </label>
          {run ? <label>
            Checkpoint
            <select value={checkpoint} onChange={(e) => setCheckpoint(e.target.value === 'best' ? 'best' : 'last')} disabled={busy !== null}>
              <option value="last">Last{run?.checkpoints.last != null ? ` (step ${run.checkpoints.last})` : ' (none)'}</option>
              <option value="best">Best validation loss{run?.checkpoints.best != null ? ` (step ${run.checkpoints.best})` : ' (none)'}</option>
            </select>
          </label> : null}
        </fieldset>
      )}
      {exportable.length > 0 || adapters.length > 0 ? <LastModelOffer why="Exports read the adapter through the engine, which needs the run's base model loaded." /> : null}
      <section className="panel" aria-labelledby="export-formats">
        <h3 id="export-formats">Formats</h3>
        <FormatList ready={ready} busy={busy !== null} dtypes={dtypes} onDtype={(id, d) => setDtypes({ ...dtypes, [id]: d })} onDownload={(id) => void exportFormat(id)} />
        <p><button type="button" disabled={!hasCheckpoint || busy !== null} onClick={() => void checkOnnx()}>Check the ONNX export in onnxruntime-web</button></p>
        {onnxCheck ? <p role="status" aria-label="ONNX check">{onnxCheck}</p> : null}
      </section>
      {busy ? <p role="status" aria-label="Export status">{busy}…</p> : done ? <p role="status" aria-label="Export status">{done}</p> : null}
      {error ? <Alert message={error} onDismiss={() => setError(null)} /> : null}
      {engineError && !error ? <Alert message={engineError} onDismiss={dismissEngineError} /> : null}
    </div>
  );
}
