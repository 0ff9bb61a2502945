// "From the Hub" on the Data step: a Hub dataset by its repository id (OWNER/NAME, or OWNER/NAME@revision), its data
// files listed by config and split as the `datasets` library maps them, the chosen split downloaded (progress in the
// import panel; resumable and cached as models are; the one "Hub endpoint" setting) and imported into the open
// dataset as dropped files are. Loaded on demand (ImportPanel's lazy import), so neither this nor the Hub client is
// part of the page's first load. Failures are the datasets store's one error line. Not here: listing and
// downloading (the data tools, src/data/hub.ts), the import itself (the datasets store).
import { useState, type FormEvent } from 'react';
import type { DatasetConfig } from '../../../src/data/hub';
import { HF_ENDPOINT } from '../../../src/io/download';
import { HubEndpointField, useHubEndpoint } from '../../shell/hub-endpoint';
import { useDatasets } from '../../store';

/** A file's size as people read it (datasets run from a few KiB to GiB). */
const size = (n: number) => (n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KiB` : n < 2 ** 30 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 2 ** 30).toFixed(2)} GiB`);

/** The split offered first: "train" when there is one, else the first with files. */
const firstSplit = (c: DatasetConfig | undefined) => (c?.splits.find((s) => s.name === 'train' && s.files.length) ?? c?.splits.find((s) => s.files.length))?.name ?? '';

export default function HubImport({ busy }: { busy: boolean }) {
  const listing = useDatasets((s) => s.hubListing);
  const listHubDataset = useDatasets((s) => s.listHubDataset);
  const importHubSplit = useDatasets((s) => s.importHubSplit);
  const [spec, setSpec] = useState('');
  const hub = useHubEndpoint();
  const [working, setWorking] = useState<'listing' | 'importing' | null>(null);
  const [pick, setPick] = useState<{ config: string; split: string }>({ config: '', split: '' });

  const configs = listing?.layout.configs ?? [];
  const config = configs.find((c) => c.name === pick.config) ?? configs.find((c) => c.name === listing?.layout.defaultConfig) ?? configs[0];
  const split = config?.splits.find((s) => s.name === pick.split && s.files.length) ?? config?.splits.find((s) => s.name === firstSplit(config));
  const disabled = busy || working !== null;

  /** The endpoint checked (its problem shown under the form), then `f` with it. */
  const withEndpoint = async (f: (url: string) => Promise<void>, state: 'listing' | 'importing') => {
    const url = hub.check();
    if (!url) return;
    setWorking(state);
    try { await f(url); } finally { setWorking(null); }
  };
  const list = (e: FormEvent) => {
    e.preventDefault();
    if (spec.trim() && !disabled) void withEndpoint((url) => listHubDataset(spec, url).then(() => setPick({ config: '', split: '' })), 'listing');
  };
  const importSplit = (e: FormEvent) => {
    e.preventDefault();
    if (config && split && !disabled) void withEndpoint((url) => importHubSplit(config.name, split.name, url), 'importing');
  };

  return (
    <div className="hub-import">
      <form onSubmit={list} noValidate aria-label="Find a Hub dataset">
        <label>
          Dataset repository
          <input
            value={spec} onChange={(e) => setSpec(e.target.value)} aria-label="Hub dataset repository id" aria-describedby="hub-dataset-hint"
            placeholder="OWNER/NAME or OWNER/NAME@revision" spellCheck={false} autoComplete="off"
          />
        </label>
        <HubEndpointField hub={hub} describedBy="hub-dataset-hint" />
        <button type="submit" disabled={disabled || !spec.trim()}>{working === 'listing' ? 'Listing…' : 'List data files'}</button>
        {hub.error && <p role="alert" className="alert">{hub.error}</p>}
        <p className="hint" id="hub-dataset-hint">
          Public datasets, read without a token. The endpoint is {HF_ENDPOINT} unless you use a mirror (the same setting as the Train
          tab's model download). Downloads resume where they stopped and are kept in this browser.
        </p>
      </form>
      {listing && config && (
        <form onSubmit={importSplit} aria-label={`Import from ${listing.repo}`}>
          <p><strong>{listing.repo}</strong>{listing.revision !== 'main' ? ` at ${listing.revision}` : ''}</p>
          <label>
            Config
            <select value={config.name} disabled={disabled} onChange={(e) => setPick({ config: e.target.value, split: '' })} aria-label="Hub dataset config">
              {configs.map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
            </select>
          </label>
          <label>
            Split
            <select value={split?.name ?? ''} disabled={disabled} onChange={(e) => setPick({ config: config.name, split: e.target.value })} aria-label="Hub dataset split">
              {config.splits.filter((s) => s.files.length).map((s) => <option key={s.name} value={s.name}>{s.name}</option>)}
            </select>
          </label>
          {split ? (
            <>
              <ul className="hub-files" aria-label="Data files of the split">
                {split.files.map((f) => <li key={f.path}><code>{f.path}</code> <span className="hint">{size(f.size)}</span></li>)}
              </ul>
              <button type="submit" className="primary" disabled={disabled}>
                {working === 'importing' ? 'Downloading…' : `Download and import ${split.files.length} file${split.files.length > 1 ? 's' : ''} (${size(split.files.reduce((n, f) => n + f.size, 0))})`}
              </button>
            </>
          ) : <p role="note">This config has no data files the studio reads (Parquet, JSON Lines, JSON, CSV, TSV).</p>}
        </form>
      )}
    </div>
  );
}
