// "Push to the Hugging Face Hub" on the Export tab: the PEFT adapter, the merged model or the GGUF model of the chosen
// run or adapter (the files the zip holds, with the model card; weights in the dtype chosen in the list above) to a
// model repository the user names, created if missing, with an access token the user pastes. Where the token is kept
// is said beside it: this tab's memory, or with "Remember on this device" one localStorage key; "Forget token" clears
// both. Progress while it goes, the repository's address when done; a failure is the tab's one error line. Part of
// the Export tab's code, which loads when the tab is first opened (App.tsx), so it is not in the page's first load.
// Not here: making the files and pushing them (the export store: app/features/export/store.ts, src/export/hub-push.ts).
import { useState, type FormEvent } from 'react';
import { ProgressBar } from '../../components/ProgressBar';
import { EXPORT_FORMATS, type ExportFormat, type ExportFormatSpec } from '../../../src/export/formats';
import { HubEndpointField, useHubEndpoint } from '../../shell/hub-endpoint';
import { HUB_TOKEN_KEY, useExport, type ExportTarget } from './store';

/** What may go to the Hub: the formats the Hub's model pages and loaders read. */
const PUSHABLE: ExportFormat[] = ['peft', 'merged', 'gguf'];

export function PushPanel({ target, ready }: { target: ExportTarget; ready: (f: ExportFormatSpec) => boolean }) {
  const { busy, hubToken, rememberToken, pushing, pushed } = useExport((s) => s);
  const { pushToHub, setHubToken, setRememberToken, forgetToken } = useExport((s) => s);
  const [format, setFormat] = useState<ExportFormat>('peft');
  const [repo, setRepo] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const hub = useHubEndpoint();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const endpoint = hub.check();
    if (endpoint && busy === null) void pushToHub(format, target, { repo, endpoint, private: isPrivate });
  };

  return (
    <section className="panel push-panel" aria-labelledby="push-heading">
      <h3 id="push-heading">Push to the Hugging Face Hub</h3>
      <form onSubmit={submit} noValidate>
        <div className="row">
          <label>
            Format
            <select value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)} disabled={busy !== null} aria-label="Format to push">
              {PUSHABLE.map((id) => <option key={id} value={id} disabled={!ready(EXPORT_FORMATS[id])}>{EXPORT_FORMATS[id].label}</option>)}
            </select>
          </label>
          <label>
            Repository
            <input value={repo} onChange={(e) => setRepo(e.target.value)} placeholder="OWNER/NAME" aria-label="Hub repository" spellCheck={false} autoComplete="off" />
          </label>
          <label>
            <input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} />
            Private (if the repository is new)
          </label>
        </div>
        <div className="row">
          <label>
            Access token
            <input
              type="password" value={hubToken} onChange={(e) => setHubToken(e.target.value)} aria-label="Hub access token"
              aria-describedby="hub-token-where" autoComplete="off" spellCheck={false} placeholder="hf_…"
            />
          </label>
          <label>
            <input type="checkbox" checked={rememberToken} onChange={(e) => setRememberToken(e.target.checked)} aria-describedby="hub-token-where" />
            Remember on this device
          </label>
          <button type="button" onClick={forgetToken} disabled={!hubToken && !rememberToken}>Forget token</button>
        </div>
        <p className="hint" id="hub-token-where">
          A token with write access (Hugging Face: Settings → Access Tokens). It is kept in this tab's memory and gone when
          the page reloads; with “Remember on this device” it is also kept in this browser's localStorage (one key,
          <code> {HUB_TOKEN_KEY}</code>), never with your datasets and runs. “Forget token” clears both. It is sent only to
          the Hub endpoint below and never shown in messages.
        </p>
        <div className="row">
          <HubEndpointField hub={hub} describedBy="hub-token-where" />
          <button type="submit" className="primary" disabled={busy !== null || !ready(EXPORT_FORMATS[format])}>Push to the Hub</button>
        </div>
        {hub.error && <p role="alert" className="alert">{hub.error}</p>}
      </form>
      {pushing && <ProgressBar label="Pushing to the Hub" fraction={pushing.fraction} />}
      {pushing && <p className="hint" aria-live="polite">{pushing.phase}…</p>}
      {pushed && (
        <p role="status" aria-label="Push status">
          Pushed {pushed.files} files: <a href={pushed.url} target="_blank" rel="noreferrer">{pushed.url}</a>
        </p>
      )}
    </section>
  );
}
