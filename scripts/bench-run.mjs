// The benchmark's schedule, shared by its two drivers (scripts/bench.mjs: a Chromium page; scripts/bench-node.ts:
// Node on Dawn): given a harness `bench` (bench/harness.ts, its methods possibly proxied into a page), it runs, in
// order, the cold compile times (first: nothing compiled yet), the adapter's info and autotune, the matmul shapes
// (every implementation set up and warmed untimed, then timed round-robin: one run of each per round, so load from
// other processes falls on all alike; GFLOP/s = 2·M·N·K / time, median and best), the LoRA steps with model FLOP
// utilisation, first-step times and decode tokens/s; and returns one JSON-ready object. The drivers add PyTorch.
// Not here: launching the page or the device, PyTorch.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const log = (...a) => console.error('[bench]', ...a);

/** [M, N, K, label, rounds]; rounds shrink as runs grow (a 1024³ run on SwiftShader takes seconds per peer). */
export function matmulShapes(quick) {
  return quick
    ? [[64, 64, 64, '64³', 3], [128, 256, 96, '128×96·96×256', 3]]
    : [
      [256, 256, 256, '256³', 7],
      [512, 512, 512, '512³', 5],
      [1024, 1024, 1024, '1024³', 3],
      [128, 1536, 576, 'LLM [128×576]·[576×1536]', 5],
    ];
}

/** The real shapes the LoRA step runs at (scripts/model-shapes.ts names). */
export const LORA_SHAPES = ['SmolLM2-135M', 'Gemma-3-270M', 'Qwen3-0.6B'];

