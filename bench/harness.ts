// The benchmark's harness, the same in a page (bench/main.ts, driven by scripts/bench.mjs) and in Node on Dawn
// (scripts/bench-node.ts): `setup` builds one implementation at one shape (inputs resident where that implementation
// keeps them, one untimed warm-up run that compiles), `time` runs it once and returns milliseconds until the result is
// complete on the device, `dispose` frees it; the driver (scripts/bench-run.mjs) interleaves implementations round by
// round, so load from other processes hits all of them alike.
// Ours: every matmul variant the matmul module lists (MATMUL_VARIANTS, so new variants appear here), each with b in
// f32 and with b held as f16 weights (`.f16`: the f16 kernels where the device has shader-f16, else f32 kernels
// widening f16 loads), and the blocked kernel's 8×8 block as an experiment. Peers: those the environment passes
// (the page: onnxruntime-web's WebGPU EP, its JS EP and wasm EP, tfjs-backend-webgpu; Node: the wasm EP and tfjs).
// Also: the adapter's features and limits, cold pipeline compile time per kernel (compile_times.ts), LoRA steps with
// model FLOP utilisation (lora_step.ts) and decode tokens/s (decode.ts).
// Not here: PyTorch (the drivers run it with the .venv's Python), choosing shapes or rounds (the driver's).
import { gpuSummary } from '../src/gpu/adapter';
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { MATMUL_VARIANTS, matmul, matmulVariant, setBlockedBlock, setMatmulVariant, type MatmulVariant } from '../src/ops/matmul';
import { encodeWeights } from '../src/ops/weight-storage';
import { autotune } from '../src/ops/autotune';
import { coldCompileTimes } from './compile_times';
import { benchDecode, type DecodePeer } from './decode';
import type { ModelFiles } from '../src/io/model-files';
import { benchFirstStep, benchLoraShapes, benchLoraStep } from './lora_step';

/** The ONNX Runtime Web module (either bundle) as the harness uses it. */
interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, { dispose(): void }>>; release(): Promise<void> }> };
  Tensor: { new (type: 'float32', data: Float32Array, dims: number[]): unknown; fromGpuBuffer(buffer: GPUBuffer, o: { dataType: 'float32'; dims: number[] }): unknown };
  env: { wasm: { numThreads?: number }; webgpu: { device?: unknown } };
}

/** How a peer is built at one shape (model: the one-node ONNX MatMul graph the driver sends). */
export type PeerSetup = (M: number, N: number, K: number, model: Uint8Array) => Promise<Runner>;

export interface Runner { run(): Promise<void>; dispose(): void; io: string }

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

/**
 * One of our kernels: `variant`, b in f32 or held as f16 weights (`f16`), and the blocked kernel's block per thread
 * when not the default 4×4 (an experiment, not a variant). A variant this device cannot run throws at setup.
 */
async function setupOurs(variant: MatmulVariant, M: number, N: number, K: number, o: { f16?: boolean; block?: { rows: 4 | 8; cols: 4 | 8 } } = {}): Promise<Runner> {
  const gpu = await oursGpu();
  const prev = matmulVariant(gpu);
  setMatmulVariant(gpu, variant); // throws here for a variant the device lacks a feature for
  setMatmulVariant(gpu, prev);
  const { a, b } = inputs(M, N, K);
  const ta = gpu.fromArray([M * K], a, 'bench.a');
  const tb = o.f16 ? gpu.fromU32([storageLength(K * N)], encodeWeights('f16', b), 'bench.b.f16') : gpu.fromArray([K * N], b, 'bench.b');
  const out = gpu.tensor([M * N], 'bench.out');
  return {
    io: o.f16 ? 'device-resident tensors, b held as f16 weights' : 'device-resident tensors',
    async run() {
      const before = matmulVariant(gpu); // each runner sets variant and block; the block is left as set
      setMatmulVariant(gpu, variant);
      setBlockedBlock(gpu, o.block ?? null);
      matmul(gpu, out, ta, tb, M, N, K, o.f16 ? { bStorage: 'f16' } : {});
      setMatmulVariant(gpu, before);
      await gpu.sync();
    },
    dispose: () => gpu.release(ta, tb, out),
  };
}

/** Words of n f16 weights (two per word). */
const storageLength = (n: number) => Math.ceil(n / 2);

