// The engine over a message channel (a worker, or a MessagePort): the messages, the one dispatch that answers them
// (serveEngine, the worker's end) and the one client that sends them (engineClient, the page's end, an Engine like
// the engine itself, so a store cannot tell them apart). Both are derived from the EngineCalls table
// (src/engine/api.ts): a new engine call needs nothing here.
// A request gets any number of 'event' replies, then exactly one 'return' or 'throw'; unsolicited events (the device
// was lost) come with id 0. Only an error's name and message cross. When the worker is gone, its owner tells the client
// (lose: workers/life.ts notices it in a page), and no call waits for an answer that cannot come.
import type { Engine, EngineCalls, EngineEvent, EngineMethod, EngineMethods, OnEvent } from '../src/engine/api';
import type { PortHandover } from './protocol-data';
import { Requests } from './requests';

export type EngineRequest<M extends EngineMethod = EngineMethod> = { [K in M]: { id: number; kind: K; args: EngineCalls[K]['args'] } }[M];

export type EngineReply =
  | { id: number; kind: 'event'; event: EngineEvent }
  | { id: number; kind: 'return'; result: EngineCalls[EngineMethod]['result'] }
  | { id: number; kind: 'throw'; error: { name: string; message: string } };

/** The serving end of a channel: a DedicatedWorkerGlobalScope, or a MessagePort. */
export interface EnginePort {
  postMessage(reply: EngineReply): void;
  onmessage: ((ev: MessageEvent<EngineRequest | PortHandover>) => void) | null;
}

/** One error line for the other end: the error's name and message, nothing else crosses. */
function thrown(e: unknown): { name: string; message: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message };
}

/** The request's method on `engine`, called with its args (one call for every method: they share one shape). */
function dispatch<M extends EngineMethod>(engine: EngineMethods, req: EngineRequest<M>, onEvent: OnEvent): Promise<EngineCalls[M]['result']> {
  const method: EngineMethods[M] = engine[req.kind];
  return method(req.args, onEvent);
}

/** The answering end: each request's events, then its result or error, through `post`; unsolicited events go out with id 0. */
function engineAnswers(engine: Engine, post: (reply: EngineReply) => void): (req: EngineRequest) => Promise<void> {
  engine.onUnsolicited((event) => post({ id: 0, kind: 'event', event }));
  return async (req) => {
    try {
      post({ id: req.id, kind: 'return', result: await dispatch(engine, req, (event) => post({ id: req.id, kind: 'event', event })) });
    } catch (e) {
      post({ id: req.id, kind: 'throw', error: thrown(e) });
    }
  };
}

/**
 * Answers every request arriving on `port` (engineAnswers); a PortHandover (the page joining the data worker) gets
 * the same engine served on the port it carries.
 */
export function serveEngine(engine: Engine, port: EnginePort): void {
  const answer = engineAnswers(engine, (reply) => port.postMessage(reply));
  port.onmessage = (ev) => {
    if (ev.data.kind === 'port') serveEngine(engine, ev.data.port);
    else void answer(ev.data);
  };
}

/** The sending end of a channel: a Worker, or a MessagePort. */
export interface EngineChannel {
  postMessage<M extends EngineMethod>(req: EngineRequest<M>): void;
  onmessage: ((ev: MessageEvent<EngineReply>) => void) | null;
  terminate?: () => void;
}

interface Pending { onEvent: OnEvent; resolve: (result: unknown) => void; reject: (e: Error) => void }

/** The page's end: an Engine over a channel, told by its owner when the worker behind the channel is gone. */
export interface EngineClient extends Engine {
  /**
   * The worker is gone (it crashed, ran out of memory, was closed or terminated): every call waiting rejects with
   * `message` (a WorkerLost error, workers/requests.ts), every later call at once, until `reconnect`; the unsolicited
   * listeners get an 'engine-lost' event with it.
   */
  lose(message: string): void;
  /** Calls go over `channel` from now on (a fresh worker's); the unsolicited listeners stay. */
  reconnect(channel: EngineChannel): void;
}

/**
 * An Engine whose calls become requests on `channel` and whose promises settle on the matching reply. Its methods
 * are made on first use, by name (a Proxy): the channel carries whatever EngineCalls lists.
 */
export function engineClient(first: EngineChannel): EngineClient {
  let channel = first;
  const requests = new Requests<Pending>();
  const unsolicited: OnEvent[] = [];

  const listen = (c: EngineChannel) => {
    c.onmessage = (ev) => {
      if (c !== channel) return;   // a channel left behind by reconnect
      const reply = ev.data;
      if (reply.id === 0 && reply.kind === 'event') { for (const l of unsolicited) l(reply.event); return; }
      // Messages without a request's id are no replies (the worker's notice that it is alive, workers/life.ts).
      const p = requests.get(reply.id);
      if (!p) return;
      if (reply.kind === 'event') { p.onEvent(reply.event); return; }
      requests.take(reply.id);
      if (reply.kind === 'return') p.resolve(reply.result);
      else p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    };
  };
  listen(channel);

  const call = <M extends EngineMethod>(kind: M) => (args: EngineCalls[M]['args'], onEvent: OnEvent = () => {}) => new Promise((resolve, reject) => {
    requests.open({ onEvent, resolve, reject }, (id) => channel.postMessage<M>({ id, kind, args }));
  });

  const own: Pick<EngineClient, 'onUnsolicited' | 'dispose' | 'lose' | 'reconnect'> = {
    onUnsolicited: (l) => { unsolicited.push(l); },
    dispose: () => {
      requests.lose('engine closed');
      channel.terminate?.();
    },
    lose: (message) => {
      requests.lose(message);
      for (const l of unsolicited) l({ type: 'engine-lost', message });
    },
    reconnect: (next) => {
      channel = next;
      listen(next);
      requests.reopen();
    },
  };
  // The one cast of the channel: a method's reply is the result its own call returned on the other side (dispatch).
  return new Proxy(own, {
    get: (target, name) => (name in target ? target[name as keyof typeof target] : typeof name === 'string' && name !== 'then' ? call(name as EngineMethod) : undefined),
  }) as EngineClient;
}
