// Reward functions the user writes, in real Chromium (src/train/reward-sandbox.ts run by workers/reward-worker.ts):
//  - a function that throws, loops forever, returns NaN or a string gives that sample an error naming the function and
//    why; the other samples are scored, and scoring goes on afterwards (the looping worker was stopped and replaced);
//  - it cannot reach the network: every way a worker has to send a request (fetch, XMLHttpRequest, WebSocket,
//    EventSource, sendBeacon, importScripts, Worker, and the code generators that could write an import()) fails
//    inside the function, and the local trap server (tests/browser/network-trap.ts) records no request (while a
//    data: URL worker without the lockdown does reach it); a module whose text imports is refused before it loads;
//  - it cannot reach the studio's storage: the page's IndexedDB keeps its value and gains nothing, and caches and the
//    origin's file system are not there; and even a worker that skipped the lockdown, started from a data: URL as the
//    sandbox is, is refused the page's IndexedDB by the browser (the opaque origin);
//  - the sandbox works from inside a worker too (the engine's): a looping function there is stopped and replaced;
//  - a worker that dies in the middle of a call (an error nobody catches) settles that call at once, saying so, well
//    before the time limit, and the next call gets a fresh worker.
import { describe, expect, inject, it } from 'vitest';
import { RewardScorer, type RewardSample, type RewardSpec } from '../../src/train/rewards';
import { openBrowserSandbox } from '../../workers/reward-worker';

const sample = (completion: string): RewardSample => ({ prompt: 'Say a letter.', messages: [{ role: 'user', content: 'Say a letter.' }], completion, reference: 'a', finishReason: 'stop-token' });
const fn = (name: string, source: string): RewardSpec => ({ kind: 'function', name, source, weight: 1 });
const trap = `http://127.0.0.1:${inject('trapPort')}`;
const hits = async (): Promise<string[]> => (await fetch(`${trap}/__hits`)).json() as Promise<string[]>;

