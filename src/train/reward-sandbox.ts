// The program a reward sandbox runs: it loads one user module and answers calls of its default export, after taking
// away everything a reward has no business with. Hosts run it as a worker's whole program (workerSource): a
// locked-down worker from a data: URL in the page (workers/reward-client.ts), a worker_threads thread in Node
// (src/train/rewards-node.ts); the host owns the time limit (it terminates a worker that does not answer).
//
// Why a data: URL worker in the page: its origin is opaque, so the browser itself refuses it the studio's IndexedDB,
// caches and file system, whatever the code finds. Why the lockdown on top: an opaque origin can still send requests.
// Before the user's module loads, every global that is not plain computation is deleted from the global object and
// its prototypes (an allowlist, so APIs added to browsers later are removed too): fetch, XMLHttpRequest, WebSocket,
// EventSource, WebTransport, Worker, importScripts, indexedDB, caches, navigator, BroadcastChannel, postMessage,
// close, and the code generators (eval, the Function constructors reached through any function's `constructor`,
// string timers), without which nothing can turn text into an import(); the module's own text is refused when it
// imports (rewards.ts checkRewardSource). Tested in Chromium (tests/browser/reward-sandbox.test.ts).
//
// Contract: `rewardSandboxMain` is stringified (Function.prototype.toString), so it is self-contained: it refers to
// nothing outside its own body but its argument and the language's globals. The messages are SandboxRequest and
// SandboxReply. sandboxOpener is the host side both hosts share: the load, a time limit per call, a fresh worker
// after one that hung or died. Not here: what a value means as a reward (rewards.ts).
import { checkRewardSource, type OpenSandbox, type RewardInput, type ScriptSandbox } from './rewards';

export type SandboxRequest = { type: 'load'; source: string } | { type: 'call'; id: number; input: RewardInput };

/** `value` when the function gave a number (NaN and infinities too); otherwise `what` it gave ('a string', 'null'). */
export type SandboxReply =
  | { type: 'loaded' }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; value: number; what: null }
  | { type: 'result'; id: number; value: null; what: string }
  | { type: 'error'; id: number; message: string };

/**
 * What the host gives the program: its side of the channel (bound before the program runs: the lockdown deletes
 * postMessage and addEventListener from the global), and a loader for a module URL (import() in the host's text).
 */
export interface SandboxPort {
  post(m: SandboxReply): void;
  listen(f: (m: SandboxRequest) => void): void;
  load(url: string): Promise<{ default?: unknown }>;
}

/**
 * The program's text for a host: `portExpression` is JavaScript for the SandboxPort (its `load` must be written
 * there, as `(u) => import(u)`: the import must not pass through a bundler, which rewrites it).
 */
export function workerSource(portExpression: string): string {
  return `"use strict";\n(${rewardSandboxMain.toString()})(${portExpression});\n`;
}

export function rewardSandboxMain(port: SandboxPort): void {
  const { post, load } = port;
  const describe = (v: unknown): string => (v === null || v === undefined ? String(v) : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
  const messageOf = (e: unknown): string => {
    try {
      return e instanceof Error ? `${e.name}: ${e.message}` : `threw ${describe(e)}: ${String(e)}`;
    } catch {
      return 'threw a value that cannot be shown';
    }
  };
  const toUrl = (source: string): string => `data:text/javascript;charset=utf-8,${encodeURIComponent(source)}`;
  let fn: ((input: RewardInput) => unknown) | null = null;

  port.listen((m) => {
    void (async () => {
      if (m.type === 'load') {
        try {
          const mod = await load(toUrl(m.source));
          if (typeof mod.default !== 'function') { post({ type: 'load-error', message: `its default export is ${describe(mod.default)}, not a function` }); return; }
          fn = mod.default as (input: RewardInput) => unknown;
          post({ type: 'loaded' });
        } catch (e) {
          post({ type: 'load-error', message: messageOf(e) });
        }
        return;
      }
      try {
        const v = await fn!(m.input);
        post(typeof v === 'number' ? { type: 'result', id: m.id, value: v, what: null } : { type: 'result', id: m.id, value: null, what: describe(v) });
      } catch (e) {
        post({ type: 'error', id: m.id, message: messageOf(e) });
      }
    })();
  });

  // ---- lockdown: from here on the global object holds plain computation only ----
  const keep = new Set([
    // ECMAScript
    'Object', 'Array', 'Number', 'Boolean', 'String', 'Symbol', 'BigInt', 'Math', 'JSON', 'Date', 'RegExp', 'Promise', 'Map', 'Set',
    'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Proxy', 'Reflect', 'Intl', 'Iterator', 'ArrayBuffer', 'DataView',
    'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float16Array',
    'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'Error', 'AggregateError', 'EvalError', 'RangeError',
    'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'encodeURI',
    'encodeURIComponent', 'decodeURI', 'decodeURIComponent', 'escape', 'unescape', 'NaN', 'Infinity', 'undefined', 'globalThis',
    // the web's plain computation
    'console', 'TextEncoder', 'TextDecoder', 'atob', 'btoa', 'structuredClone', 'queueMicrotask', 'setTimeout', 'clearTimeout',
    'setInterval', 'clearInterval',
  ]);
  const g = globalThis as unknown as Record<string, unknown>;
  const timers = { setTimeout: g.setTimeout, setInterval: g.setInterval } as Record<string, (...a: unknown[]) => unknown>;
  for (let o: object | null = globalThis; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Reflect.ownKeys(o)) {
      if (typeof key === 'string' && keep.has(key)) continue;
      if (key === Symbol.toStringTag) continue;
      try {
        if (!Reflect.deleteProperty(o, key)) Object.defineProperty(o, key, { value: undefined });
      } catch {
        // not configurable and not writable: the host checks what is left (the Chromium test lists the dangerous ones)
      }
    }
  }
  for (const name of ['setTimeout', 'setInterval']) {
    const original = timers[name];
    g[name] = (handler: unknown, ...rest: unknown[]) => {
      if (typeof handler !== 'function') throw new TypeError(`${name} takes a function here, not code in a string`);
      return original(handler, ...rest);
    };
  }
  // The code generators: Function and its async/generator kin are reached through any function's `constructor`.
  for (const f of [function () {}, async function () {}, function* () {}, async function* () {}]) {
    const proto = Object.getPrototypeOf(f) as object;
    Reflect.deleteProperty(proto, 'constructor');
  }
}

