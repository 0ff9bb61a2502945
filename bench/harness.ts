// The benchmark page: our matmul kernels and the browser peers, side by side on one adapter.
// scripts/bench.mjs drives `window.bench`: `setup` builds one implementation at one shape (inputs resident
// where that implementation keeps them, one untimed warm-up run that compiles), `time` runs it once and
// returns milliseconds until the result is complete on the device, `dispose` frees it. The driver
// interleaves implementations round by round, so load from other processes hits all of them alike.
// Peers: onnxruntime-web's WebGPU EP (the C++ provider, `onnxruntime-web/webgpu`, as transformers.js uses),
// its JS WebGPU EP (JSEP, the default bundle), its wasm EP, and @tensorflow/tfjs-backend-webgpu.
// Not here: PyTorch (the driver runs it with the .venv's Python), choosing shapes or rounds (the driver's).
import * as ortJsep from 'onnxruntime-web';
import * as ortWebgpu from 'onnxruntime-web/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { MATMUL_VARIANTS, matmul, matmulVariant, setBlockedBlock, setMatmulVariant, type MatmulVariant } from '../src/ops/matmul';
import { autotune } from '../src/ops/autotune';
import { benchFirstStep, benchLoraStep } from './lora_step';

type Ort = typeof ortJsep;
interface Runner { run(): Promise<void>; dispose(): void; io: string }

const runners = new Map<number, Runner>();
let nextId = 1;
let ours: Gpu | null = null;

function inputs(M: number, N: number, K: number): { a: Float32Array<ArrayBuffer>; b: Float32Array<ArrayBuffer> } {
  let s = 12345;
  const fill = (n: number) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
  return { a: fill(M * K), b: fill(K * N) };
}

async function oursGpu(): Promise<Gpu> {
  ours ??= await createGpu();
  return ours;
}

/** block: the blocked kernel's block per thread when not the default 4×4 (an experiment, not a variant). */
async function setupOurs(variant: MatmulVariant, M: number, N: number, K: number, block?: { rows: 4 | 8; cols: 4 | 8 }): Promise<Runner> {
  const gpu = await oursGpu();
  const { a, b } = inputs(M, N, K);
  const ta = gpu.fromArray([M * K], a, 'bench.a'), tb = gpu.fromArray([K * N], b, 'bench.b');
  const out = gpu.tensor([M * N], 'bench.out');
  return {
    io: 'device-resident tensors',
    async run() {
      const prev = matmulVariant(gpu); // each runner sets variant and block; the block is left as set
      setMatmulVariant(gpu, variant);
      setBlockedBlock(gpu, block ?? null);
      matmul(gpu, out, ta, tb, M, N, K);
      setMatmulVariant(gpu, prev);
      await gpu.sync();
    },
    dispose: () => gpu.release(ta, tb, out),
  };
}

async function setupOrt(ort: Ort, ep: 'webgpu' | 'wasm', model: Uint8Array, M: number, N: number, K: number): Promise<Runner> {
  const { a, b } = inputs(M, N, K);
  if (ep === 'wasm') {
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const feeds = { a: new ort.Tensor('float32', a, [M, K]), b: new ort.Tensor('float32', b, [K, N]) };
    return {
      io: `wasm heap, ${ort.env.wasm.numThreads ?? 1} thread(s)`,
      async run() { await session.run(feeds); },
      dispose: () => void session.release(),
    };
  }
  // WebGPU: inputs in GPU buffers on ORT's own device, output left on the GPU; a run ends when that
  // device's queue is idle, as ours ends at gpu.sync(). No upload or readback is timed.
  const session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
  const device = (await ort.env.webgpu.device) as GPUDevice;
  const buffer = (data: Float32Array<ArrayBuffer>) => {
    const buf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buf, 0, data);
    return buf;
  };
  const ba = buffer(a), bb = buffer(b);
  const feeds = {
    a: ort.Tensor.fromGpuBuffer(ba, { dataType: 'float32', dims: [M, K] }),
    b: ort.Tensor.fromGpuBuffer(bb, { dataType: 'float32', dims: [K, N] }),
  };
  return {
    io: 'GPU buffers in and out',
    async run() {
      const r = await session.run(feeds);
      await device.queue.onSubmittedWorkDone();
      for (const t of Object.values(r)) t.dispose();
    },
    dispose() { void session.release(); ba.destroy(); bb.destroy(); },
  };
}

