// The benchmark page: the harness (harness.ts) with the browser's peers, on the page's adapter, as window.bench for
// scripts/bench.mjs. Peers: onnxruntime-web's WebGPU EP (the C++ provider, `onnxruntime-web/webgpu`, as
// transformers.js uses), its JS WebGPU EP (JSEP, the default bundle), its wasm EP (threads = cores: the page is
// cross-origin isolated), and @tensorflow/tfjs-backend-webgpu; for decoding (decode.ts), the wasm and WebGPU EPs.
import * as ortJsep from 'onnxruntime-web';
import * as ortWebgpu from 'onnxruntime-web/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { createBench, setupOrt, setupTfjs } from './harness';
import type { DecodePeer } from './decode';
import { downloadModel, folderUrlFor } from '../src/io/download';

type Ort = Parameters<typeof setupOrt>[0];

type DecodeOrt = DecodePeer['ort'];

const bench = createBench({
  'ort.webgpu': (M, N, K, model) => setupOrt(ortWebgpu as unknown as Ort, 'webgpu', model, M, N, K),
  'ort.jsep': (M, N, K, model) => setupOrt(ortJsep as unknown as Ort, 'webgpu', model, M, N, K),
  'ort.wasm': (M, N, K, model) => setupOrt(ortJsep as unknown as Ort, 'wasm', model, M, N, K),
  'tfjs.webgpu': (M, N, K) => setupTfjs(tf, M, N, K),
}, {
  // The embedded default, as the studio fetches it (scripts/bench.mjs serves public/ at the root).
  files: () => downloadModel('public/models/default', folderUrlFor('/models/default/')),
  peers: [
    { name: 'ortWasm', ort: ortJsep as unknown as DecodeOrt, executionProviders: ['wasm'] },
    { name: 'ortWebgpu', ort: ortWebgpu as unknown as DecodeOrt, executionProviders: ['webgpu'] },
  ],
});

const api = {
  ...bench,
  /** Wasm threads must be chosen before the first wasm session. */
  configure(o: { wasmThreads: number }): void {
    ortJsep.env.wasm.numThreads = o.wasmThreads;
  },
};

(globalThis as unknown as { bench: typeof api }).bench = api;
document.getElementById('log')!.textContent = 'bench ready';
