// The data worker: a thin entry point that runs the data host (data-host.ts) off the main
// thread. All logic lives in src/data; this file only wires requests in and replies out.
/// <reference lib="webworker" />
import { createDataHost } from './data-host';
import { holdLife } from './life';
import type { DataRequest, EngineLost, PortHandover } from './protocol-data';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const handle = createDataHost((reply, transfer = []) => scope.postMessage(reply, transfer));

scope.onmessage = (ev: MessageEvent<DataRequest | PortHandover | EngineLost>) => { void handle(ev.data); };
holdLife(scope);   // so the page notices when this worker is gone (workers/life.ts)
