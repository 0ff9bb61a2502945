// `npm run bench`: matmul GFLOP/s of our kernels against the peers, in ONE run on ONE adapter, printed as JSON.
//  - Serves bench/ with Vite from 127.0.0.1 (navigator.gpu needs a secure context), opens it in headless
//    Debian Chromium (WebGPU on SwiftShader when there is no GPU), and drives window.bench (bench/main.ts):
//    our variants, onnxruntime-web (WebGPU EP, JS WebGPU EP, wasm EP) and tfjs-backend-webgpu all run in
//    that one page, on one adapter. PyTorch (CPU, the .venv's: scripts/ensure-python-venv.sh) runs after the page work.
//  - Per shape, every implementation is set up and warmed (untimed), then timed round-robin: one run of
//    each per round, so load from other processes falls on all of them alike. GFLOP/s = 2·M·N·K / time;
//    we report the median and the best run; ratios are ours / peer, on medians and on best runs.
//  - `loraStep` is filled by bench/lora_step.ts (forward + backward tokens/s of a LoRA step); pending until then.
//    `loraStep.firstStep`: milliseconds from start (model build) to the first step complete, on fresh devices,
//    without and with Trainer.prepare (pipelines compiled in parallel up front).
// Progress goes to stderr; stdout is the JSON alone. Options: --quick (small shapes, few rounds).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';
import onnxProto from 'onnx-proto';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The .venv's Python (real torch; scripts/ensure-python-venv.sh builds it).
const PYTHON = join(root, '.venv/bin/python');
const quick = process.argv.includes('--quick');
const log = (...a) => console.error('[bench]', ...a);

// [M, N, K, label, rounds]; rounds shrink as runs grow (a 1024³ run on SwiftShader takes seconds per peer).
const SHAPES = quick
  ? [[64, 64, 64, '64³', 3], [128, 256, 96, '128×96·96×256', 3]]
  : [
    [256, 256, 256, '256³', 7],
    [512, 512, 512, '512³', 5],
    [1024, 1024, 1024, '1024³', 3],
    [128, 1536, 576, 'LLM [128×576]·[576×1536]', 5],
  ];
// ours.blocked8x8: the blocked kernel with 8×8 blocks per thread, an experiment beside the default 4×4.
const PAGE_IMPLS = ['ours.blocked', 'ours.blocked8x8', 'ours.tiled', 'ort.webgpu', 'ort.jsep', 'ort.wasm', 'tfjs.webgpu'];
const PEERS = ['ort.webgpu', 'ort.jsep', 'ort.wasm', 'tfjs.webgpu', 'torch.cpu'];

/** A one-node ONNX graph y[M,N] = a[M,K] · b[K,N] (IR 10, opset 21: within what ORT 1.30 accepts). */
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

function stats(ms, flop) {
  const sorted = [...ms].sort((x, y) => x - y);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const g = (t) => +(flop / t / 1e6).toFixed(3);
  return { gflops: g(median), bestGflops: g(sorted[0]), ms: ms.map((t) => +t.toFixed(2)) };
}

