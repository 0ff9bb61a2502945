// The read-only banner: shown while another tab of the studio on this origin holds the writer role
// (src/storage/writer.ts), so this tab's changes are refused. "Use here" asks that tab to save its work, pause any
// training at a checkpoint and turn read-only, then takes the role; this tab re-reads what the other one changed.
import { useState } from 'react';
import { errorMessage } from '../../src/errors';
import { pageWriter, useWriterState } from '../shell/writer';

export function WriterBanner() {
  const state = useWriterState();
  const [asked, setAsked] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (state === 'writer' || state === 'releasing' || (state === 'acquiring' && !asked)) return null;
  const useHere = async () => {
    setAsked(true);
    setError(null);
    try { await pageWriter()?.useHere(); } catch (e) { setError(errorMessage(e)); } finally { setAsked(false); }
  };
  return (
    <div className="page-banner" role="status" aria-label="Read-only tab">
      {state === 'acquiring'
        ? <span>Taking over: the other tab is saving its work and pausing any training at a checkpoint…</span>
        : <span><strong>Read-only.</strong> The studio is open in another tab, which saves its datasets and runs; changes made here are refused.{error ? ` ${error}` : ''}</span>}
      <button type="button" className="primary" disabled={state === 'acquiring'} onClick={() => void useHere()}>Use here</button>
    </div>
  );
}