// ---- the host side ----------------------------------------------------------------------------------

/** A started sandbox worker as its host sees it. */
export interface SandboxWorker {
  post(m: SandboxRequest): void;
  /** Replies; the host checks their shape (the program's replies pass through code the user could have disturbed). */
  onReply(f: (m: unknown) => void): void;
  /** The worker failed or exited on its own. */
  onCrash(f: (why: string) => void): void;
  terminate(): void;
}

/**
 * An OpenSandbox over a way to start workers running workerSource: calls one at a time, each answered within the time
 * limit or its worker is terminated (the call rejects, saying so) and the next call starts a fresh one.
 */
export function sandboxOpener(spawn: () => SandboxWorker): OpenSandbox {
  return async (source, { name, timeoutMs }) => {
    checkRewardSource(source, name);   // the lockdown cannot stop an import the module's own text makes
    let worker: SandboxWorker | null = null;
    let pending: { id: number; settle: (m: unknown, crash: string | null) => void } | null = null;
    let nextId = 1;
    let queue: Promise<unknown> = Promise.resolve();

    const stop = () => { worker?.terminate(); worker = null; };
    /** Posts a request and waits for the reply with its id (0: the load), within the time limit. */
    const request = (m: SandboxRequest, id: number) => new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending = null;
        stop();
        reject(new Error(`did not answer within ${timeoutMs} ms (stopped)`));
      }, timeoutMs);
      pending = {
        id, settle: (reply, crash) => {
          clearTimeout(timer);
          pending = null;
          if (crash !== null) { stop(); reject(new Error(`its worker stopped: ${crash}`)); } else resolve(reply);
        },
      };
      worker!.post(m);
    });
    const start = async () => {
      const w = spawn();
      worker = w;
      w.onReply((m) => {
        const id = isRecord(m) && (m.type === 'loaded' || m.type === 'load-error') ? 0 : isRecord(m) && typeof m.id === 'number' ? m.id : -1;
        if (worker === w && pending && pending.id === id) pending.settle(m, null);
      });
      w.onCrash((why) => { if (worker === w && pending) pending.settle(null, why); });
      const reply = await request({ type: 'load', source }, 0);
      if (isRecord(reply) && reply.type === 'loaded') return;
      stop();
      throw new Error(`reward ${name} could not be loaded: ${isRecord(reply) && typeof reply.message === 'string' ? reply.message : 'no answer'}`);
    };
    await start();

    const call = async (input: RewardInput): Promise<unknown> => {
      if (!worker) await start();
      const id = nextId++;
      const reply = await request({ type: 'call', id, input }, id);
      if (!isRecord(reply)) throw new Error('gave no answer');
      if (reply.type === 'error') throw new Error(String(reply.message));
      if (reply.type !== 'result') throw new Error('gave no answer');
      if (typeof reply.what === 'string') throw new Error(`returned ${reply.what}, not a number`);
      return reply.value;
    };
    const sandbox: ScriptSandbox = {
      call: (input) => {
        const run = queue.then(() => call(input));
        queue = run.catch(() => {});
        return run;
      },
      close: stop,
    };
    return sandbox;
  };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}
