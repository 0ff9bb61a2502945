// The lost-engine banner: shown when the engine's worker is gone (it crashed, ran out of memory or was closed: the
// engine store's engineLost), with what it says and a restart that brings a fresh engine back with the model that
// was loaded, loaded again from where the page has it. Datasets, runs and adapters live in IndexedDB, not in the
// worker: the banner says they are kept.
import { useState } from 'react';
import { useEngine } from '../store/engine';

export function EngineLostBanner() {
  const lost = useEngine((s) => s.engineLost);
  const restartEngine = useEngine((s) => s.restartEngine);
  const [restarting, setRestarting] = useState(false);
  if (!lost) return null;
  const restart = async () => {
    setRestarting(true);
    try { await restartEngine(); } finally { setRestarting(false); }
  };
  return (
    <div className="page-banner danger" role="alert" aria-label="Engine stopped">
      <span>{lost} Your datasets, runs and adapters are kept; a run that was training can be resumed from its last checkpoint in the run history.</span>
      <button type="button" className="primary" disabled={restarting} onClick={() => void restart()}>Restart the engine</button>
    </div>
  );
}
