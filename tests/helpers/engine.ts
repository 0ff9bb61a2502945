// The engine as the page meets it, for Node tests: the worker's core behind serveEngine on one end of a
// MessageChannel and the page's client on the other (structured clone and all), on the test GPU and an
// in-memory byte cache. Ports are closed after the test file.
import { afterAll } from 'vitest';
import { createEngineClient } from '../../app/engine/client';
import { memoryCache } from '../../src/io/download';
import { createMemoryRunStore, type RunStore } from '../../src/storage/runs';
import { createEngineCore, serveEngine } from '../../workers/engine-worker';
import type { Engine, ModelSource } from '../../workers/protocol-engine';
import { testGpu } from './gpu';

const ports: MessagePort[] = [];
afterAll(() => { for (const p of ports) p.close(); ports.length = 0; });

/** The page's end of a fresh engine's channel (what the Worker is to the page) and the page's client on it. */
export function enginePair(store: RunStore = createMemoryRunStore()): { worker: MessagePort; engine: Engine } {
  const core = createEngineCore({ store: Promise.resolve(store), cache: async () => memoryCache(), createGpu: testGpu });
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  serveEngine(core, port2);
  return { worker: port1, engine: createEngineClient(port1) };
}

/** A fresh engine over `store` (runs in memory unless given): a later engine over the same store is a reload. */
export const engineOver = (store: RunStore = createMemoryRunStore()): Engine => enginePair(store).engine;

/** A model folder (path → bytes) as the files a user drops. */
export function droppedFiles(name: string, files: Map<string, Uint8Array>): ModelSource {
  return { kind: 'files', name, files: [...files].map(([path, bytes]) => ({ path, file: new Blob([bytes.slice()]) })) };
}
