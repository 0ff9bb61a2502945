// The engine's host in a page's worker: the browser's WebGPU, runs in IndexedDB (in memory when the browser refuses
// it), model downloads in the Cache Storage (in memory likewise), and onnxruntime-web's wasm-only build.
// Not here: the worker's messages (workers/engine-worker.ts carries them).
import { createGpu } from '../gpu/runtime';
import type { Ort } from '../generate/onnx-decoder';
import { cacheStorageCache, memoryCache } from '../io/download';
import { createMemoryRunStore, openRunStore, type RunStore } from '../storage/runs';
import { fetchedModelFiles, type EngineHost } from './host';

let ortModule: Promise<Ort> | null = null;
/** onnxruntime-web's wasm-only build (not the default entry, which pulls the 28 MB JSEP .wasm), loaded on first
 * use so the worker bundle stays small. Vite emits the .wasm as an asset: its URL must be given, since ORT would
 * look next to its own module. Threads need cross-origin isolation. */
function browserOrt(): Promise<Ort> {
  ortModule ??= Promise.all([import('onnxruntime-web/wasm'), import('onnxruntime-web/ort-wasm-simd-threaded.wasm?url')]).then(([ort, wasm]) => {
    ort.env.wasm.wasmPaths = { wasm: wasm.default };
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1;
    return ort;
  });
  return ortModule;
}

export function pageHost(): EngineHost {
  let store: Promise<RunStore> | null = null;
  const cache = () => cacheStorageCache().catch(() => memoryCache());
  return {
    createGpu,
    runStore: () => (store ??= openRunStore().catch(() => createMemoryRunStore())),
    modelFiles: (source, onProgress) => fetchedModelFiles(source, onProgress, { cache }),
    ort: browserOrt,
    now: Date.now,
  };
}
