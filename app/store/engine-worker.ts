// The page's engine: one dedicated module worker for the page's lifetime (workers/engine-worker.ts), reached through
// the engine channel's client (workers/engine-channel.ts), and the channel it shares with the data worker.
import type { Engine } from '../../src/engine/api';
import { engineClient } from '../../workers/engine-channel';
import type { PortHandover } from '../../workers/protocol-data';
import { tabId, workerName } from '../../src/storage/writer';

/** What a port can be handed to: a Worker, or a stand-in in tests. */
interface TakesPorts { postMessage(message: PortHandover, transfer: Transferable[]): void }

/**
 * A MessageChannel of their own between the engine worker and the data worker, one port to each: the data worker
 * reads the loaded model's tokenizer over it (workers/protocol-data.ts), so the page never carries those bytes.
 */
export function joinWorkers(engine: TakesPorts, data: TakesPorts): void {
  const { port1, port2 } = new MessageChannel();
  engine.postMessage({ kind: 'port', port: port1 }, [port1]);
  data.postMessage({ kind: 'port', port: port2 }, [port2]);
}

/** The app's engine: one dedicated module worker for the page's lifetime. */
let shared: { worker: Worker; client: Engine } | null = null;
function appEngineWorker(): { worker: Worker; client: Engine } {
  if (!shared) {
    // The tab's id in its name: the worker writes runs only while this tab holds the writer role (src/storage/writer.ts).
    const worker = new Worker(new URL('../../workers/engine-worker.ts', import.meta.url), { type: 'module', name: workerName('engine', tabId()) });
    const client = engineClient(worker);
    worker.onerror = (ev) => { for (const l of errorListeners) l(`The engine worker failed: ${ev.message}`); };
    shared = { worker, client };
  }
  return shared;
}
export function appEngine(): Engine { return appEngineWorker().client; }
/** Joins the page's data worker to the app's engine worker (joinWorkers). */
export function joinEngineWorker(data: Worker): void { joinWorkers(appEngineWorker().worker, data); }
const errorListeners: ((message: string) => void)[] = [];
export function onEngineError(l: (message: string) => void): void { errorListeners.push(l); }
