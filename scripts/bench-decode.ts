// Decode speed on the embedded default model, printed as JSON (stdout; progress on stderr), all in one run:
//  - ours: the engine's generation (src/generate/batch.ts, stepPath 'auto') for one sequence (what generate() runs)
//    and batched, B = 1, 8, 32 sequences of the same prompt: on a software adapter the default model decodes on the
//    CPU from the one-dispatch step's pack (src/generate/cpu-decode.ts), on a hardware GPU up to
//    DECODE_STEP_MAX_BATCH sequences take the one-dispatch step (src/ops/decode-step.ts); then one sequence forced
//    onto each GPU path, `engineFused` (one dispatch a step) and `engineLayers` (layer by layer); and
//    `engineBefore`, the single-sequence loop the engine ran before batching (a forward per token, full logits read
//    back, the CPU sampler: generate() over transformerDecoder),
//  - onnxruntime-web on the ONNX export of the same weights through the same loop: wasm (1 thread, as the studio
//    runs it) and WebGPU when its EP starts here (else its error),
//  - real transformers (PyTorch, CPU, the .venv) `generate`, greedy, B = 1, 8, 32.
// Kernels: autotune picks the matmul variant first (as bench/main.ts does).
// Each case generates maxNewTokens (64) greedy tokens per sequence after the same prompt with stops off; tokens/s =
// new tokens / wall time of the whole call (prefill included). Every implementation is warmed up (untimed), then
// timed round-robin (one run of each per round, so load from other processes falls on all alike); we report the
// median and the best round. `sameTokens` checks that every implementation produced the engine's greedy tokens.
// Usage: node scripts/run-gpu.mjs scripts/bench-decode.ts [--quick] [--rounds N]
// (--gpu swiftshader|lavapipe, or STUDIO_GPU, chooses the adapter; the JSON names it.)
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-web';
import { generateBatch } from '../src/generate/batch';
import { transformerDecoder } from '../src/generate/decoder';
import { generateAll, type GenerateOptions } from '../src/generate/generate';
import { onnxGraph } from '../src/generate/onnx-graph';
import { OnnxDecoder } from '../src/generate/onnx-decoder';
import { GREEDY } from '../src/generate/sampler';
import { installNodeWebGPU } from '../src/gpu/node';
import { createGpu } from '../src/gpu/runtime';
import { autotune } from '../src/ops/autotune';
import { loadHfModel } from '../src/io/hf';
import { filesFromDirectory } from '../src/io/node-files';
import { Transformer } from '../src/model/transformer';

const root = resolve(import.meta.dirname, '..');
const MODEL = join(root, 'public/models/default');
const PROMPT = 'Calder lives in Tarn. Calder is a';
const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 2 : 5;
const NEW_TOKENS = quick ? 16 : 64;
const BATCHES = [1, 8, 32];
const log = (...a: unknown[]) => console.error('[bench-decode]', ...a);

interface Case {
  name: string;
  sequences: number;
  run: () => Promise<number[][]>;
}

