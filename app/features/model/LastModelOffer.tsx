// After a reload no model is loaded: where a page needs one (Train, Compare, Export), offer the model the last
// session used (lastModel.ts) in one click, kept on the GPU as the picker's remembered weights choice, or say how to get it back when it came from disk.
import { useState } from 'react';
import { lastModel, lastModelName, lastWeights } from './lastModel';
import { engineSelectors, useEngine } from '../../store/engine';

export function LastModelOffer({ why }: { why: string }) {
  const model = useEngine((s) => s.model);
  const loading = useEngine((s) => s.loading);
  const running = useEngine((s) => engineSelectors.isRunning(s));
  const loadModel = useEngine((s) => s.loadModel);
  const [last] = useState(lastModel);
  if (model || loading) return null;
  return (
    <div className="empty" role="note" aria-label="Model needed">
      <strong>Load a model to continue</strong>
      <p>{why}</p>
      {last === null ? <p>Load one on the Train step.</p>
        : last.kind === 'files' ? <p>Last time you used {lastModelName(last)}, picked from disk: choose its folder or files again on the Train step.</p>
          : <button type="button" className="primary" disabled={running} onClick={() => void loadModel(last, lastWeights() || undefined)}>Load {lastModelName(last)} again</button>}
    </div>
  );
}