/** Our implementations by name: `ours.<variant>` and `ours.<variant>.f16` for every variant the matmul module lists. */
export const OUR_IMPLS = [...MATMUL_VARIANTS.flatMap((v) => [`ours.${v}`, `ours.${v}.f16`]), 'ours.blocked8x8'];

export async function setupOrt(ort: OrtModule, ep: 'webgpu' | 'wasm', model: Uint8Array, M: number, N: number, K: number): Promise<Runner> {
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

/** tfjs-core and its WebGPU backend, loaded by the environment (the page, or Node on Dawn's navigator.gpu). */
export async function setupTfjs(tf: typeof import('@tensorflow/tfjs-core'), M: number, N: number, K: number): Promise<Runner> {
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

/** The harness over the peers this environment offers (by name: 'ort.webgpu', 'tfjs.webgpu', ...). */
export function createBench(peers: Record<string, PeerSetup>, decode?: { files: () => Promise<ModelFiles>; peers: DecodePeer[] }) {
  return {
    /** The implementations this harness can set up: ours, then the peers. */
    impls: (): string[] => [...OUR_IMPLS, ...Object.keys(peers)],

    /** The adapter our kernels run on (summary, features, limits), and what autotune picks there (timed fresh). */
    async info() {
      const gpu = await oursGpu();
      const tune = await autotune(gpu, { force: true });
      const nav = globalThis.navigator as Navigator & { hardwareConcurrency?: number; userAgent?: string };
      const limits: Record<string, number> = {};
      for (const key of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage'] as const) {
        limits[key] = gpu.device.limits[key];
      }
      return {
        gpu: gpuSummary(gpu), adapter: gpu.adapterInfo, isSoftware: gpu.isSoftware, features: [...gpu.device.features].sort(), limits,
        userAgent: nav.userAgent ?? null, hardwareConcurrency: nav.hardwareConcurrency ?? null,
        crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated ?? false,
        autotune: tune, variants: MATMUL_VARIANTS,
      };
    },

    /** Builds `impl` at [M,K]·[K,N] and runs it once (compiles, warms up). Returns an id for `time`. */
    async setup(impl: string, M: number, N: number, K: number, modelBase64?: string): Promise<{ id: number; io: string; warmMs: number }> {
      const model = modelBase64 ? Uint8Array.from(atob(modelBase64), (c) => c.charCodeAt(0)) : new Uint8Array();
      let r: Runner;
      if (impl === 'ours.blocked8x8') r = await setupOurs('blocked', M, N, K, { block: { rows: 8, cols: 8 } });
      else if (impl.startsWith('ours.')) {
        const [variant, f16] = impl.slice(5).split('.');
        if (!MATMUL_VARIANTS.includes(variant as MatmulVariant)) throw new Error(`unknown matmul variant ${variant}`);
        r = await setupOurs(variant as MatmulVariant, M, N, K, { f16: f16 === 'f16' });
      } else if (peers[impl]) r = await peers[impl](M, N, K, model);
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

    /** Cold pipeline compile time per kernel of a LoRA step, on a fresh device: run this first (compile_times.ts). */
    compileTimes: () => coldCompileTimes(),

    async loraStep() {
      // The matmul runners above leave their own variant and block set: put back what autotune chose.
      const gpu = await oursGpu();
      await autotune(gpu);
      return benchLoraStep(gpu);
    },

    /** LoRA steps at the real shapes named (lora_step.ts), with model FLOP utilisation against `peakGflops`. */
    async loraShapes(names: string[], peakGflops: number | null) {
      const gpu = await oursGpu();
      await autotune(gpu);
      return benchLoraShapes(gpu, names, peakGflops);
    },

    /** Start to first step on fresh devices, without and with Trainer.prepare (bench/lora_step.ts). */
    firstStep: () => benchFirstStep(),

    /** Decode tokens/s on the embedded default model (decode.ts), beside the driver's peers; null when the driver
     * gives no model source (the Node driver runs scripts/bench-decode.ts instead, which adds transformers). */
    async decode() {
      if (!decode) return null;
      const gpu = await oursGpu();
      await autotune(gpu);
      return benchDecode(gpu, await decode.files(), decode.peers, { rounds: 5, newTokens: 64 });
    },
  };
}

export type Bench = ReturnType<typeof createBench>;
