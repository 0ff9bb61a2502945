// The engine as the page meets it, for Node tests: the engine on one end of a MessageChannel (what the worker does)
// and the page's client on the other (structured clone and all), on the test GPU, runs in the given store. The
// host is the Node host (host-node.ts: onnxruntime's Node entry, downloads in memory) with the test GPU. Ports are
// closed after the test file.
import { afterAll } from 'vitest';
import { createEngine } from '../../src/engine/engine';
import { nodeHost } from '../../src/engine/host-node';
import { createMemoryRunStore, type RunStore } from '../../src/storage/runs';
import { engineClient, serveEngine, type EngineClient } from '../../workers/engine-channel';
import type { Engine, ModelSource } from '../../src/engine/api';
import { testGpu } from './gpu';

const ports: MessagePort[] = [];
afterAll(() => { for (const p of ports) p.close(); ports.length = 0; });

/** The engine in this thread on the test GPU (what the CLI runs), over `store`. */
export const engineHere = (store: RunStore = createMemoryRunStore()): Engine => createEngine(nodeHost({ runStore: store, createGpu: testGpu }));

/** The page's end of a fresh engine's channel (what the Worker is to the page): a restarted worker, to a client. */
export function engineWorkerPort(store: RunStore = createMemoryRunStore()): MessagePort {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  serveEngine(engineHere(store), port2);
  return port1;
}

/** The page's end of a fresh engine's channel and the page's client on it. */
export function enginePair(store: RunStore = createMemoryRunStore()): { worker: MessagePort; engine: EngineClient } {
  const worker = engineWorkerPort(store);
  return { worker, engine: engineClient(worker) };
}

/** A fresh engine over `store` (runs in memory unless given): a later engine over the same store is a reload. */
export const engineOver = (store: RunStore = createMemoryRunStore()): Engine => enginePair(store).engine;

/** A model folder (path → bytes) as the files a user drops. */
export function droppedFiles(name: string, files: Map<string, Uint8Array>): { source: ModelSource } {
  return { source: { kind: 'files', name, files: [...files].map(([path, bytes]) => ({ path, file: new Blob([bytes.slice()]) })) } };
}
