// Import: the drop zone / picker, progress of the running import, the column mapper when a file's shape
// is unsure, what each imported file was read as (ImportedFiles), and the list of rows that could not be imported (fix in place, or drop).
import { useState } from 'react';
import { FileDrop } from '../../components/FileDrop';
import { ProgressBar } from '../../components/ProgressBar';
import { useDatasets } from '../../store';
import { ColumnMapper } from './ColumnMapper';
import { ImportedFiles } from './ImportedFiles';
import { IssuesList } from './IssuesList';

export function ImportPanel() {
  const importFiles = useDatasets((s) => s.importFiles);
  const progress = useDatasets((s) => s.progress);
  const pending = useDatasets((s) => s.pendingMappings[0]);
  const [busy, setBusy] = useState(false);
  const onFiles = (files: File[]) => {
    setBusy(true);
    void importFiles(files).finally(() => setBusy(false));
  };
  return (
    <section aria-labelledby="import-heading" className="panel">
      <h2 id="import-heading">Import</h2>
      <FileDrop label="Drop files to import" accept=".jsonl,.ndjson,.json,.csv,.tsv,.parquet" onFiles={onFiles}>
        <p className="hint">JSONL, JSON, CSV, TSV or Parquet; Alpaca, ShareGPT, messages, prompt/completion or text.</p>
      </FileDrop>
      {progress && <ProgressBar label={progress.phase === 'import' ? `Importing ${progress.label}` : 'Finding duplicates'} fraction={progress.fraction} />}
      {busy && !progress && <p role="status">Reading…</p>}
      {pending && <ColumnMapper key={pending.file.name + pending.needs.signature} pending={pending} />}
      <ImportedFiles />
      <IssuesList />
    </section>
  );
}
