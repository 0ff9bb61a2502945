// The engine worker: message transport only. It makes the engine with the page's host (src/engine/host-page.ts) and
// serves it on its own scope (workers/engine-channel.ts), and on the port the page hands over to join the data worker.
// Its page names the tab in the worker's name: runs are written only while that tab holds the writer role.
/// <reference lib="webworker" />
import { createEngine } from '../src/engine/engine';
import { pageHost } from '../src/engine/host-page';
import type { Engine } from '../src/engine/api';
import { tabOfWorker } from '../src/storage/writer';
import { serveEngine } from './engine-channel';

const engine: Engine = createEngine(pageHost({ tab: tabOfWorker(self.name), control: (runId, action) => engine.control({ runId, action }) }));
serveEngine(engine, self as unknown as DedicatedWorkerGlobalScope);
