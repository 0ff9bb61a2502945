// A worker that dies mid-request: every request waiting on it settles with the one line naming the lost worker, and
// every later one at once, posting nothing (workers/requests.ts, through both clients: workers/engine-channel.ts and
// workers/data-client.ts). The engine's worker is a real MessagePort that answers the first requests and then is
// closed mid-request, as a terminated worker leaves its end; a reconnected client is answered by a fresh one. What
// notices the death in a page (Web Locks, workers/life.ts) is exercised by the e2e test (tests/e2e/worker-loss.test.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { engineClient, type EngineRequest, type EngineReply } from '../../workers/engine-channel';
import { dataToolsClient } from '../../workers/data-client';
import { WORKER_LOST } from '../../workers/requests';
import type { DataReply, DataRequest, PortHandover } from '../../workers/protocol-data';
import { dataWorker } from '../helpers/data-worker';
import { joinWorkers } from '../../app/store/engine-worker';
import type { EngineEvent } from '../../src/engine/api';

const ports: MessagePort[] = [];
afterAll(() => { for (const p of ports) p.close(); });

/** A worker's end that answers 'probe' at once and, for 'loadModel', reports progress and never returns. */
function engineWorker(): { page: MessagePort; seen: string[] } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const seen: string[] = [];
  port2.onmessage = (ev: MessageEvent<EngineRequest>) => {
    const req = ev.data;
    seen.push(req.kind);
    const post = (r: EngineReply) => port2.postMessage(r);
    if (req.kind === 'probe') post({ id: req.id, kind: 'return', result: { available: true } as never });
    if (req.kind === 'loadModel') post({ id: req.id, kind: 'event', event: { type: 'load', message: 'Loading', loaded: 1, total: 2 } });
  };
  return { page: port1, seen };
}

