// The page's engine: one dedicated module worker (workers/engine-worker.ts), reached through the engine channel's
// client (workers/engine-channel.ts), and the channel it shares with the data worker. When the worker is gone
// (workers/life.ts notices it), every call waiting on it rejects with one line naming it, and the data worker is told
// (its tokenizer requests to the engine settle too); restartAppEngine starts a fresh worker behind the same client,
// so every store keeps the engine it has. What the page shows and reloads then is the engine store's (./engine.ts).
import { engineClient, type EngineClient } from '../../workers/engine-channel';
import { watchLife } from '../../workers/life';
import type { EngineLost, PortHandover } from '../../workers/protocol-data';
import { tabId, workerName } from '../../src/storage/writer';
import type { Engine } from '../../src/engine/api';

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

let client: EngineClient | null = null;
let running: { worker: Worker; forget: () => void } | null = null;
let dataWorker: Worker | null = null;

function newWorker(): Worker {
  // The tab's id in its name: the worker writes runs only while this tab holds the writer role (src/storage/writer.ts).
  return new Worker(new URL('../../workers/engine-worker.ts', import.meta.url), { type: 'module', name: workerName('engine', tabId()) });
}

/** Watches `worker`: its loss reaches the client and the data worker. */
function watch(worker: Worker, c: EngineClient): { worker: Worker; forget: () => void } {
  const forget = watchLife(worker, (why) => {
    const message = `The engine worker ${why}; what it was doing is lost.`;
    c.lose(message);
    dataWorker?.postMessage({ kind: 'engine-lost', message } satisfies EngineLost);
  });
  return { worker, forget };
}

function appClient(): EngineClient {
  if (!client) {
    const worker = newWorker();
    client = engineClient(worker);
    running = watch(worker, client);
  }
  return client;
}

/** The app's engine (the same object across restarts). */
export function appEngine(): Engine { return appClient(); }

/** Ends the engine worker (if it still runs) and starts a fresh one behind the same engine; nothing is loaded in it. */
export function restartAppEngine(): void {
  const c = appClient();
  running!.forget();   // ending it here is no loss to report
  running!.worker.terminate();
  const worker = newWorker();
  c.reconnect(worker);
  running = watch(worker, c);
  if (dataWorker) joinWorkers(worker, dataWorker);
}

/** Joins the page's data worker to the app's engine worker (joinWorkers), and again to each restarted one. */
export function joinEngineWorker(data: Worker): void {
  appClient();
  dataWorker = data;
  joinWorkers(running!.worker, data);
}
