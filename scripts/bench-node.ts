// `npm run bench:node`: the benchmark of scripts/bench.mjs in Node on Dawn, on the adapter `--gpu` chooses
// (scripts/run-gpu.mjs: auto, swiftshader, lavapipe), printed as one JSON on stdout (progress on stderr). The same
// harness (bench/harness.ts) and schedule (scripts/bench-run.mjs); the peers that run in Node: tfjs-backend-webgpu on
// the same Dawn adapter and onnxruntime-web's wasm EP (its WebGPU EPs have no Node backend). Mesa's shader cache points
// at an empty folder for the run, so the compile times are cold on lavapipe; PyTorch (CPU) runs the same matmuls.
// Options as bench.mjs: --quick, --lora-shapes all|none (default: all on a hardware adapter), --peak-tflops X.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { createBench, setupOrt, setupTfjs } from '../bench/harness';
import { gpuChoice, installNodeWebGPU } from '../src/gpu/node';
// @ts-expect-error plain JavaScript module
import * as run from './bench-run.mjs';

const argv = process.argv.slice(2);
const option = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const quick = argv.includes('--quick');

async function main(): Promise<void> {
  // Before the Vulkan instance exists (installNodeWebGPU creates it): an empty shader cache for this run.
  const cache = mkdtempSync(join(tmpdir(), 'bench-mesa-cache-'));
  process.env.MESA_SHADER_CACHE_DIR = cache;
  try {
    await installNodeWebGPU();
    // After navigator.gpu exists: tfjs-backend-webgpu registers itself on import only where it finds WebGPU.
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    ort.env.wasm.numThreads = 1; // Node: no cross-origin isolation to speak of; one thread, as the studio decodes
    const bench = createBench({
      'ort.wasm': (M, N, K, model) => setupOrt(ort as unknown as Parameters<typeof setupOrt>[0], 'wasm', model, M, N, K),
      'tfjs.webgpu': (M, N, K) => setupTfjs(tf, M, N, K),
    });
    const peak = option('--peak-tflops');
    const result = await run.runBench(bench, { quick, loraShapes: option('--lora-shapes') ?? 'auto', peakGflops: peak ? Number(peak) * 1000 : undefined });
    result.driver = 'node (Dawn)';
    result.decodeScript = run.decodeScript(gpuChoice(), quick);
    const torch = run.torchCpu(run.matmulShapes(quick));
    result.torch = torch.error ? { error: torch.error } : { version: torch.version, threads: torch.threads };
    if (torch.shapes) result.matmul.forEach((entry: { shape: { M: number; N: number; K: number }; gflops: Record<string, unknown> }, i: number) => { entry.gflops['torch.cpu'] = run.stats(torch.shapes[i], 2 * entry.shape.M * entry.shape.N * entry.shape.K); });
    process.stdout.write(`${JSON.stringify(run.summarise(result), null, 2)}\n`);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

// Awaited at the top level: vite-node closes its module server once the entry module has run, and main imports later.
await main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
