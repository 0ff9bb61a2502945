// The engine's host in Node (the command line, tests): Dawn's WebGPU (src/gpu/node.ts), the run store it is given
// (the CLI's train: its output folder, run-folder.ts; otherwise in memory for the command's life), model folders on
// disk besides the sources every host reaches (downloads kept in memory), onnxruntime-web's Node entry, which
// finds its .wasm on disk, on one thread, and reward functions in worker_threads (src/train/rewards-node.ts).
import { createGpu, type Gpu } from '../gpu/runtime';
import { installNodeWebGPU } from '../gpu/node';
import type { Ort } from '../generate/onnx-decoder';
import { memoryCache } from '../io/download';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BUILT_IN_PATH } from '../io/validate';
import { filesFromDirectory } from '../io/node-files';
import { createMemoryRunStore, type RunStore } from '../storage/runs';
import { openNodeSandbox } from '../train/rewards-node';
import { fetchedModelFiles, type EngineHost } from './host';

let ortModule: Promise<Ort> | null = null;
function nodeOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-web').then((ort) => {
    ort.env.wasm.numThreads = 1;
    return ort;
  });
  return ortModule;
}

async function nodeGpu(): Promise<Gpu> {
  await installNodeWebGPU();
  return createGpu();
}

export interface NodeHostOptions {
  runStore?: RunStore;
  /** The device (default: Dawn's first adapter). */
  createGpu?: () => Promise<Gpu>;
  fetch?: typeof fetch;
  now?: () => number;
}

export function nodeHost(opts: NodeHostOptions = {}): EngineHost {
  const store = opts.runStore ?? createMemoryRunStore();
  const cache = memoryCache();
  return {
    createGpu: opts.createGpu ?? nodeGpu,
    runStore: async () => store,
    modelFiles: async (source, onProgress) => {
      if (source.kind !== 'folder') return fetchedModelFiles(source, onProgress, { cache: async () => cache, fetch: opts.fetch });
      if (!existsSync(source.path)) throw new Error(`model folder not found: ${source.path}`);
      // As exports name it: the built-in model by its folder (a Hugging Face cache folder is named by its repository id).
      const files = filesFromDirectory(source.path);
      return resolve(source.path) === resolve(BUILT_IN_PATH) ? { ...files, name: BUILT_IN_PATH } : files;
    },
    ort: nodeOrt,
    openSandbox: openNodeSandbox,
    now: opts.now ?? Date.now,
  };
}
