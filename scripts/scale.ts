// `npm run scale` (opt-in, not part of npm test): GPU and host memory, load time and a LoRA step at real model sizes,
// as JSON on stdout. For the shapes of seven public models (their config.json values, written below; random weights
// drawn here, rounded to bf16 as the checkpoints ship, never saved), in each frozen-base storage (bf16, q8, q4) ×
// activation checkpointing off/on:
//  - estimatedBytes at 1×512 and 4×512 tokens: src/model/memory-estimate.ts estimateMemory (LoRA r=8 on q/k/v/o, the studio's
//    default), held within 1.0-1.3× of live bytes after a step by tests/node/memory-estimate.test.ts;
//  - live: models up to --live-max-params (default 0.6e9) are really built on this machine's adapter, one child
//    process per model × storage (so VmHWM, the kernel's RSS high-water mark, is that case's own peak: it includes
//    the runtime's start-up and, on SwiftShader, the GPU's memory, which is host memory). Each child streams the
//    weights tensor by tensor (the bf16 bits through ParamTable.writeHalf, as a checkpoint loads), then records:
//    the GPU bytes the model holds and the estimate's count of them, the load time, one LoRA training step of
//    stepTokens (pipelines compiled first and timed apart) with checkpointing off, then from the same LoRA state
//    with it on (the losses must match), the GPU bytes after each step against the estimate at that size, and the
//    host peak; then one more step timed kernel by kernel with timestamp queries (src/gpu/timestamps.ts: which kernels
//    dominate a real step), where the adapter has them. For bf16, the greedy tokens of a fixed prompt are then
//    compared with the same weights stored as f32 (built after the peak is read): on a device with shader-f16 the bf16
//    matrices take the f16 kernels (`greedyPath: 'f16'`), so this compares the f16 path with the f32 one; without it
//    both run the f32 kernels (`greedyPath: 'f32'`, the f16 path n/a). Bigger models are estimated only: on a
//    software adapter the GPU is host memory.
//  - The adapter is chosen as for every command: `--gpu swiftshader|lavapipe|auto` (scripts/run-gpu.mjs), inherited
//    by the case processes.
//  - pytorchPeftGiB: what PyTorch + PEFT need for the same run, by arithmetic (pytorchBytes below), not measured.
// Usage: npm run scale [-- --models SmolLM2-135M,Qwen3-0.6B] [--weights bf16,q4] [--live-max-params N] [--gpu lavapipe]
//        npm run scale -- --readme A.json[,B.json]   (rewrites the README's tables from runs on one adapter each)
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expectedWeights, parameterCount } from '../src/io/hf';
import { estimateMemory } from '../src/model/memory-estimate';
import { configFromHf } from '../src/model/arch';
import type { ModelConfig } from '../src/model/config';
import { DEFAULT_LORA } from '../src/model/lora';
import type { WeightStorage } from '../src/ops/weight-storage';
import { Transformer } from '../src/model/transformer';
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { gpuSummary, type GpuSummary } from '../src/gpu/adapter';
import { installNodeWebGPU } from '../src/gpu/node';
import { bf16ToF32 } from '../src/ops/half';
import { generateAll } from '../src/generate/generate';
import { GREEDY } from '../src/generate/sampler';
import { DEFAULT_TRAIN, Trainer } from '../src/train/trainer';
import { MODELS, randomBf16 } from './model-shapes';
import { replaceScaleSection, scaleTables, type ScaleLive, type ScaleRun, type ScaleStep } from './scale-table';
import type { KernelTime } from '../src/gpu/timestamps';

const STORAGES: WeightStorage[] = ['bf16', 'q8', 'q4'];
const BATCHES: [number, number][] = [[1, 512], [4, 512]];
/** The training step each built model takes: 1×128 tokens (a step at 512 tokens of these widths takes many minutes on SwiftShader). */
const STEP: [number, number] = [1, 128];
/** The greedy check: 8 new tokens after a fixed prompt of 8 ids. */
const PROMPT = [1, 17, 300, 4000, 42, 9, 1234, 77];
const NEW_TOKENS = 8;
const LORA = { targetModules: DEFAULT_LORA.targetModules, dropout: 0 };
const GiB = 2 ** 30;
const gib = (b: number) => Number((b / GiB).toFixed(3));

