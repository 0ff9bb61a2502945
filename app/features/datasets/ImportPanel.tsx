// Import: the drop zone / picker and, beside it, "From the Hugging Face Hub" (HubImport, loaded when opened), progress
// of the running download or import, the column mapper when a file's shape is unsure, what each imported file was read
// as (ImportedFiles), and the list of rows that could not be imported (fix in place, or drop).
import { lazy, Suspense, useState } from 'react';
import { FileDrop } from '../../components/FileDrop';
import { ProgressBar } from '../../components/ProgressBar';
import { useDatasets } from '../../store';
import { ColumnMapper } from './ColumnMapper';
import { ImportedFiles } from './ImportedFiles';
import { IssuesList } from './IssuesList';

const HubImport = lazy(() => import('./HubImport'));

const PHASE = { import: 'Importing', download: 'Downloading' } as const;

export function ImportPanel() {
  const importFiles = useDatasets((s) => s.importFiles);
  const progress = useDatasets((s) => s.progress);
  const pending = useDatasets((s) => s.pendingMappings[0]);
  const [busy, setBusy] = useState(false);
  const [hub, setHub] = useState(false);
  const onFiles = (files: File[]) => {
    setBusy(true);
    void importFiles(files).finally(() => setBusy(false));
  };
  return (
    <section aria-labelledby="import-heading" className="panel">
      <h2 id="import-heading">Import</h2>
      <div className="import-sources">
        <FileDrop label="Drop files to import" accept=".jsonl,.ndjson,.json,.csv,.tsv,.parquet" onFiles={onFiles}>
          <p className="hint">JSONL, JSON, CSV, TSV or Parquet; Alpaca, ShareGPT, messages, prompt/completion or text.</p>
        </FileDrop>
        <div className="hub-source" role="group" aria-labelledby="hub-source-heading">
          <h3 id="hub-source-heading">From the Hugging Face Hub</h3>
          {hub ? (
            <Suspense fallback={<p role="status">Loading…</p>}><HubImport busy={busy || progress !== null} /></Suspense>
          ) : (
            <>
              <p className="hint">A dataset by its repository id: its Parquet, JSON Lines, JSON or CSV files, by config and split.</p>
              <button type="button" onClick={() => setHub(true)}>Import from the Hub</button>
            </>
          )}
        </div>
      </div>
      {progress && <ProgressBar label={progress.phase === 'import' || progress.phase === 'download' ? `${PHASE[progress.phase]} ${progress.label}` : 'Finding duplicates'} fraction={progress.fraction} />}
      {busy && !progress && <p role="status">Reading…</p>}
      {pending && <ColumnMapper key={pending.file.name + pending.needs.signature} pending={pending} />}
      <ImportedFiles />
      <IssuesList />
    </section>
  );
}
