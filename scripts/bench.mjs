// `npm run bench`: the benchmark in headless Chromium, printed as one JSON on stdout (progress on stderr).
//  - Serves bench/ with Vite from 127.0.0.1 (navigator.gpu needs a secure context), opens it in Chromium with a fresh
//    profile (so pipeline compiles are cold) and runs the schedule of scripts/bench-run.mjs on window.bench
//    (bench/main.ts): cold compile time per kernel, the adapter's info and features, matmul GFLOP/s of every kernel
//    variant beside onnxruntime-web (WebGPU EP, JS EP, wasm EP) and tfjs-backend-webgpu, LoRA steps with model FLOP
//    utilisation, first-step times, decode. Then PyTorch on the CPU (the .venv's), for matmul and the LoRA step.
//  - Chromium: Debian's /usr/bin/chromium unless CHROMIUM names another; extra flags in CHROMIUM_FLAGS (README,
//    "Benchmark": the flags for a real GPU on Linux, Windows and macOS).
// Options: --quick (small shapes, few rounds), --lora-shapes all|none (default: all on a hardware adapter),
//          --peak-tflops X (the device's peak FP32 TFLOP/s, for MFU; otherwise the run's best matmul stands in).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';
import { log, matmulShapes, root, runBench, stats, summarise, torchCpu, torchDecode } from './bench-run.mjs';

const argv = process.argv.slice(2);
const option = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const quick = argv.includes('--quick');
const peakTflops = option('--peak-tflops');
const PYTHON = join(root, '.venv/bin/python');

async function main() {
  // stdout is the JSON alone: the venv script's output goes to stderr
  if (spawnSync('bash', [join(root, 'scripts/ensure-python-venv.sh')], { stdio: ['ignore', process.stderr, 'inherit'] }).status !== 0) process.exit(1);
  const server = await createServer({
    root: join(root, 'bench'),
    publicDir: join(root, 'public'),   // the embedded default model at /models/default/, for the decode benchmark
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
  // A fresh profile (playwright passes it as --user-data-dir): no shader cache from an earlier run.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(process.env.CHROMIUM_FLAGS ?? '').split(/\s+/).filter(Boolean),
    ],
  });
  let result;
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') log('page:', m.text()); });
    await page.goto(url);
    await page.waitForFunction(() => 'bench' in globalThis, null, { timeout: 120_000 });
    await page.evaluate((n) => globalThis.bench.configure({ wasmThreads: n }), cpus().length);
    // The harness's methods, each run in the page.
    const call = (name) => (...args) => page.evaluate(([n, a]) => globalThis.bench[n](...a), [name, args]);
    const bench = Object.fromEntries(['impls', 'info', 'setup', 'time', 'dispose', 'compileTimes', 'loraStep', 'loraShapes', 'firstStep', 'decode'].map((n) => [n, call(n)]));
    result = await runBench(bench, { quick, loraShapes: option('--lora-shapes') ?? 'auto', peakGflops: peakTflops ? Number(peakTflops) * 1000 : undefined });
    result.driver = 'chromium';
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
  if (result.decode?.cases) {
    log('decode torch');
    const d = result.decode;
    d.torchCpu = torchDecode(join(root, 'public/models/default'), d.promptIds, d.newTokens, d.rounds, d.tokens);
  }
  log('torch');
  const shapes = matmulShapes(quick);
  const torch = torchCpu(shapes);
  result.torch = torch.error ? { error: torch.error } : { version: torch.version, threads: torch.threads };
  if (torch.shapes) result.matmul.forEach((entry, i) => { entry.gflops['torch.cpu'] = stats(torch.shapes[i], 2 * entry.shape.M * entry.shape.N * entry.shape.K); });
  console.log(JSON.stringify(summarise(result), null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
