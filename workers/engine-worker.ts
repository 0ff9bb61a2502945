// The engine worker: message transport only. It makes the engine with the page's host (src/engine/host-page.ts) and
// serves it on its own scope (workers/engine-channel.ts), and on the port the page hands over to join the data worker.
/// <reference lib="webworker" />
import { createEngine } from '../src/engine/engine';
import { pageHost } from '../src/engine/host-page';
import { serveEngine } from './engine-channel';

serveEngine(createEngine(pageHost()), self as unknown as DedicatedWorkerGlobalScope);
