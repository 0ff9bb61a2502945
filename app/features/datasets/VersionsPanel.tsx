// Saved versions of the open dataset, newest first; restoring one saves it again as the newest version,
// so nothing is ever lost by going back.
import { useDatasets } from '../../store';

export function VersionsPanel() {
  const versions = useDatasets((s) => s.versions);
  const restoreVersion = useDatasets((s) => s.restoreVersion);
  const flush = useDatasets((s) => s.flush);
  const head = versions[0]?.version;
  return (
    <section aria-labelledby="versions-heading" className="panel">
      <h2 id="versions-heading">Versions</h2>
      <button type="button" onClick={() => void flush()}>Save now</button>
      {versions.length === 0 ? <p>No saved versions yet.</p> : (
        <ol reversed className="versions" aria-label="Saved versions">
          {versions.slice(0, 50).map((v) => (
            <li key={v.version}>
              <span>v{v.version} · {new Date(v.savedAt).toLocaleString()} · {v.recordCount} examples · {v.message}</span>{' '}
              {v.version !== head && <button type="button" onClick={() => void restoreVersion(v.version)} aria-label={`Restore version ${v.version}`}>Restore</button>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
