// The engine's host in a page's worker: the browser's WebGPU, runs in IndexedDB (in memory when the browser refuses
// it), written only while the worker's tab holds the writer role (src/storage/runs-writer.ts), model downloads in the
// Cache Storage with room checked against the origin's quota (in memory likewise), onnxruntime-web's wasm-only build,
// and the reward sandbox its worker gives it (workers/reward-worker.ts: a locked-down worker per reward function).
// Not here: the worker's messages (workers/engine-worker.ts carries them).
import { createGpu } from '../gpu/runtime';
import type { Ort } from '../generate/onnx-decoder';
import { browserModelCache } from '../storage/model-cache';
import { createMemoryRunStore, openRunStore, type RunStore } from '../storage/runs';
import { writerRunStore } from '../storage/runs-writer';
import type { OpenSandbox } from '../train/rewards';
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

export interface PageHostOptions {
  /** The tab the worker belongs to (tabOfWorker(self.name)): runs are written only while it holds the writer role. */
  tab?: string | null;
  /** The engine's run control, to pause the runs this worker trains when another tab takes the role over. */
  control?(runId: string, action: 'pause' | 'cancel'): Promise<unknown>;
  /** Opens a GRPO run's JavaScript reward in its own sandbox (workers/reward-worker.ts; a worker's file, not the core's). */
  openSandbox?: OpenSandbox;
}

export function pageHost(opts: PageHostOptions = {}): EngineHost {
  let store: Promise<RunStore> | null = null;
  const { tab, control } = opts;
  const open = () => openRunStore().catch(() => createMemoryRunStore())
    .then((s) => (tab && control && navigator.locks ? writerRunStore(s, { tab, control }) : s));
  return {
    createGpu,
    runStore: () => (store ??= open()),
    modelFiles: (source, onProgress) => fetchedModelFiles(source, onProgress, { cache: browserModelCache }),
    ort: browserOrt,
    openSandbox: opts.openSandbox ?? null,
    now: Date.now,
  };
}
