// The engine worker: message transport only. It makes the engine with the page's host (src/engine/host-page.ts) and
// serves it on its own scope (workers/engine-channel.ts), and on the port the page hands over to join the data worker;
// it holds its life's lock (workers/life.ts). Its page names the tab in the worker's name: runs are written only while
// that tab holds the writer role. GRPO's JavaScript rewards run in sandboxed workers this worker starts (reward-worker.ts).
/// <reference lib="webworker" />
import { createEngine } from '../src/engine/engine';
import { pageHost } from '../src/engine/host-page';
import type { Engine } from '../src/engine/api';
import { tabOfWorker } from '../src/storage/writer';
import { serveEngine } from './engine-channel';
import { holdLife } from './life';
import { openBrowserSandbox } from './reward-worker';

const engine: Engine = createEngine(pageHost({
  tab: tabOfWorker(self.name), control: (runId, action) => engine.control({ runId, action }), openSandbox: openBrowserSandbox,
}));
serveEngine(engine, self as unknown as DedicatedWorkerGlobalScope);
holdLife(self as unknown as DedicatedWorkerGlobalScope);   // so the page notices when this worker is gone
