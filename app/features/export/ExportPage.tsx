// The Export tab: pick a run and checkpoint (or an imported adapter) and download any export format of the
// registry (src/export/formats) as a zip with a model card. Every file is built whole before the download
// starts: a failure shows a message and writes nothing. The engine makes every format with its card (those that
// need the weights from the loaded model; the kit from the open dataset's train split and the run's settings).
// The ONNX check runs the export in onnxruntime-web beside our engine and says whether they agree and which
// decodes faster here. "Push to the Hugging Face Hub" (PushPanel) sends the same files to a Hub repository.
// The tab loads when first opened (App.tsx), and the Hub client only when a push starts (the store).
import { useEffect } from 'react';
import { Alert } from '../../components/Alert';
import { LastModelOffer } from '../model';
import { useDatasets } from '../../store';
import { useEngine } from '../../store/engine';
import type { ExportFormatSpec } from '../../../src/export/formats';
import { FormatList } from './FormatList';
import { PushPanel } from './PushPanel';
import { exportSelectors, useExport } from './store';

export function ExportPage() {
  const runs = useEngine((e) => e.runs);
  const model = useEngine((e) => e.model);
  const refreshRuns = useEngine((e) => e.refreshRuns);
  const adapters = useEngine((e) => e.adapters);
  const refreshAdapters = useEngine((e) => e.refreshAdapters);
  const engineError = useEngine((e) => e.error);
  const dismissEngineError = useEngine((e) => e.dismissError);
  const records = useDatasets((s) => s.records);
  const { choice, checkpoint, dtypes, busy, error, done, onnxCheck } = useExport((s) => s);
  const { choose, setCheckpoint, setDtype, exportFormat, checkOnnx, dismissError } = useExport((s) => s);

  useEffect(() => { void refreshRuns(); void refreshAdapters(); }, [refreshRuns, refreshAdapters]);
  const exportable = exportSelectors.exportable(runs);
  const { run, imported } = exportSelectors.chosen(choice, runs, adapters);
  const target = { run, imported, model, records };
  const hasCheckpoint = (run !== null && run.checkpoints[checkpoint] !== null) || imported !== null;

  /** Weights come from a checkpoint or an imported adapter; the kit repeats a run, so it needs a run and records. */
  const ready = (f: ExportFormatSpec) => (!f.needs.weights || hasCheckpoint) && (!f.needs.records || (run !== null && records.length > 0));

  return (
    <div className="export">
      <h2>Export</h2>
      {exportable.length === 0 && adapters.length === 0 ? <p role="note" className="empty"><strong>Nothing to export yet</strong>No run with a checkpoint yet: train one on the Train tab (or import an adapter on the Compare tab).</p> : (
        <fieldset className="panel" aria-label="What to export">
          <label>
            Run or adapter
            <select value={run ? `run:${run.id}` : imported ? `imported:${imported.id}` : ''} onChange={(e) => choose(e.target.value)} disabled={busy !== null}>
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
        <FormatList ready={ready} busy={busy !== null} dtypes={dtypes} onDtype={setDtype} onDownload={(id) => void exportFormat(id, target)} />
        <p><button type="button" disabled={!hasCheckpoint || busy !== null} onClick={() => void checkOnnx(target)}>Check the ONNX export in onnxruntime-web</button></p>
        {onnxCheck ? <p role="status" aria-label="ONNX check">{onnxCheck}</p> : null}
      </section>
      {exportable.length > 0 || adapters.length > 0 ? <PushPanel target={target} ready={ready} /> : null}
      {busy ? <p role="status" aria-label="Export status">{busy}…</p> : done ? <p role="status" aria-label="Export status">{done}</p> : null}
      {error ? <Alert message={error} onDismiss={dismissError} /> : null}
      {engineError && !error ? <Alert message={engineError} onDismiss={dismissEngineError} /> : null}
    </div>
  );
}