function torchCpu(shapes) {
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
  const r = spawnSync(PYTHON, ['-c', code, JSON.stringify(shapes.map(([M, N, K, , rounds]) => [M, N, K, rounds]))], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').slice(-3).join(' | ') };
  return JSON.parse(r.stdout);
}

async function main() {
  // stdout is the JSON alone: the venv script's output goes to stderr
  if (spawnSync('bash', [join(root, 'scripts/ensure-python-venv.sh')], { stdio: ['ignore', process.stderr, 'inherit'] }).status !== 0) process.exit(1);
  const load = [loadavg()[0]];
  const server = await createServer({
    root: join(root, 'bench'),
    configFile: false,
    logLevel: 'warn',
    server: {
      host: '127.0.0.1', port: 0,
      hmr: false, watch: null, // edits elsewhere in the tree must not reload the page mid-run
      fs: { allow: [root] },
      // Cross-origin isolation lets the ORT wasm EP use threads, its best configuration.
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    },
    // ORT fetches its .wasm next to its module (import.meta.url): serve it from node_modules, unbundled.
    optimizeDeps: { exclude: ['onnxruntime-web'] },
  });
  await server.listen();
  const url = server.resolvedUrls.local[0];
  const profile = mkdtempSync(join(tmpdir(), 'bench-chromium-'));
  // A fresh profile (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const result = { date: new Date().toISOString(), quick, host: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version } };
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') log('page:', m.text()); });
    await page.goto(url);
    await page.waitForFunction(() => 'bench' in globalThis, null, { timeout: 120_000 });
    await page.evaluate((n) => globalThis.bench.configure({ wasmThreads: n }), cpus().length);
    log('autotune and adapter info');
    const info = await page.evaluate(() => globalThis.bench.info());
    Object.assign(result, { page: info });
    const impls = PAGE_IMPLS;
    const io = {};
    result.matmul = [];
    for (const [M, N, K, label, rounds] of SHAPES) {
      const flop = 2 * M * N * K;
      const model = matmulModel(M, N, K);
      const ids = {}, times = {}, errors = {};
      for (const impl of impls) {
        log(label, 'setup', impl);
        try {
          const s = await page.evaluate(([i, m, n, k, b]) => globalThis.bench.setup(i, m, n, k, b), [impl, M, N, K, impl.startsWith('ort.') ? model : undefined]);
          ids[impl] = s.id; times[impl] = []; io[impl] = s.io;
        } catch (e) {
          errors[impl] = String(e.message ?? e).split('\n')[0];
          log(label, impl, 'failed:', errors[impl]);
        }
      }
      for (let r = 0; r < rounds; r++) {
        for (const impl of Object.keys(ids)) times[impl].push(await page.evaluate((id) => globalThis.bench.time(id), ids[impl]));
        log(label, `round ${r + 1}/${rounds}`, Object.entries(times).map(([k, v]) => `${k} ${(flop / v.at(-1) / 1e6).toFixed(2)}`).join(', '));
      }
      for (const id of Object.values(ids)) await page.evaluate((i) => globalThis.bench.dispose(i), id);
      const entry = { shape: { M, N, K }, label, gflops: {}, errors };
      for (const [impl, ms] of Object.entries(times)) entry.gflops[impl] = stats(ms, flop);
      result.matmul.push(entry);
    }
    result.io = io;
    log('loraStep');
    const lora = await page.evaluate(() => globalThis.bench.loraStep());
    result.loraStep = lora ?? { pending: 'bench/lora_step.ts benchLoraStep() returns null: to be filled with forward+backward tokens/s of a LoRA step' };
    log('firstStep');
    result.loraStep.firstStep = await page.evaluate(() => globalThis.bench.firstStep());
  } finally {
    await browser.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }

  if (result.loraStep?.tokensPerSecond) {
    log('loraStep torch');
    const cfg = JSON.parse(readFileSync(join(root, 'bench/lora_step.json'), 'utf8'));
    const r = spawnSync(PYTHON, [join(root, 'scripts/bench_lora_torch.py'), JSON.stringify(cfg)], { encoding: 'utf8' });
    if (r.status === 0) {
      const t = JSON.parse(r.stdout.trim().split('\n').at(-1));
      result.loraStep.torchCpu = t;
      result.loraStep.ratioVsTorchCpu = +(result.loraStep.tokensPerSecond / t.tokensPerSecond).toFixed(3);
    } else {
      result.loraStep.torchCpu = { error: (r.stderr || 'python failed').trim().split('\n').at(-1) };
    }
  }

  log('torch');
  const torch = torchCpu(SHAPES);
  result.torch = torch.error ? { error: torch.error } : { version: torch.version, threads: torch.threads };
  // 'ours' is the variant autotune picked on this adapter: what `matmul` runs by default after start-up.
  const tune = result.page.autotune;
  const oursVariant = tune.block ? `ours.blocked${tune.block.rows}x${tune.block.cols}` : `ours.${tune.variant}`;
  result.matmul.forEach((entry, i) => {
    if (torch.shapes) entry.gflops['torch.cpu'] = stats(torch.shapes[i], 2 * entry.shape.M * entry.shape.N * entry.shape.K);
    if (entry.gflops[oursVariant]) entry.gflops.ours = { variant: oursVariant, ...entry.gflops[oursVariant] };
    entry.ratios = {};
    for (const ours of ['ours', 'ours.blocked', 'ours.blocked8x8', 'ours.tiled']) {
      const o = entry.gflops[ours];
      if (!o) continue;
      for (const peer of PEERS) {
        const p = entry.gflops[peer];
        if (p) entry.ratios[`${ours} / ${peer}`] = { median: +(o.gflops / p.gflops).toFixed(2), best: +(o.bestGflops / p.bestGflops).toFixed(2) };
      }
    }
  });
  load.push(loadavg()[0]);
  result.host.loadavg1m = { start: load[0], end: load[1] };
  const target = result.matmul.map((e) => e.ratios?.['ours / ort.webgpu']?.median).filter((x) => x !== undefined);
  result.summary = {
    target: 'on SwiftShader, ours ≥ 3× onnxruntime-web WebGPU EP (median ratio, every shape)',
    adapter: `${result.page.adapter.vendor}/${result.page.adapter.architecture}`,
    oursVariant,
    minRatioVsOrtWebgpu: target.length ? Math.min(...target) : null,
    // Start to first step (model build + prepare + step), the faster of the rounds on fresh devices.
    firstStepMs: result.loraStep?.firstStep && Object.fromEntries(Object.entries(result.loraStep.firstStep).map(([k, v]) => [k, Math.min(...v.map((t) => t.totalMs))])),
    met: target.length > 0 && Math.min(...target) >= 3,
    perShape: result.matmul.map((e) => ({
      label: e.label,
      oursGflops: e.gflops.ours?.gflops ?? null,
      vsOrtWebgpu: e.ratios?.['ours / ort.webgpu']?.median ?? null,
      vsOrtJsep: e.ratios?.['ours / ort.jsep']?.median ?? null,
      vsOrtWasm: e.ratios?.['ours / ort.wasm']?.median ?? null,
      vsTfjsWebgpu: e.ratios?.['ours / tfjs.webgpu']?.median ?? null,
      vsTorchCpu: e.ratios?.['ours / torch.cpu']?.median ?? null,
    })),
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
