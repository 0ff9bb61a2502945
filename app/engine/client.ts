// The page's side of the engine worker: an Engine (workers/protocol-engine.ts) whose calls become
// EngineRequests and whose promises settle on the matching 'return' / 'throw' reply; 'event' replies go to
// the call's onEvent. No casts on messages: each call names the reply it accepts with a narrowing function.
import type {
  Engine, EngineCalls, EngineMethod, EngineReply, EngineRequest, EngineReturn, OnEvent,
} from '../../workers/protocol-engine';
import type { PortHandover } from '../../workers/protocol-data';
import { tabId, workerName } from '../../src/storage/writer';

/** The page's end of the channel: a Worker, or a MessagePort in tests. */
interface EngineChannel {
  postMessage(req: EngineRequest): void;
  onmessage: ((ev: MessageEvent<EngineReply>) => void) | null;
  terminate?: () => void;
}

interface Pending {
  onEvent: OnEvent;
  settle: (reply: EngineReturn) => void;
  reject: (e: Error) => void;
}

export function createEngineClient(channel: EngineChannel): Engine {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const unsolicited: OnEvent[] = [];

  channel.onmessage = (ev) => {
    const reply = ev.data;
    if (reply.id === 0 && reply.kind === 'event') { for (const l of unsolicited) l(reply.event); return; }
    const p = pending.get(reply.id);
    if (!p) return;
    if (reply.kind === 'event') { p.onEvent(reply.event); return; }
    pending.delete(reply.id);
    if (reply.kind === 'return') p.settle(reply);
    else p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
  };

  /** Sends a request; `pick` returns the result when the reply is this method's, undefined otherwise. */
  function call<M extends EngineMethod>(
    make: (id: number) => EngineRequest,
    pick: (r: EngineReturn) => EngineCalls[M]['result'] | undefined,
    onEvent: OnEvent = () => {},
  ): Promise<EngineCalls[M]['result']> {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, {
        onEvent, reject,
        settle: (r) => {
          const v = pick(r);
          if (v === undefined) reject(new Error(`engine: unexpected '${r.method}' reply to request ${id}`));
          else resolve(v);
        },
      });
      channel.postMessage(make(id));
    });
  }

  return {
    probe: () => call<'probe'>((id) => ({ id, kind: 'probe', args: {} }), (r) => (r.method === 'probe' ? r.result : undefined)),
    loadModel: (source, onEvent, weights) => call<'loadModel'>((id) => ({ id, kind: 'loadModel', args: { source, weights } }), (r) => (r.method === 'loadModel' ? r.result : undefined), onEvent),
    startRun: (args, onEvent) => call<'startRun'>((id) => ({ id, kind: 'startRun', args }), (r) => (r.method === 'startRun' ? r.result : undefined), onEvent),
    resumeRun: (runId, onEvent) => call<'resumeRun'>((id) => ({ id, kind: 'resumeRun', args: { runId } }), (r) => (r.method === 'resumeRun' ? r.result : undefined), onEvent),
    startPreferenceRun: (args, onEvent) => call<'startPreferenceRun'>((id) => ({ id, kind: 'startPreferenceRun', args }), (r) => (r.method === 'startPreferenceRun' ? r.result : undefined), onEvent),
    previewPreference: (args) => call<'previewPreference'>((id) => ({ id, kind: 'previewPreference', args }), (r) => (r.method === 'previewPreference' ? r.result : undefined)),
    control: (runId, action) => call<'control'>((id) => ({ id, kind: 'control', args: { runId, action } }), (r) => (r.method === 'control' ? r.result : undefined)),
    listRuns: () => call<'listRuns'>((id) => ({ id, kind: 'listRuns', args: {} }), (r) => (r.method === 'listRuns' ? r.result : undefined)),
    deleteRun: (runId) => call<'deleteRun'>((id) => ({ id, kind: 'deleteRun', args: { runId } }), (r) => (r.method === 'deleteRun' ? r.result : undefined)),
    generate: (args, onEvent) => call<'generate'>((id) => ({ id, kind: 'generate', args }), (r) => (r.method === 'generate' ? r.result : undefined), onEvent),
    exportAdapter: (runId, checkpoint) => call<'exportAdapter'>((id) => ({ id, kind: 'exportAdapter', args: { runId, checkpoint } }), (r) => (r.method === 'exportAdapter' ? r.result : undefined)),
    exportModel: (args) => call<'exportModel'>((id) => ({ id, kind: 'exportModel', args }), (r) => (r.method === 'exportModel' ? r.result : undefined)),
    evaluateLoss: (args) => call<'evaluateLoss'>((id) => ({ id, kind: 'evaluateLoss', args }), (r) => (r.method === 'evaluateLoss' ? r.result : undefined)),
    checkOnnx: (args) => call<'checkOnnx'>((id) => ({ id, kind: 'checkOnnx', args }), (r) => (r.method === 'checkOnnx' ? r.result : undefined)),
    importAdapter: (args) => call<'importAdapter'>((id) => ({ id, kind: 'importAdapter', args }), (r) => (r.method === 'importAdapter' ? r.result : undefined)),
    listAdapters: () => call<'listAdapters'>((id) => ({ id, kind: 'listAdapters', args: {} }), (r) => (r.method === 'listAdapters' ? r.result : undefined)),
    renameAdapter: (adapterId, name) => call<'renameAdapter'>((id) => ({ id, kind: 'renameAdapter', args: { adapterId, name } }), (r) => (r.method === 'renameAdapter' ? r.result : undefined)),
    deleteAdapter: (adapterId) => call<'deleteAdapter'>((id) => ({ id, kind: 'deleteAdapter', args: { adapterId } }), (r) => (r.method === 'deleteAdapter' ? r.result : undefined)),
    adapterFiles: (adapterId) => call<'adapterFiles'>((id) => ({ id, kind: 'adapterFiles', args: { adapterId } }), (r) => (r.method === 'adapterFiles' ? r.result : undefined)),
    evaluate: (args, onEvent) => call<'evaluate'>((id) => ({ id, kind: 'evaluate', args }), (r) => (r.method === 'evaluate' ? r.result : undefined), onEvent),
    stopEvaluation: () => call<'stopEvaluation'>((id) => ({ id, kind: 'stopEvaluation', args: {} }), (r) => (r.method === 'stopEvaluation' ? r.result : undefined)),
    saveEvaluation: (e) => call<'saveEvaluation'>((id) => ({ id, kind: 'saveEvaluation', args: e }), (r) => (r.method === 'saveEvaluation' ? r.result : undefined)),
    listEvaluations: (subject) => call<'listEvaluations'>((id) => ({ id, kind: 'listEvaluations', args: { subject } }), (r) => (r.method === 'listEvaluations' ? r.result : undefined)),
    onUnsolicited: (l) => { unsolicited.push(l); },
    dispose: () => {
      const err = new Error('engine closed');
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      channel.terminate?.();
    },
  };
}

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
    const client = createEngineClient(worker);
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