/**
 * PyTorch + PEFT for the same LoRA run, by arithmetic (a floor: no CUDA context, ~0.3-0.5 GiB, and no allocator
 * slack). Base: bf16 (2 B a weight) or bitsandbytes NF4 with double quantisation on the linears (~4.13 bits), the
 * embedding and head bf16 as bitsandbytes leaves them (so q8 is LLM.int8: 1 B + a scale per row, ~1 B). LoRA A/B,
 * their grads and Adam moments f32 (16 B each). Activations bf16: with gradient checkpointing, each layer's input
 * plus one layer's saved set; without, every layer's. transformers' loss upcasts the [N, V] logits to f32: bf16
 * logits, f32 logits and their f32 gradient alive at once (10 B per entry).
 */
function pytorchBytes(c: ModelConfig, storage: WeightStorage, N: number, checkpointing: boolean): number {
  const { hiddenSize: C, intermediateSize: I, vocabSize: V, numLayers: L, numHeads, numKvHeads, headDim } = c;
  const embed = V * C;
  const linears = parameterCount(c) - embed - (c.tieWordEmbeddings ? 0 : embed);
  const perWeight = { f32: 4, bf16: 2, f16: 2, q8: 1, q4: 4.127 / 8 }[storage];
  const base = linears * perWeight + (c.tieWordEmbeddings ? 1 : 2) * embed * 2;
  const q = numHeads * headDim, kv = numKvHeads * headDim;
  const lora = L * DEFAULT_LORA.rank * ((C + q) * 2 + (C + kv) * 2) * 16;
  // What a Llama-style layer keeps for backward: norm outputs, q/k/v, rotated q/k, attention out, o, MLP gate/up/act.
  const layer = N * (4 * C + 3 * q + 3 * kv + 3 * I) * 2;
  const acts = checkpointing ? L * N * C * 2 + layer : L * layer;
  return base + lora + acts + N * V * 10;
}

/** The kernel's RSS figures of this process (bytes): VmHWM, the high-water mark, and VmRSS now. */
function hostMemory(): { peak: number; now: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kib('VmHWM'), now: kib('VmRSS') };
}

const seconds = (t0: number) => Number(((performance.now() - t0) / 1000).toFixed(1));

/** A LoRA model of `config` with its frozen base in `storage`, random bf16 weights written as a checkpoint's are (same seeds, same values, in any storage). */
async function buildModel(gpu: Gpu, config: ModelConfig, storage: WeightStorage): Promise<Transformer> {
  const shapes = expectedWeights(config);
  const net = new Transformer(gpu, config, new Map([...shapes].map(([n, shape]) => [n, { shape, data: null }])), { kind: 'lora', lora: DEFAULT_LORA }, 0, {}, storage);
  let seed = 1;
  for (const [name, shape] of shapes) {
    const bits = randomBf16(shape.reduce((a, b) => a * b, 1), seed++, shape.length === 2 ? 0.02 : 1);
    net.params.writeHalf(name, 'BF16', bits, () => bf16ToF32(bits));
  }
  await gpu.read(net.params.get(net.params.trainableNames()[0]));   // every upload landed
  return net;
}

async function greedyTokens(net: Transformer): Promise<number[]> {
  return (await generateAll(net, PROMPT, { ...GREEDY, maxNewTokens: NEW_TOKENS, stopTokenIds: [], stopStrings: [] })).tokens;
}

/** One optimizer step on one fixed example of STEP tokens; GPU bytes after it (pooled temporaries included, so at least its peak). */
async function trainingStep(net: Transformer, checkpointing: boolean): Promise<Omit<ScaleStep, 'estimatedBytes'>> {
  const { gpu, config } = net;
  const [B, T] = STEP;
  const inputIds = Array.from({ length: T + 1 }, (_, i) => (i * 7919 + 13) % config.vocabSize);
  net.checkpointActivations = checkpointing;
  gpu.trimPool();
  const before = gpu.liveBytes;
  const trainer = new Trainer(net, [{ inputIds, lossMask: inputIds.map(() => 1) }], { ...DEFAULT_TRAIN, batchSize: B, maxSeqLength: T, maxSteps: 1 });
  let t0 = performance.now();
  await trainer.prepare();
  const compileSeconds = seconds(t0);
  t0 = performance.now();
  const { loss } = await trainer.step();
  return { checkpointing, seconds: seconds(t0), compileSeconds, loss, liveBytes: gpu.liveBytes - before };
}

