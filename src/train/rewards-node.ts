// Reward functions in Node (the CLI): each module in a worker_threads thread of its own running the sandbox program
// (reward-sandbox.ts: the same lockdown as in the page, less the opaque origin a data: URL gives a browser worker),
// with a heap cap, terminated when a call runs past its time limit.
// Not here: the page's sandbox (workers/reward-client.ts), scoring (rewards.ts).
import { Worker } from 'node:worker_threads';
import { sandboxOpener, workerSource, type SandboxWorker } from './reward-sandbox';
import type { OpenSandbox } from './rewards';

const PORT = `((p) => ({ post: (m) => p.postMessage(m), listen: (f) => p.on('message', f), load: (u) => import(u) }))(require('node:worker_threads').parentPort)`;

/** Heap of one reward thread: a function that allocates without end fails its sample instead of the process. */
const HEAP_MB = 256;

export const openNodeSandbox: OpenSandbox = sandboxOpener((): SandboxWorker => {
  const w = new Worker(workerSource(PORT), { eval: true, resourceLimits: { maxOldGenerationSizeMb: HEAP_MB }, stdout: true, stderr: true });
  return {
    post: (m) => w.postMessage(m),
    onReply: (f) => { w.on('message', f); },
    onCrash: (f) => {
      w.on('error', (e) => f(e.message));
      w.on('exit', (code) => f(`exited with code ${code}`));
    },
    terminate: () => { void w.terminate(); },
  };
});
