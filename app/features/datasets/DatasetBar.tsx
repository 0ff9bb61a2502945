// The open dataset: pick another, make a new one, rename, delete (after a confirmation dialog); the save status (announced politely);
// and a warning when storage is not persistent.
import { useState } from 'react';
import { useDatasets } from '../../store';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { notify } from '../../components/toasts';
import type { SaveStatus } from '../../../src/storage/dataset-log';

function statusText(s: SaveStatus): string {
  switch (s.kind) {
    case 'idle': return 'Nothing to save';
    case 'unsaved': return 'Unsaved changes';
    case 'saving': return 'Saving…';
    case 'saved': return `Saved (version ${s.version})`;
    case 'error': return `Not saved: ${s.message}`;
  }
}

export function DatasetBar() {
  const datasets = useDatasets((s) => s.datasets);
  const current = useDatasets((s) => s.current);
  const save = useDatasets((s) => s.save);
  const persistent = useDatasets((s) => s.persistent);
  const openDataset = useDatasets((s) => s.openDataset);
  const newDataset = useDatasets((s) => s.newDataset);
  const renameDataset = useDatasets((s) => s.renameDataset);
  const deleteDataset = useDatasets((s) => s.deleteDataset);
  const [name, setName] = useState('');
  return (
    <div className="dataset-bar">
      <label>
        Dataset
        <select value={current?.id ?? ''} onChange={(e) => e.target.value && void openDataset(e.target.value)}>
          {!current && <option value="">(none yet: import a file)</option>}
          {datasets.map((d) => <option key={d.id} value={d.id}>{d.name} ({d.recordCount})</option>)}
        </select>
      </label>
      <form onSubmit={(e) => { e.preventDefault(); const n = name.trim(); if (!n) return; void (current ? renameDataset(n) : newDataset(n)); setName(''); }}>
        <label>Name<input value={name} onChange={(e) => setName(e.target.value)} placeholder={current?.name ?? 'new dataset'} /></label>
        <button type="submit" disabled={!name.trim() || !current}>Rename</button>
        <button type="button" disabled={!name.trim()} onClick={() => { void newDataset(name.trim()); setName(''); }}>New dataset</button>
      </form>
      {current && (
        <ConfirmDialog
          trigger={<button type="button" className="danger">Delete dataset</button>}
          title={`Delete dataset “${current.name}”?`} description="All its versions are deleted from this browser. This cannot be undone."
          confirmLabel="Delete dataset"
          onConfirm={() => { const n = current.name; void deleteDataset(current.id).then(() => notify(`Deleted dataset “${n}”.`, 'success')); }}
        />
      )}
      <span role="status" aria-live="polite" className={`save-${save.kind}`}>{statusText(save)}</span>
      {!persistent && <span role="note">Browser storage is unavailable: this data will not survive a reload.</span>}
    </div>
  );
}