/** One more step (checkpointing off) with every dispatch timed by timestamp queries: GPU milliseconds per kernel label. */
async function timedStep(net: Transformer): Promise<KernelTime[]> {
  const [B, T] = STEP;
  const inputIds = Array.from({ length: T + 1 }, (_, i) => (i * 7919 + 13) % net.config.vocabSize);
  net.checkpointActivations = false;
  const trainer = new Trainer(net, [{ inputIds, lossMask: inputIds.map(() => 1) }], { ...DEFAULT_TRAIN, batchSize: B, maxSeqLength: T, maxSteps: 1 });
  await trainer.prepare();
  const timing = net.gpu.timeKernels();
  await trainer.step();
  return (await timing.stop()).map((k) => ({ ...k, ms: Number(k.ms.toFixed(3)) }));
}

/** One model × storage, in its own process (see the header): its line of the JSON's `live`. */
async function runCase(config: ModelConfig, storage: WeightStorage): Promise<ScaleLive & { gpu: GpuSummary; software: boolean } & Record<string, unknown>> {
  await installNodeWebGPU();
  const gpu = await createGpu({ timestampQuery: true });
  const hostBase = hostMemory().now;
  const before = gpu.liveBytes;
  let t0 = performance.now();
  const net = await buildModel(gpu, config, storage);
  const loadSeconds = seconds(t0);
  const modelBytes = gpu.liveBytes - before;
  const estimate = (tokens: number, checkpointing: boolean) => estimateMemory(config, { training: true, loraRank: DEFAULT_LORA.rank, batchTokens: tokens, lora: LORA, checkpointing, weights: storage });
  const e = estimate(STEP[0] * STEP[1], false);
  const hostAfterLoad = hostMemory().peak;
  t0 = performance.now();
  const greedy = storage === 'bf16' ? await greedyTokens(net) : null;
  const greedySeconds = seconds(t0);
  // Checkpointing on starts from the LoRA state the first step started from, so both losses are of the same weights.
  const lora = await net.params.readFlat('params');
  const off = await trainingStep(net, false);
  net.params.writeFlat('params', lora);
  net.params.writeFlat('m', new Float32Array(lora.length));
  net.params.writeFlat('v', new Float32Array(lora.length));
  const on = await trainingStep(net, true);
  const steps = [off, on].map(({ liveBytes, ...s }) => ({ ...s, liveBytes: modelBytes + liveBytes, estimatedBytes: estimate(STEP[0] * STEP[1], s.checkpointing).trainingBytes }));
  const hostPeakBytes = hostMemory().peak;
  const kernels = gpu.device.features.has('timestamp-query') ? await timedStep(net) : undefined;
  net.destroy();
  gpu.trimPool();
  let greedyEqualsF32: boolean | undefined;
  if (greedy) {
    const ref = await buildModel(gpu, config, 'f32');
    const refTokens = await greedyTokens(ref);
    ref.destroy();
    greedyEqualsF32 = refTokens.every((t, i) => t === greedy[i]);
    process.stderr.write(`  greedy bf16 ${greedy.join(' ')} / f32 ${refTokens.join(' ')}\n`);
  }
  return {
    weights: storage, modelBytes, estimatedModelBytes: e.weightsBytes + e.loraBytes, loadSeconds, hostBaseBytes: hostBase,
    hostAfterLoadBytes: hostAfterLoad, hostPeakBytes, steps, ...(kernels ? { kernels } : {}),
    ...(greedy ? { greedySeconds, greedyTokens: greedy, greedyEqualsF32, greedyPath: gpu.device.features.has('shader-f16') ? 'f16' as const : 'f32' as const } : {}),
    gpu: gpuSummary(gpu), software: gpu.isSoftware,
  };
}

/** Runs this script again as `--case MODEL STORAGE` in a new process (a fresh VmHWM) and parses its JSON line. */
function spawnCase(model: string, storage: WeightStorage): Promise<ScaleLive & { gpu: GpuSummary; software: boolean }> {
  const launcher = fileURLToPath(new URL('./run-gpu.mjs', import.meta.url));
  const child = spawn(process.execPath, [launcher, fileURLToPath(import.meta.url), '--case', model, storage], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve, reject) => child.on('close', (code) => {
    const line = out.trim().split('\n').pop() ?? '';
    if (code !== 0 || !line.startsWith('{')) reject(new Error(`${model} ${storage}: the case's process exited with ${code}`));
    else resolve(JSON.parse(line));
  }));
}

