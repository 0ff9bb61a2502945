// The page's reward sandbox: each JavaScript reward function runs in a dedicated worker of its own, started from a
// data: URL (an opaque origin: no access to the studio's IndexedDB, caches or files, by the browser's own rule) and
// locked down before the user's module loads (src/train/reward-sandbox.ts: no network APIs, no code generation);
// sandboxOpener gives it the time limit per call (a worker that does not answer is terminated and started afresh).
// Usable from the page or from the engine's worker (a worker may start workers). Tested in Chromium:
// tests/browser/reward-sandbox.test.ts.
import { sandboxOpener, workerSource, type SandboxWorker } from '../src/train/reward-sandbox';
import type { OpenSandbox } from '../src/train/rewards';

/** The program's channel: postMessage and addEventListener bound before the lockdown takes them off the global. */
const PORT = `((s) => { const post = s.postMessage.bind(s), on = s.addEventListener.bind(s);
  return { post, listen: (f) => on('message', (e) => f(e.data)), load: (u) => import(u) }; })(self)`;

export const openBrowserSandbox: OpenSandbox = sandboxOpener((): SandboxWorker => {
  const w = new Worker(`data:text/javascript;charset=utf-8,${encodeURIComponent(workerSource(PORT))}`, { name: 'reward' });
  return {
    post: (m) => w.postMessage(m),
    onReply: (f) => w.addEventListener('message', (e) => f(e.data)),
    onCrash: (f) => {
      w.addEventListener('error', (e) => { e.preventDefault(); f(e.message || 'an uncaught error'); });
      w.addEventListener('messageerror', () => f('a reply could not be read'));
    },
    terminate: () => w.terminate(),
  };
});
