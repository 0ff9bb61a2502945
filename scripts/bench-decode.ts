// Decode speed on the embedded default model, printed as JSON (stdout; progress on stderr), all in one run: the
// cases of bench/decode.ts (ours: the engine one sequence and batched, B = 1, 8, 32, then each GPU path by name and
// the loop before batching; onnxruntime-web on the ONNX export of the same weights: wasm, 1 thread as the studio runs
// it, and WebGPU when its EP starts here) and real transformers (PyTorch, CPU, the .venv) `generate`, greedy,
// B = 1, 8, 32. Kernels: autotune picks the matmul variant first (as bench/main.ts does).
// Each case generates 64 greedy tokens per sequence after the same prompt with stops off; tokens/s = new tokens /
// wall time of the whole call (prefill included); timed round-robin, median and best round (bench/decode.ts).
// Usage: node scripts/run-gpu.mjs scripts/bench-decode.ts [--quick] [--rounds N]
// (--gpu swiftshader|lavapipe, or STUDIO_GPU, chooses the adapter; the JSON names it.)
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { benchDecode, type DecodePeer } from '../bench/decode';
// @ts-expect-error plain JavaScript module
import { torchDecode } from './bench-run.mjs';
import { installNodeWebGPU } from '../src/gpu/node';
import { createGpu } from '../src/gpu/runtime';
import { autotune } from '../src/ops/autotune';
import { filesFromDirectory } from '../src/io/node-files';

const root = resolve(import.meta.dirname, '..');
const MODEL = join(root, 'public/models/default');
const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 2 : 5;
const NEW_TOKENS = quick ? 16 : 64;
const log = (...a: unknown[]) => console.error('[bench-decode]', ...a);

async function main() {
  await installNodeWebGPU();
  const gpu = await createGpu();
  const tune = await autotune(gpu);   // the matmul variant this adapter runs fastest, as the studio picks it
  const peers: DecodePeer[] = [
    { name: 'ortWasm', ort, executionProviders: ['wasm'] },
    { name: 'ortWebgpu', ort, executionProviders: ['webgpu'] },
  ];
  const load = [loadavg()[0]];
  const d = await benchDecode(gpu, filesFromDirectory(MODEL, 'public/models/default'), peers, { rounds: ROUNDS, newTokens: NEW_TOKENS, log });
  load.push(loadavg()[0]);
  log('transformers (CPU)');
  const { cases, errors, ratios, tokens: _tokens, promptIds, ...config } = d;
  const result: Record<string, unknown> = {
    adapter: gpu.adapterInfo, software: gpu.isSoftware, matmul: tune.matmul, ...config, promptTokens: promptIds.length, machine: { cpus: cpus().length, loadavg: load }, ...cases,
  };
  for (const [name, error] of Object.entries(errors)) result[name] = { error };
  result.torchCpu = torchDecode(MODEL, promptIds, NEW_TOKENS, ROUNDS, d.tokens);
  result.ratios = ratios;
  console.log(JSON.stringify(result, null, 2));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