/** 'pending' when `p` has not settled by the next task; else how it settled. */
const state = (p: Promise<unknown>) => Promise.race([
  p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`),
  new Promise((ok) => setTimeout(() => ok('pending'), 0)),
]);
/** How `p` settled before any task ran (microtasks only): 'pending' when it needs one. */
const settledAtOnce = async (p: Promise<unknown>) => {
  let out = 'pending';
  p.then(() => { out = 'resolved'; }, (e: Error) => { out = `${e.name}: ${e.message}`; });
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return out;
};

const LOST = 'The engine worker stopped (it was closed, crashed or ran out of memory); what it was doing is lost.';

describe('the engine client when its worker dies', () => {
  it('rejects every waiting call with the line naming the worker, every later call at once, and comes back on reconnect', async () => {
    const first = engineWorker();
    const engine = engineClient(first.page);
    const unsolicited: EngineEvent[] = [];
    engine.onUnsolicited((e) => unsolicited.push(e));
    expect(await engine.probe()).toEqual({ available: true });   // a live worker answers

    const events: EngineEvent[] = [];
    const loading = engine.loadModel({ source: { kind: 'url', name: 'm', baseUrl: 'http://x/' } }, (e) => events.push(e));
    const listing = engine.listRuns();                              // never answered by this worker
    await expect.poll(() => events.length).toBe(1);                 // mid-request: progress came, the result never will
    expect(await state(loading)).toBe('pending');
    expect(await state(listing)).toBe('pending');

    first.page.close();                                             // the worker's end is gone
    engine.lose(LOST);
    expect(await state(loading)).toBe(`${WORKER_LOST}: ${LOST}`);
    expect(await state(listing)).toBe(`${WORKER_LOST}: ${LOST}`);
    expect(unsolicited).toEqual([{ type: 'engine-lost', message: LOST }]);

    const seenBefore = first.seen.length;
    expect(await settledAtOnce(engine.probe())).toBe(`${WORKER_LOST}: ${LOST}`);   // no wait for an answer that cannot come
    expect(first.seen.length).toBe(seenBefore);                                    // nothing was posted

    const second = engineWorker();
    engine.reconnect(second.page);
    expect(await engine.probe()).toEqual({ available: true });
    expect(second.seen).toEqual(['probe']);
    expect(unsolicited).toHaveLength(1);
  });

  it('dispose settles what waits and refuses what follows', async () => {
    const w = engineWorker();
    const engine = engineClient(w.page);
    const listing = engine.listRuns();
    engine.dispose();
    expect(await state(listing)).toBe(`${WORKER_LOST}: engine closed`);
    expect(await settledAtOnce(engine.probe())).toBe(`${WORKER_LOST}: engine closed`);
  });
});

describe('the data client when its worker dies', () => {
  it('rejects the import it was running and every later call at once', async () => {
    const posted: DataRequest[] = [];
    const worker = {
      onmessage: null as ((ev: MessageEvent<DataReply>) => void) | null,
      postMessage(req: DataRequest) {
        posted.push(req);
        setTimeout(() => worker.onmessage?.({ data: { id: req.id, kind: 'progress', progress: { phase: 'parse', fraction: 0.5, label: 'parse' } } } as unknown as MessageEvent<DataReply>), 0);
      },
      terminate() {},
    };
    const data = dataToolsClient(worker as unknown as Worker);
    const fractions: number[] = [];
    const importing = data.importFile(Object.assign(new Blob(['{}']), { name: 'a.jsonl' }) as File, {} as never, (p) => fractions.push(p.fraction));
    await expect.poll(() => fractions).toEqual([0.5]);
    expect(await state(importing)).toBe('pending');

    const message = 'The data worker stopped (it was closed, crashed or ran out of memory); reload the page to import or count tokens again.';
    data.lose(message);
    expect(await state(importing)).toBe(`${WORKER_LOST}: ${message}`);
    expect(await settledAtOnce(data.previewTokens([], { maxSeqLen: 8, assistantOnly: true }))).toBe(`${WORKER_LOST}: ${message}`);
    expect(posted.map((r) => r.kind)).toEqual(['import']);
  });
});

describe('the data worker asking a dead engine worker for the tokenizer', () => {
  it('settles the page\'s request when the page says the engine worker is gone, and asks a fresh one after', async () => {
    const { worker, data } = dataWorker();   // the real data host and client
    /** An engine worker's side of the handed-over port: records requests, answers with `answer` (or never). */
    const engineSide = (answer: string | null) => {
      const seen: string[] = [];
      return {
        seen,
        postMessage(m: PortHandover) {
          ports.push(m.port);
          m.port.onmessage = (ev: MessageEvent<EngineRequest>) => {
            seen.push(ev.data.kind);
            if (answer) m.port.postMessage({ id: ev.data.id, kind: 'throw', error: { name: 'Error', message: answer } } satisfies EngineReply);
          };
        },
      };
    };
    const dead = engineSide(null);
    joinWorkers(dead, worker);
    const asking = data.loadModelTokenizer();
    await expect.poll(() => dead.seen).toEqual(['tokenizerFiles']);   // taken by the engine worker, which then died
    expect(await state(asking)).toBe('pending');
    worker.postMessage({ kind: 'engine-lost', message: LOST });       // the page's word (app/store/engine-worker.ts)
    const err = await asking.then(() => new Error('answered'), (e: Error) => e);   // the data host's reply carries the line
    expect([err.name, err.message]).toEqual([WORKER_LOST, LOST]);
    await expect(data.loadModelTokenizer()).rejects.toThrow(LOST);    // and later asks settle too, without the engine
    expect(dead.seen).toEqual(['tokenizerFiles']);

    const fresh = engineSide('Load a model first.');                  // a restarted engine worker, joined again
    joinWorkers(fresh, worker);
    await expect(data.loadModelTokenizer()).rejects.toThrow('Load a model first.');
    expect(fresh.seen).toEqual(['tokenizerFiles']);
  });
});
