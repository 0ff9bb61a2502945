// Decode speed on the embedded default model, printed as JSON (stdout; progress on stderr), all in one run: the
// cases of bench/decode.ts (ours: the engine one sequence and batched, B = 1, 8, 32, then each GPU path by name and
// the loop before batching; onnxruntime-web on the ONNX export of the same weights: wasm, 1 thread as the studio runs
// it, and WebGPU when its EP starts here) and real transformers (PyTorch, CPU, the .venv) `generate`, greedy,
// B = 1, 8, 32. Kernels: autotune picks the matmul variant first (as bench/main.ts does).
// Each case generates 64 greedy tokens per sequence after the same prompt with stops off; tokens/s = new tokens /
// wall time of the whole call (prefill included); timed round-robin, median and best round (bench/decode.ts).
// Usage: node scripts/run-gpu.mjs scripts/bench-decode.ts [--quick] [--rounds N]
// (--gpu swiftshader|lavapipe, or STUDIO_GPU, chooses the adapter; the JSON names it.)
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { benchDecode, decodeSummary, type DecodePeer } from '../bench/decode';
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
const BATCHES = [1, 8, 32];
const log = (...a: unknown[]) => console.error('[bench-decode]', ...a);

/** transformers' greedy generate on the CPU, B = 1, 8, 32, its own warm-up and rounds. */
function torchCpu(ids: number[]) {
  const code = `
import json, os, sys, time, torch, transformers
from transformers import AutoModelForCausalLM
torch.set_num_threads(os.cpu_count())
path, ids, new, batches, rounds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32).eval()
model.generation_config.eos_token_id = None   # stops off, as in the other cases
out = {"torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads(), "batches": {}}
for B in batches:
    x = torch.tensor([ids] * B)
    gen = lambda: model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new, do_sample=False, pad_token_id=0)
    with torch.no_grad():
        first = gen()
        ms = []
        for _ in range(rounds):
            t0 = time.perf_counter(); gen(); ms.append((time.perf_counter() - t0) * 1e3)
    out["batches"][str(B)] = {"ms": ms, "tokens": first[0, len(ids):].tolist()}
print(json.dumps(out))
`;
  const r = spawnSync(join(root, '.venv/bin/python'), ['-c', code, MODEL, JSON.stringify(ids), String(NEW_TOKENS), JSON.stringify(BATCHES), String(ROUNDS)], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python failed').trim().split('\n').slice(-2).join(' | ') };
  return JSON.parse(r.stdout) as { torch: string; transformers: string; threads: number; batches: Record<string, { ms: number[]; tokens: number[] }> };
}

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
  const torch = torchCpu(d.promptIds);
  const { cases, errors, ratios, tokens: _tokens, promptIds, ...config } = d;
  const result: Record<string, unknown> = {
    adapter: gpu.adapterInfo, software: gpu.isSoftware, matmul: tune.matmul, ...config, promptTokens: promptIds.length, machine: { cpus: cpus().length, loadavg: load }, ...cases,
  };
  for (const [name, error] of Object.entries(errors)) result[name] = { error };
  if ('error' in torch) result.torchCpu = torch;
  else {
    result.torchCpu = {
      torch: torch.torch, transformers: torch.transformers, threads: torch.threads,
      ...Object.fromEntries(Object.entries(torch.batches).map(([B, b]) => [`batch${B}`, { ...decodeSummary(b.ms, Number(B) * NEW_TOKENS), sameTokens: b.tokens.join() === d.tokens.join() }])),
    };
  }
  result.ratios = ratios;
  console.log(JSON.stringify(result, null, 2));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
