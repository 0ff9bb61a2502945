// Imported PEFT adapters: drop or pick an adapter zip (as the Export tab writes it), its two files, or its
// folder; the engine checks it against the loaded model (base model name, targets, keys, shapes) and stores
// it, or refuses it whole and says why; a base model name that differs can be overridden ("Import anyway",
// the CLI's --ignore-base-model). Listed with their LoRA shape, renamable and deletable. Used on the Compare
// tab (as columns) and the Train tab (as a starting point). Names and messages are text, never HTML.
import { useState, type DragEvent } from 'react';
import { Alert } from '../../components/Alert';
import { filesFromDataTransfer, filesFromFileList, type ModelFiles } from '../../../src/io/model-files';
import type { AdapterRecord } from '../../../src/storage/runs';
import { useEngine } from '../../store/engine';
import type { ImportAdapterArgs } from '../../../src/engine/api';

/** Dropped or picked files as the engine takes them; a lone zip is named after itself, loose files 'adapter'. */
async function toImport(files: ModelFiles): Promise<ImportAdapterArgs> {
  const paths = files.list();
  const name = paths.length === 1 && /\.zip$/i.test(paths[0]) ? paths[0].split('/').at(-1)! : files.name === 'dropped files' ? 'adapter' : files.name;
  return { name, files: await Promise.all(paths.map(async (path) => ({ path, file: new Blob([(await files.read(path)).slice()]) }))) };
}

const loraSummary = (a: Pick<AdapterRecord, 'lora'>) => `r=${a.lora.rank}, alpha=${a.lora.alpha}${a.lora.useRslora ? ' (rsLoRA)' : ''}, ${a.lora.targetModules.join(' ')}`;

function AdapterRow({ a, foreign, onDeleted }: { a: AdapterRecord; foreign: boolean; onDeleted: (id: string) => void }) {
  const renameAdapter = useEngine((s) => s.renameAdapter);
  const deleteAdapter = useEngine((s) => s.deleteAdapter);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <tr>
      <td>
        {editing === null ? a.name : (
          <form onSubmit={(e) => { e.preventDefault(); void renameAdapter(a.id, editing).then(() => setEditing(null)); }}>
            <input aria-label={`New name for ${a.name}`} value={editing} onChange={(e) => setEditing(e.target.value)} />
            <button type="submit" disabled={!editing.trim()}>Save</button>
            <button type="button" onClick={() => setEditing(null)}>Cancel</button>
          </form>
        )}
      </td>
      <td>{loraSummary(a)}</td>
      <td>{a.model.name}{foreign ? ' (not the loaded model)' : ''}{a.baseModel && a.baseModel !== a.model.name ? `; made for ${a.baseModel}` : ''}</td>
      <td>
        {editing === null ? <button type="button" onClick={() => setEditing(a.name)} aria-label={`Rename ${a.name}`}>Rename</button> : null}
        <button type="button" onClick={() => { onDeleted(a.id); void deleteAdapter(a.id); }} aria-label={`Delete ${a.name}`}>Delete</button>
      </td>
    </tr>
  );
}

export function AdaptersPanel({ onDeleted = () => {} }: { onDeleted?: (adapterId: string) => void }) {
  const model = useEngine((s) => s.model);
  const adapters = useEngine((s) => s.adapters);
  const importAdapter = useEngine((s) => s.importAdapter);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // An adapter refused only for naming another base model: kept so the user can import it anyway.
  const [otherBase, setOtherBase] = useState<ImportAdapterArgs | null>(null);
  const [over, setOver] = useState(false);

  const check = async (args: ImportAdapterArgs) => {
    setBusy(true); setError(null); setOtherBase(null); setStatus('Checking the adapter against the loaded model…');
    try {
      const r = await importAdapter(args);
      if ('record' in r) setStatus(`Imported ${r.record.name}: LoRA ${loraSummary(r.record)}, ${r.record.parameters.toLocaleString('en')} values.`);
      else {
        setStatus(null); setError(`The adapter was not imported: ${r.refused}`);
        if (r.otherBaseModel) setOtherBase({ ...args, ignoreBaseModel: true });
      }
    } finally {
      setBusy(false);
    }
  };
  const start = async (files: Promise<ModelFiles>) => check(await toImport(await files));
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (busy || !model) return;
    // A dropped folder is walked; loose files (or a zip) come as they are.
    const folder = Array.from(e.dataTransfer.items).some((i) => i.webkitGetAsEntry()?.isDirectory);
    void start(folder ? filesFromDataTransfer(e.dataTransfer) : Promise.resolve(filesFromFileList(e.dataTransfer.files)));
  };
  const disabled = busy || !model;

  return (
    <section className="panel" aria-labelledby="adapters-heading">
      <h3 id="adapters-heading">Imported adapters</h3>
      <div
        role="region" aria-label="Drop a PEFT adapter" className={over ? 'file-drop over' : 'file-drop'}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={onDrop}
      >
        <p>
          {model
            ? `Drop a PEFT LoRA adapter for ${model.name} here (a zip, or adapter_model.safetensors + adapter_config.json, or their folder), or`
            : 'Load a model first: an adapter is checked against the model it will run on.'}
        </p>
        <label className="file-pick">
          Choose adapter files
          <input
            type="file" multiple accept=".zip,.json,.safetensors" aria-label="Choose adapter zip or files" disabled={disabled}
            onChange={(e) => { const f = e.target.files; if (f?.length) void start(Promise.resolve(filesFromFileList(f))); e.target.value = ''; }}
          />
        </label>
        <label className="file-pick">
          Choose an adapter folder
          <input
            type="file" aria-label="Choose adapter folder" disabled={disabled}
            ref={(el) => { el?.setAttribute('webkitdirectory', ''); }}
            onChange={(e) => { const f = e.target.files; if (f?.length) void start(Promise.resolve(filesFromFileList(f))); e.target.value = ''; }}
          />
        </label>
      </div>
      {status ? <p role="status" aria-label="Adapter import status">{status}</p> : null}
      {error ? <Alert message={error} onDismiss={() => { setError(null); setOtherBase(null); }} /> : null}
      {otherBase ? (
        <p>
          If it was trained on the same weights under another name, import it anyway; its tensors are still checked against this model.{' '}
          <button type="button" disabled={busy || !model} onClick={() => void check(otherBase)}>Import anyway</button>
        </p>
      ) : null}
      {adapters.length > 0 ? (
        <table aria-label="Imported adapters">
          <thead><tr><th scope="col">Name</th><th scope="col">LoRA</th><th scope="col">Imported onto</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {adapters.map((a) => <AdapterRow key={a.id} a={a} foreign={!!model && model.fingerprint !== a.model.fingerprint} onDeleted={onDeleted} />)}
          </tbody>
        </table>
      ) : <p>No adapters imported yet.</p>}
    </section>
  );
}
