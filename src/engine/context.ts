// What the engine's parts share (engine.ts composes them): the host, the resident model, and the run store, opened
// on first use. Runs a closed page or a crash left 'running' or 'paused' are marked 'interrupted' then (resumable
// from their checkpoint), once (a read-only tab's engine leaves them: the writer's are not stale).
import { interruptStaleRuns, type RunStore } from '../storage/runs';
import type { OnEvent } from './api';
import type { EngineHost } from './host';
import { Resident } from './resident';

export interface EngineContext {
  host: EngineHost;
  resident: Resident;
  store(): Promise<RunStore>;
  /** Tells every onUnsolicited listener (the device was lost). */
  unsolicited: OnEvent;
}

export function createContext(host: EngineHost, unsolicited: OnEvent): EngineContext {
  const resident = new Resident(host, (message) => unsolicited({ type: 'device-lost', message }));
  let opened: Promise<RunStore> | null = null;
  const open = async (): Promise<RunStore> => {
    const s = await host.runStore();
    await interruptStaleRuns(s, resident.active?.runId ?? null, host.now());
    return s;
  };
  return { host, resident, unsolicited, store: () => (opened ??= open()) };
}