async function setupTfjs(M: number, N: number, K: number): Promise<Runner> {
  if (tf.getBackend() !== 'webgpu') {
    await tf.setBackend('webgpu');
    await tf.ready();
  }
  const { a, b } = inputs(M, N, K);
  const ta = tf.tensor2d(a, [M, K]), tb = tf.tensor2d(b, [K, N]);
  return {
    // Waiting on the queue after backend.submitQueue() returned before the work was done (1024³ at
    // 600 GFLOP/s on SwiftShader), so a run ends when the result has been read back.
    io: 'tf tensors on the GPU, result read back',
    async run() {
      const c = tf.matMul(ta, tb);
      await c.data();
      c.dispose();
    },
    dispose() { ta.dispose(); tb.dispose(); },
  };
}

const api = {
  /** The adapter our kernels run on, and what autotune picks there (timed fresh, not from the cache). */
  async info() {
    const gpu = await oursGpu();
    const tune = await autotune(gpu, { force: true });
    return {
      adapter: gpu.adapterInfo, isSoftware: gpu.isSoftware, userAgent: navigator.userAgent,
      hardwareConcurrency: navigator.hardwareConcurrency, crossOriginIsolated: globalThis.crossOriginIsolated ?? false,
      autotune: tune, variants: MATMUL_VARIANTS,
    };
  },

  /** Builds `impl` at [M,K]·[K,N] and runs it once (compiles, warms up). Returns an id for `time`. */
  async setup(impl: string, M: number, N: number, K: number, modelBase64?: string): Promise<{ id: number; io: string; warmMs: number }> {
    const model = modelBase64 ? Uint8Array.from(atob(modelBase64), (c) => c.charCodeAt(0)) : new Uint8Array();
    let r: Runner;
    if (impl === 'ours.blocked8x8') r = await setupOurs('blocked', M, N, K, { rows: 8, cols: 8 });
    else if (impl.startsWith('ours.')) {
      const v = impl.slice(5) === 'auto' ? matmulVariant(await oursGpu()) : (impl.slice(5) as MatmulVariant);
      r = await setupOurs(v, M, N, K);
    }
    else if (impl === 'ort.webgpu') r = await setupOrt(ortWebgpu as unknown as Ort, 'webgpu', model, M, N, K);
    else if (impl === 'ort.jsep') r = await setupOrt(ortJsep, 'webgpu', model, M, N, K);
    else if (impl === 'ort.wasm') r = await setupOrt(ortJsep, 'wasm', model, M, N, K);
    else if (impl === 'tfjs.webgpu') r = await setupTfjs(M, N, K);
    else throw new Error(`unknown implementation ${impl}`);
    const t0 = performance.now();
    await r.run();
    const id = nextId++;
    runners.set(id, r);
    return { id, io: r.io, warmMs: performance.now() - t0 };
  },

  async time(id: number): Promise<number> {
    const r = runners.get(id)!;
    const t0 = performance.now();
    await r.run();
    return performance.now() - t0;
  },

  dispose(id: number): void {
    runners.get(id)?.dispose();
    runners.delete(id);
  },

  /** Wasm threads must be chosen before the first wasm session. */
  configure(o: { wasmThreads: number }): void {
    ortJsep.env.wasm.numThreads = o.wasmThreads;
  },

  async loraStep() {
    // The matmul runners above leave their own variant and block set: put back what autotune chose.
    const gpu = await oursGpu();
    await autotune(gpu);
    return benchLoraStep(gpu);
  },

  /** Start to first step on fresh devices, without and with Trainer.prepare (bench/lora_step.ts). */
  firstStep: () => benchFirstStep(),
};

(globalThis as unknown as { bench: typeof api }).bench = api;
document.getElementById('log')!.textContent = 'bench ready';