describe('reward functions in a sandboxed worker', () => {
  it('a reward that throws, loops forever or returns NaN fails only its sample, and scoring goes on', async () => {
    const scorer = await RewardScorer.open([
      { kind: 'exact', weight: 1 },
      fn('picky', `export default async ({ completion, reference }) => {
        if (completion === 'b') throw new Error('no b here');
        if (completion === 'c') for (;;) {}
        if (completion === 'd') return NaN;
        if (completion === 'e') return 'five';
        return completion === reference ? 2 : 0.5;
      }`),
    ], openBrowserSandbox, 1500);
    try {
      const { values, errors } = await scorer.score(['a', 'b', 'c', 'd', 'e', 'f'].map(sample));
      expect(errors).toEqual([
        null,
        'reward picky: Error: no b here',
        'reward picky: did not answer within 1500 ms (stopped)',
        'reward picky: returned NaN (a reward must be a finite number)',
        'reward picky: returned a string, not a number',
        null,
      ]);
      expect(values[0]).toEqual([1, 2]);
      expect(values[5]).toEqual([0, 0.5]);
      for (const v of values.slice(1, 5)) expect(v.every(Number.isNaN)).toBe(true);   // unscorable: never a silent 0
      // The looping worker was replaced: the same function answers again.
      const again = await scorer.score([sample('a'), sample('c'), sample('z')]);
      expect(again.values[0]).toEqual([1, 2]);
      expect(again.errors[1]).toMatch(/did not answer/);
      expect(again.values[2]).toEqual([0, 0.5]);
    } finally {
      scorer.close();
    }
  });

  it('a worker that dies mid-call settles the call at once and is replaced', async () => {
    const scorer = await RewardScorer.open([fn('fragile', `export default ({ completion }) => {
      if (completion !== 'x') return 1;
      setTimeout(() => { throw new Error('gone'); }, 0);   // the worker fails while the call waits
      return new Promise(() => {});
    }`)], openBrowserSandbox, 600_000);   // a limit the test never reaches: only the failure can settle the call
    try {
      const { values, errors } = await scorer.score(['a', 'x', 'b'].map(sample));
      expect(errors[0]).toBeNull();
      expect(errors[1]).toMatch(/^reward fragile: its worker stopped: .*gone/);
      expect(errors[2]).toBeNull();
      expect(values.map((v) => v[0])).toEqual([1, NaN, 1]);
    } finally {
      scorer.close();
    }
  });

  it('cannot reach the network: every channel fails inside the function and the server sees nothing', async () => {
    const nonce = Math.random().toString(36).slice(2);
    const url = `${trap}/probe-${nonce}`;
    const sandbox = await openBrowserSandbox(`const url = ${JSON.stringify(url)};
      export default async () => {
        const report = {};
        const attempt = async (name, f) => { try { await f(); report[name] = 'ran'; } catch (e) { report[name] = 'blocked'; } };
        await attempt('fetch', () => fetch(url + '/fetch'));
        await attempt('globalThis.fetch', () => globalThis.fetch(url + '/g'));
        await attempt('xhr', () => { const x = new XMLHttpRequest(); x.open('GET', url + '/xhr'); x.send(); });
        await attempt('websocket', () => new WebSocket(url.replace('http', 'ws') + '/ws'));
        await attempt('eventsource', () => new EventSource(url + '/es'));
        await attempt('beacon', () => navigator.sendBeacon(url + '/beacon'));
        await attempt('importScripts', () => importScripts(url + '/is'));
        await attempt('worker', () => new Worker(url + '/worker'));
        await attempt('eval', () => eval('fetch')(url + '/eval'));
        await attempt('Function', () => (function () {}).constructor('return fetch')()(url + '/fn'));
        await attempt('AsyncFunction', () => (async function () {}).constructor('u', 'return await imp' + 'ort(u)')(url + '/af'));
        await attempt('string timer', () => setTimeout('fetch("' + url + '/timer")', 0));
        await attempt('prototype walk', () => {
          for (let o = globalThis; o; o = Object.getPrototypeOf(o)) if (Object.getOwnPropertyNames(o).includes('fetch')) return o.fetch(url + '/walk');
          throw new Error('none');
        });
        await new Promise((r) => setTimeout(r, 300));
        throw new Error(JSON.stringify(report));
      }`, { name: 'probe', timeoutMs: 5000 });
    let report: Record<string, string> = {};
    try {
      await sandbox.call(sample('x'));
    } catch (e) {
      report = JSON.parse((e as Error).message.replace(/^Error: /, '')) as Record<string, string>;
    } finally {
      sandbox.close();
    }
    expect(Object.keys(report)).toHaveLength(13);
    expect(Object.entries(report).filter(([, v]) => v !== 'blocked')).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await hits()).filter((h) => h.includes(nonce))).toEqual([]);
    // The control: a data: URL worker without the lockdown (an opaque origin too) does reach the server, so the
    // lockdown is what stopped the function.
    const bare = new Worker(`data:text/javascript,${encodeURIComponent(`fetch(${JSON.stringify(`${url}/bare`)}).then(() => postMessage('sent'), (e) => postMessage(String(e)))`)}`);
    expect(await new Promise((resolve) => { bare.onmessage = (e) => resolve(e.data); })).toBe('sent');
    bare.terminate();
    expect((await hits()).filter((h) => h.includes(nonce))).toEqual([`GET /probe-${nonce}/bare`]);
    // A module whose text imports is refused before anything loads.
    for (const source of [`import x from '${url}/static'; export default () => x;`, `export default async () => (await import('${url}/dynamic')).default();`]) {
      await expect(RewardScorer.open([fn('importer', source)], openBrowserSandbox)).rejects.toThrow(/reward importer: line 1 uses 'import'/);
    }
    expect((await hits()).filter((h) => h.includes(nonce))).toHaveLength(1);
  });

  it('cannot reach the studio\'s storage: IndexedDB, caches, the origin\'s files', async () => {
    const name = `studio-secret-${Math.random().toString(36).slice(2)}`;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore('kv');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    await new Promise((resolve, reject) => { const t = db.transaction('kv', 'readwrite'); t.objectStore('kv').put('v', 'k'); t.oncomplete = resolve; t.onerror = reject; });
    db.close();
    const sandbox = await openBrowserSandbox(`export default async () => {
      const report = {};
      const attempt = async (what, f) => { try { await f(); report[what] = 'ran'; } catch { report[what] = 'blocked'; } };
      await attempt('indexedDB', () => new Promise((ok, no) => {
        const r = indexedDB.open(${JSON.stringify(name)});
        r.onsuccess = () => { const t = r.result.transaction('kv', 'readwrite'); t.objectStore('kv').put('pwned', 'x'); t.oncomplete = ok; t.onerror = no; };
        r.onerror = no;
      }));
      await attempt('caches', () => caches.open('studio'));
      await attempt('storage', () => navigator.storage.getDirectory());
      await attempt('locks', () => navigator.locks.request('studio', () => {}));
      await attempt('broadcast', () => new BroadcastChannel('studio').postMessage('hi'));
      throw new Error(JSON.stringify(report));
    }`, { name: 'storage', timeoutMs: 5000 });
    const report = await sandbox.call(sample('x')).then(() => ({}), (e: Error) => JSON.parse(e.message.replace(/^Error: /, '')) as Record<string, string>);
    sandbox.close();
    expect(report).toEqual({ indexedDB: 'blocked', caches: 'blocked', storage: 'blocked', locks: 'blocked', broadcast: 'blocked' });
    const after = await new Promise<IDBDatabase>((resolve, reject) => { const r = indexedDB.open(name); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    const keys = await new Promise<IDBValidKey[]>((resolve) => { const r = after.transaction('kv').objectStore('kv').getAllKeys(); r.onsuccess = () => resolve(r.result); });
    after.close();
    expect(keys).toEqual(['k']);

    // The browser's own rule under the lockdown: a data: URL worker has an opaque origin, refused the page's IndexedDB.
    const bare = new Worker(`data:text/javascript,${encodeURIComponent(`
      try { const r = indexedDB.open(${JSON.stringify(name)}); r.onsuccess = () => postMessage('opened'); r.onerror = () => postMessage('error: ' + r.error.name); }
      catch (e) { postMessage('threw: ' + e.name); }`)}`);
    const said = await new Promise<string>((resolve) => { bare.onmessage = (e) => resolve(String(e.data)); });
    bare.terminate();
    expect(said).toMatch(/SecurityError/);
  });

  it('works from inside a worker, as the engine\'s worker will use it', async () => {
    const host = new Worker(new URL('./fixtures/reward-host-worker.ts', import.meta.url), { type: 'module' });
    const scores = await new Promise<{ values: number[][]; errors: (string | null)[] }>((resolve) => {
      host.onmessage = (e) => resolve(e.data);
      host.postMessage({ completions: ['abc', 'loop', 'throw', 'abcd'] });
    });
    host.terminate();
    expect(scores.errors).toEqual([null, 'reward f: did not answer within 1000 ms (stopped)', 'reward f: Error: no', null]);
    expect([scores.values[0], scores.values[3]]).toEqual([[3], [4]]);
  });
});
