// This tab's writer role (src/storage/writer.ts), made once for the page: the datasets store writes through it
// (app/store/index.ts, which also saves before a handover and re-reads after a takeover), the engine worker is told
// the tab's id in its name (app/store/engine-worker.ts), and the shell's banner shows it and offers "Use here".
// Each time this tab's engine worker takes the runs lock (at start-up and after a takeover; it first marks runs
// left running by another tab as interrupted), the engine's lists are read again.
import { useSyncExternalStore } from 'react';
import { pageRole, type PageRole, type RoleState } from '../../src/storage/writer';
import { appEngineStore } from '../store/engine';

let role: PageRole | null | undefined;

/** The page's role; null where the browser has no Web Locks (nothing then keeps two tabs apart). */
export function pageWriter(): PageRole | null {
  if (role !== undefined) return role;
  role = typeof navigator !== 'undefined' && navigator.locks ? pageRole() : null;
  let held = false;
  role?.subscribe(() => {
    const now = role?.runsHeld() ?? false;
    if (now && !held) {
      const engine = appEngineStore().getState();
      void engine.refreshRuns();
      void engine.refreshAdapters();
      void engine.refreshEvaluations();
    }
    held = now;
  });
  return role;
}

const noRole = (): RoleState => 'writer';
const never = () => () => {};

/** The role's state for a component ('writer' where there is no role). */
export function useWriterState(): RoleState {
  const r = pageWriter();
  return useSyncExternalStore(r ? r.subscribe : never, r ? r.state : noRole);
}