function summary(times: number[], tokens: number) {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return { tokensPerSecond: +(tokens / (median / 1000)).toFixed(1), bestTokensPerSecond: +(tokens / (sorted[0] / 1000)).toFixed(1), ms: times.map((t) => +t.toFixed(1)) };
}

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
  const def = await loadHfModel(filesFromDirectory(MODEL, 'default'));
  const model = new Transformer(gpu, def.config, def.weights, { kind: 'none' });
  const ids = def.tokenizer.encode(PROMPT, { addSpecialTokens: true });
  const opts: GenerateOptions = { ...GREEDY, maxNewTokens: NEW_TOKENS, stopTokenIds: [], stopStrings: [] };
  const graph = await onnxGraph(model);
  const ortWasm = await OnnxDecoder.create(ort, graph, def.config, { executionProviders: ['wasm'] });
  let ortWebgpu: OnnxDecoder | { error: string };
  try {
    ortWebgpu = await OnnxDecoder.create(ort, graph, def.config, { executionProviders: ['webgpu'] });
  } catch (e) {
    ortWebgpu = { error: String((e as Error).message ?? e).split('\n')[0].slice(0, 300) };
  }
  const one = (d: Parameters<typeof generateAll>[0]) => async () => [(await generateAll(d, ids, opts)).tokens];
  const cases: Case[] = [
    { name: 'engine', sequences: 1, run: one(model) },
    ...BATCHES.map((B) => ({ name: `engineBatch${B}`, sequences: B, run: async () => (await generateBatch(model, Array(B).fill(ids), opts)).map((r) => r.tokens) })),
    { name: 'engineFused', sequences: 1, run: async () => (await generateBatch(model, [ids], { ...opts, stepPath: 'fused' })).map((r) => r.tokens) },
    { name: 'engineLayers', sequences: 1, run: async () => (await generateBatch(model, [ids], { ...opts, stepPath: 'layers' })).map((r) => r.tokens) },
    { name: 'engineBefore', sequences: 1, run: one(transformerDecoder(model)) },
    { name: 'ortWasm', sequences: 1, run: one(ortWasm) },
    ...(ortWebgpu instanceof OnnxDecoder ? [{ name: 'ortWebgpu', sequences: 1, run: one(ortWebgpu) }] : []),
  ];
  const load = [loadavg()[0]];
  const tokens = new Map<string, number[][]>();
  for (const c of cases) { log('warm-up', c.name); tokens.set(c.name, await c.run()); }
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    log(`round ${r + 1}/${ROUNDS}`);
    for (const c of cases) {
      const t0 = performance.now();
      await c.run();
      times.get(c.name)!.push(performance.now() - t0);
    }
  }
  load.push(loadavg()[0]);
  log('transformers (CPU)');
  const torch = torchCpu(ids);
  const want = tokens.get('engine')![0];
  const result: Record<string, unknown> = {
    adapter: gpu.adapterInfo, software: gpu.isSoftware, matmul: tune.matmul, model: 'public/models/default', prompt: PROMPT, promptTokens: ids.length, newTokens: NEW_TOKENS, rounds: ROUNDS,
    machine: { cpus: cpus().length, loadavg: load },
  };
  for (const c of cases) {
    result[c.name] = { sequences: c.sequences, ...summary(times.get(c.name)!, c.sequences * NEW_TOKENS), sameTokens: tokens.get(c.name)!.every((t) => t.join() === want.join()) };
  }
  if (!(ortWebgpu instanceof OnnxDecoder)) result.ortWebgpu = ortWebgpu;
  if ('error' in torch) result.torchCpu = torch;
  else {
    result.torchCpu = {
      torch: torch.torch, transformers: torch.transformers, threads: torch.threads,
      ...Object.fromEntries(Object.entries(torch.batches).map(([B, b]) => [`batch${B}`, { ...summary(b.ms, Number(B) * NEW_TOKENS), sameTokens: b.tokens.join() === want.join() }])),
    };
  }
  const tps = (name: string) => (result[name] as { tokensPerSecond?: number } | undefined)?.tokensPerSecond;
  result.ratios = {
    engineVsOrtWasm: +(tps('engine')! / tps('ortWasm')!).toFixed(2),
    engineFusedVsOrtWasm: +(tps('engineFused')! / tps('ortWasm')!).toFixed(2),
    engineVsBefore: +(tps('engine')! / tps('engineBefore')!).toFixed(2),
    engineVsLayers: +(tps('engine')! / tps('engineLayers')!).toFixed(2),
    batch32VsSingle: +(tps('engineBatch32')! / tps('engine')!).toFixed(2),
  };
  console.log(JSON.stringify(result, null, 2));
  await ortWasm.release();
  if (ortWebgpu instanceof OnnxDecoder) await ortWebgpu.release();
  model.destroy();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