/** A one-node ONNX graph y[M,N] = a[M,K] · b[K,N] (IR 10, opset 21: within what ORT 1.30 accepts), base64. */
function matmulModel(M, N, K) {
  const { onnx } = onnxProto;
  const f32 = onnx.TensorProto.DataType.FLOAT;
  const info = (name, dims) => ({ name, type: { tensorType: { elemType: f32, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const model = onnx.ModelProto.create({
    irVersion: 10,
    opsetImport: [{ domain: '', version: 21 }],
    producerName: 'studio-bench',
    graph: {
      name: 'matmul',
      node: [{ opType: 'MatMul', input: ['a', 'b'], output: ['y'], name: 'matmul' }],
      input: [info('a', [M, K]), info('b', [K, N])],
      output: [info('y', [M, N])],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish()).toString('base64');
}

export function stats(ms, flop) {
  const sorted = [...ms].sort((x, y) => x - y);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const g = (t) => +(flop / t / 1e6).toFixed(3);
  return { gflops: g(median), bestGflops: g(sorted[0]), ms: ms.map((t) => +t.toFixed(2)) };
}

/** PyTorch's matmul on the CPU (the .venv's torch), for the same shapes; { error } when it cannot run. */
export function torchCpu(shapes) {
  const code = `
import json, os, sys, time, torch
torch.set_num_threads(os.cpu_count())
out = {"version": torch.__version__, "threads": torch.get_num_threads(), "shapes": []}
for M, N, K, rounds in json.loads(sys.argv[1]):
    g = torch.Generator().manual_seed(0)
    a = torch.rand(M, K, generator=g) * 2 - 1
    b = torch.rand(K, N, generator=g) * 2 - 1
    torch.matmul(a, b)
    ms = []
    for _ in range(max(rounds, 5)):
        t0 = time.perf_counter(); torch.matmul(a, b); ms.append((time.perf_counter() - t0) * 1e3)
    out["shapes"].append(ms)
print(json.dumps(out))
`;
  const r = spawnSync(join(root, '.venv/bin/python'), ['-c', code, JSON.stringify(shapes.map(([M, N, K, , rounds]) => [M, N, K, rounds]))], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').slice(-3).join(' | ') };
  return JSON.parse(r.stdout);
}

/**
 * transformers' greedy generate on the CPU (scripts/bench_decode_torch.py) after the decode benchmark's prompt, B = 1,
 * 8, 32, each batch's tokens/s and whether its first sequence made `want` (the engine's tokens); or { error }.
 */
export function torchDecode(modelDir, promptIds, newTokens, rounds, want) {
  const args = [join(root, 'scripts/bench_decode_torch.py'), modelDir, JSON.stringify(promptIds), String(newTokens), JSON.stringify([1, 8, 32]), String(rounds)];
  const r = spawnSync(join(root, '.venv/bin/python'), args, { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python failed').trim().split('\n').slice(-2).join(' | ') };
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  for (const v of Object.values(out)) {
    if (v?.tokens) { v.sameTokens = v.tokens.join() === want.join(); delete v.tokens; }
  }
  return out;
}

/** scripts/bench-decode.ts's JSON (the decode benchmark) on the adapter `gpu` names, when that script exists. */
export function decodeScript(gpu, quick) {
  const script = join(root, 'scripts/bench-decode.ts');
  if (!existsSync(script)) return null;
  const r = spawnSync(process.execPath, [join(root, 'scripts/run-gpu.mjs'), script, '--gpu', gpu, ...(quick ? ['--quick'] : [])], { encoding: 'utf8', cwd: root });
  if (r.status !== 0) return { error: (r.stderr || 'bench-decode failed').trim().split('\n').at(-1) };
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/**
 * Runs the schedule on `bench` (harness methods, each async). opts: quick, loraShapes ('all', 'none', or 'auto': all
 * but on a software adapter, where they take minutes a step), peakGflops (the device's peak for MFU; otherwise the best matmul GFLOP/s measured here stands in).
 */
export async function runBench(bench, opts) {
  const result = { date: new Date().toISOString(), quick: opts.quick, host: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg1m: { start: loadavg()[0] } } };
  log('cold compile times');
  result.compile = await bench.compileTimes();
  log('adapter info and autotune');
  result.adapter = await bench.info();
  const impls = await bench.impls();
  const shapes = matmulShapes(opts.quick);
  result.matmul = [];
  for (const [M, N, K, label, rounds] of shapes) {
    const flop = 2 * M * N * K;
    const model = matmulModel(M, N, K);
    const ids = {}, times = {}, errors = {};
    for (const impl of impls) {
      log(label, 'setup', impl);
      try {
        const s = await bench.setup(impl, M, N, K, impl.startsWith('ort.') ? model : undefined);
        ids[impl] = s.id; times[impl] = [];
      } catch (e) {
        errors[impl] = String(e.message ?? e).split('\n')[0];
        log(label, impl, 'not run:', errors[impl]);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const impl of Object.keys(ids)) times[impl].push(await bench.time(ids[impl]));
      log(label, `round ${r + 1}/${rounds}`, Object.entries(times).map(([k, v]) => `${k} ${(flop / v.at(-1) / 1e6).toFixed(2)}`).join(', '));
    }
    for (const id of Object.values(ids)) await bench.dispose(id);
    const entry = { shape: { M, N, K }, label, gflops: {}, errors };
    for (const [impl, ms] of Object.entries(times)) entry.gflops[impl] = stats(ms, flop);
    result.matmul.push(entry);
  }
  const best = Math.max(...result.matmul.flatMap((e) => Object.entries(e.gflops).filter(([k]) => k.startsWith('ours.')).map(([, g]) => g.bestGflops)));
  const peakGflops = opts.peakGflops ?? best;
  result.peak = { gflops: peakGflops, source: opts.peakGflops ? '--peak-tflops' : 'the best matmul GFLOP/s of ours measured in this run (the device publishes no peak)' };
  log('loraStep');
  const lora = await bench.loraStep();
  result.loraStep = { ...lora, achievedGflops: +(lora.flopsPerToken * lora.tokensPerSecond / 1e9).toFixed(3) };
  result.loraStep.mfu = +(result.loraStep.achievedGflops / peakGflops).toFixed(4);
  if (opts.loraShapes === 'all' || (opts.loraShapes === 'auto' && !result.adapter.isSoftware)) {
    log('loraShapes', LORA_SHAPES.join(', '));
    result.loraShapes = await bench.loraShapes(LORA_SHAPES, peakGflops);
  } else {
    result.loraShapes = { skipped: `a software adapter: the real shapes (${LORA_SHAPES.join(', ')}) take minutes a step here; --lora-shapes all runs them` };
  }
  log('firstStep');
  result.loraStep.firstStep = await bench.firstStep();
  log('decode');
  result.decode = (await bench.decode()) ?? { elsewhere: 'this driver runs scripts/bench-decode.ts for decoding (decodeScript), which adds transformers on the CPU' };
  result.host.loadavg1m.end = loadavg()[0];
  return result;
}

/** Ratios ours / peer and the summary, once the driver has added torch.cpu (or not). */
export function summarise(result) {
  const PEERS = ['ort.webgpu', 'ort.jsep', 'ort.wasm', 'tfjs.webgpu', 'torch.cpu'];
  const tune = result.adapter.autotune;
  const oursVariant = tune.block ? `ours.blocked${tune.block.rows}x${tune.block.cols}` : `ours.${tune.variant}`;
  for (const entry of result.matmul) {
    if (entry.gflops[oursVariant]) entry.gflops.ours = { variant: oursVariant, ...entry.gflops[oursVariant] };
    entry.ratios = {};
    for (const ours of Object.keys(entry.gflops).filter((k) => k === 'ours' || k.startsWith('ours.'))) {
      for (const peer of PEERS) {
        const o = entry.gflops[ours], p = entry.gflops[peer];
        if (p) entry.ratios[`${ours} / ${peer}`] = { median: +(o.gflops / p.gflops).toFixed(2), best: +(o.bestGflops / p.bestGflops).toFixed(2) };
      }
    }
  }
  result.summary = {
    adapter: result.adapter.gpu.adapter,
    features: { f16: result.adapter.gpu.f16, subgroups: result.adapter.gpu.subgroups },
    oursVariant,
    perShape: result.matmul.map((e) => ({
      label: e.label,
      gflops: Object.fromEntries(Object.entries(e.gflops).filter(([k]) => k !== 'ours').map(([k, g]) => [k, g.gflops])),
      oursVsPeers: Object.fromEntries(Object.entries(e.ratios).filter(([k]) => k.startsWith('ours /')).map(([k, r]) => [k.slice(7), r.median])),
    })),
    loraStep: { tokensPerSecond: result.loraStep.tokensPerSecond, mfu: result.loraStep.mfu },
    // Start to first step (model build + prepare + step), the faster of the rounds on fresh devices.
    firstStepMs: Object.fromEntries(Object.entries(result.loraStep.firstStep).map(([k, v]) => [k, Math.min(...v.map((t) => t.totalMs))])),
    loraShapes: Array.isArray(result.loraShapes) ? result.loraShapes.map((s) => ({ model: s.model, tokensPerSecond: s.tokensPerSecond, mfu: s.mfu })) : result.loraShapes,
    compileMs: result.compile.totalMs,
    slowestCompiles: result.compile.kernels.slice(0, 5),
  };
  // Decode tokens/s (median) by case, and ours against the peers: the page's own run, or the Node driver's script.
  const decode = result.decode?.cases ? result.decode : result.decodeScript;
  if (decode && !decode.error) {
    const cases = decode.cases ?? Object.fromEntries(Object.entries(decode).filter(([, v]) => v?.tokensPerSecond !== undefined));
    result.summary.decode = { tokensPerSecond: Object.fromEntries(Object.entries(cases).map(([k, v]) => [k, v.tokensPerSecond])), ratios: decode.ratios };
  }
  return result;
}