function option(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}

function chosen<T extends string>(value: string | undefined, all: readonly T[], what: string): T[] {
  if (value === undefined) return [...all];
  const picked = value.split(',').map((v) => all.find((a) => a.toLowerCase() === v.trim().toLowerCase()));
  if (picked.some((p) => p === undefined)) throw new Error(`${what}: one of ${all.join(', ')} (got ${value})`);
  return picked as T[];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const names = MODELS.map((m) => m.name);
  const readme = option(argv, '--readme');
  if (readme !== undefined) {
    const runs = readme.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as ScaleRun);
    const file = fileURLToPath(new URL('../README.md', import.meta.url));
    writeFileSync(file, replaceScaleSection(readFileSync(file, 'utf8'), scaleTables(runs)));
    return;
  }
  const at = argv.indexOf('--case');
  if (at >= 0) {
    const m = MODELS.find((x) => x.name === argv[at + 1])!;
    const storage = chosen(argv[at + 2], STORAGES, '--case storage')[0];
    process.stdout.write(`${JSON.stringify(await runCase(configFromHf(m.hf, `${m.name}/config.json`), storage))}\n`);
    return;
  }
  const liveMax = Number(option(argv, '--live-max-params') ?? 0.6e9);
  const models = chosen(option(argv, '--models'), names, '--models');
  const storages = chosen(option(argv, '--weights'), STORAGES, '--weights');
  const t0 = performance.now();
  const results = [];
  let adapter = 'none built';
  for (const m of MODELS.filter((x) => models.includes(x.name))) {
    const config = configFromHf(m.hf, `${m.name}/config.json`);
    const params = parameterCount(config);
    const modes = [];
    for (const weights of storages) {
      for (const checkpointing of [false, true]) {
        for (const [B, T] of BATCHES) {
          const e = estimateMemory(config, { training: true, loraRank: DEFAULT_LORA.rank, batchTokens: B * T, lora: LORA, checkpointing, weights });
          modes.push({ weights, checkpointing, batch: `${B}x${T}`, estimatedBytes: e.trainingBytes, estimatedGiB: gib(e.trainingBytes), weightsBytes: e.weightsBytes, pytorchPeftGiB: gib(pytorchBytes(config, weights, B * T, checkpointing)) });
        }
      }
    }
    const live = [];
    if (params <= liveMax) {
      for (const weights of storages) {
        const c0 = performance.now();
        const r = await spawnCase(m.name, weights);
        adapter = `${r.gpu.adapter}${r.software ? ' (software; its GPU memory is host memory)' : ''}`;
        live.push(r);
        process.stderr.write(`${m.name} ${weights}: ${gib(r.modelBytes)} GiB live, load ${r.loadSeconds} s, host peak ${gib(r.hostPeakBytes)} GiB, step ${r.steps.map((s) => `${s.seconds} s loss ${s.loss}`).join(' / ')}${r.greedyEqualsF32 === undefined ? '' : `, greedy = f32: ${r.greedyEqualsF32}`} (${seconds(c0)} s)\n`);
      }
    }
    results.push({ model: m.name, parameters: params, modes, live, liveNote: params <= liveMax ? 'model built on the GPU in each storage' : `estimate only: over --live-max-params ${liveMax}` });
  }
  const run: ScaleRun & Record<string, unknown> = {
    adapter,
    command: `npm run scale -- ${argv.join(' ')}`.trim(),
    wallSeconds: seconds(t0),
    lora: { rank: DEFAULT_LORA.rank, targets: DEFAULT_LORA.targetModules },
    stepTokens: `${STEP[0]}x${STEP[1]}`,
    note: 'estimatedBytes: src/model/memory-estimate.ts estimateMemory; live: one child process per model x storage: modelBytes the model built here, hostPeakBytes its VmHWM (runtime start-up and, on SwiftShader, GPU memory included; before the f32 reference of the greedy check is built), steps one LoRA step of stepTokens with checkpointing off then on from the same LoRA state (compileSeconds apart; liveBytes vs estimatedBytes at that size); pytorchPeftGiB: arithmetic, see scripts/scale.ts',
    results,
  };
  process.stdout.write(`${JSON.stringify(run, null, 1)}\n`);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
