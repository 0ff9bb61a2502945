// Whether a worker is still there. A browser tells a page nothing when its dedicated worker ends (the worker closed
// itself, was killed for memory, crashed): the worker holds a Web Lock of its own for its whole life, the page asks
// for the same lock, and the browser grants it once the worker is gone, since an ended worker's locks are released.
// The worker takes the lock first and only then says so ({ kind: 'alive', lock }): the page's request, made on that
// notice, cannot be granted before the worker held it. An uncaught error in the worker (its script failed to load,
// or an error nobody caught) counts as its end as well: the page terminates it, since a request it was answering may
// never be answered.
// Not here: what the requests waiting on a lost worker become (requests.ts), what the page shows (app/store).
import { oneLine } from '../src/errors';

/** The worker's notice that it holds its life's lock; clients ignore it (it carries no request's id). */
export interface AliveNotice { kind: 'alive'; lock: string }

/** The worker's side: holds a lock of a fresh name for as long as the worker lives, then posts the notice. */
export function holdLife(scope: { postMessage(m: AliveNotice): void }): void {
  const locks = globalThis.navigator?.locks;
  if (!locks) return;   // no Web Locks: an uncaught error is still noticed
  const lock = `studio-worker-life ${crypto.randomUUID()}`;
  void locks.request(lock, () => {
    scope.postMessage({ kind: 'alive', lock });
    return new Promise<never>(() => {});
  });
}

/**
 * The page's side: `onLost(why)` once `worker` is gone, with why in words ("stopped (…)", "failed: …"); never after
 * the function returned is called (the page ending the worker itself is no loss).
 */
export function watchLife(worker: Worker, onLost: (why: string) => void): () => void {
  let watching = true;
  const lost = (why: string) => { if (watching) { watching = false; onLost(why); } };
  worker.addEventListener('message', (ev: MessageEvent<AliveNotice | { kind?: unknown }>) => {
    const notice = ev.data;
    if (notice?.kind !== 'alive' || !('lock' in notice) || !navigator.locks) return;
    void navigator.locks.request(notice.lock, () => lost('stopped (it was closed, crashed or ran out of memory)'));
  });
  worker.addEventListener('error', (ev) => {
    ev.preventDefault();
    worker.terminate();
    lost(`failed: ${oneLine(ev.message || 'its script could not be run', 200)}`);
  });
  return () => { watching = false; };
}
