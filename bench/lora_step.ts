// The LoRA training-step benchmark: forward + backward + AdamW tokens/s of one optimizer step on a fixed
// small Llama-shaped model, measured in the same page and on the same adapter as the matmul figures.
// scripts/bench.mjs puts the result under `loraStep` and runs the same step in PyTorch on the CPU beside it
// (scripts/bench_lora_torch.py, same config) for the ratio.
// `benchFirstStep` times what a user waits for after Start: building the model on the GPU, then the first
// optimizer step complete, on a fresh device (an empty pipeline cache), with and without Trainer.prepare.
// `benchLoraShapes` takes LoRA steps of 1×128 tokens at public models' shapes (scripts/model-shapes.ts, random bf16
// weights held bf16 as a checkpoint loads) and reports tokens/s and model FLOP utilisation: model FLOPs per token
// (loraFlopsPerToken) × tokens/s against a peak the caller gives (the device's, or the best matmul of the run).
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { configFromHf, expectedWeights, weightTable } from '../src/model/arch';
import type { ModelConfig } from '../src/model/config';
import { initWeights, tinyConfig } from '../src/model/init';
import { DEFAULT_LORA, type LoraConfig } from '../src/model/lora';
import { Transformer } from '../src/model/transformer';
import { bf16ToF32 } from '../src/ops/half';
import { MODELS, randomBf16 } from '../scripts/model-shapes';
import { DEFAULT_TRAIN, Trainer } from '../src/train/trainer';
import loraBench from './lora_step.json';

export interface LoraStepResult {
  /** Model FLOPs of one token's forward + backward (loraFlopsPerToken). */
  flopsPerToken: number;
  /** The model and batch geometry measured. */
  config: Record<string, string | number>;
  /** Tokens processed per second over forward + backward + optimizer step. */
  tokensPerSecond: number;
  /** Milliseconds per step, each timed run. */
  stepMs: number[];
}

/** The fixed model and batch, read by scripts/bench.mjs for the PyTorch peer too. */
export const LORA_BENCH = loraBench;

/** The bench model on `gpu` and a trainer over its fixed batch. */
export function buildLoraBench(gpu: Gpu): { model: Transformer; trainer: Trainer } {
  const b = LORA_BENCH;
  const config = tinyConfig('llama', {
    hiddenSize: b.hiddenSize, intermediateSize: b.intermediateSize, numLayers: b.numLayers, numHeads: b.numHeads,
    numKvHeads: b.numKvHeads, headDim: b.headDim, vocabSize: b.vocabSize, maxPositions: b.seqLen + 1, tieWordEmbeddings: false,
  });
  const model = new Transformer(gpu, config, initWeights(config, 1), {
    kind: 'lora', lora: { rank: b.rank, alpha: b.alpha, dropout: 0, useRslora: false, targetModules: [...b.targets] },
  });
  const examples = Array.from({ length: b.batch }, (_, i) => {
    const inputIds = Array.from({ length: b.seqLen + 1 }, (_, t) => (i * 131 + t * 17) % b.vocabSize);
    return { inputIds, lossMask: inputIds.map(() => 1) };
  });
  const trainer = new Trainer(model, examples, { ...DEFAULT_TRAIN, maxSteps: b.warmup + b.timed, batchSize: b.batch, maxSeqLength: b.seqLen, shuffle: false });
  return { model, trainer };
}

export interface FirstStepTiming {
  /** Milliseconds from start to the first step complete: build + prepare + step. */
  totalMs: number;
  /** Weights and LoRA tables onto the GPU. */
  buildMs: number;
  /** Trainer.prepare (0 when not used): the dry run and the parallel compile. */
  prepareMs: number;
  /** The first step itself (it compiles what prepare did not). */
  stepMs: number;
  /** The second step, for comparison: what the first costs beyond a warm step. */
  secondStepMs: number;
  /** Pipelines compiled in prepare, and during the first step. */
  pipelinesPrepared: number;
  pipelinesInStep: number;
}

/** One start on a fresh device: with `prepare`, Trainer.prepare runs between building and the first step. */
async function firstStep(prepare: boolean): Promise<FirstStepTiming> {
  const gpu = await createGpu();
  const t0 = performance.now();
  const { model, trainer } = buildLoraBench(gpu);
  await gpu.sync();
  const t1 = performance.now();
  const pipelinesPrepared = prepare ? await trainer.prepare() : 0;
  const t2 = performance.now();
  const before = gpu.stats.pipelinesCreated;
  await trainer.step();
  const t3 = performance.now();
  const pipelinesInStep = gpu.stats.pipelinesCreated - before;
  await trainer.step();
  const t4 = performance.now();
  model.destroy();
  gpu.destroy();
  gpu.device.destroy();
  const ms = (x: number) => +x.toFixed(1);
  return { totalMs: ms(t3 - t0), buildMs: ms(t1 - t0), prepareMs: ms(t2 - t1), stepMs: ms(t3 - t2), secondStepMs: ms(t4 - t3), pipelinesPrepared, pipelinesInStep };
}

/**
 * Start to first step, without and with Trainer.prepare, `rounds` times each, alternating (a fresh device each
 * time; alternation also shows whether the browser carries compiled shaders from one device to the next).
 */
export async function benchFirstStep(rounds = 2): Promise<{ withoutPrepare: FirstStepTiming[]; withPrepare: FirstStepTiming[] }> {
  const out = { withoutPrepare: [] as FirstStepTiming[], withPrepare: [] as FirstStepTiming[] };
  for (let r = 0; r < rounds; r++) {
    out.withoutPrepare.push(await firstStep(false));
    out.withPrepare.push(await firstStep(true));
  }
  return out;
}

export async function benchLoraStep(gpu: Gpu): Promise<LoraStepResult | null> {
  const b = LORA_BENCH;
  const { model, trainer } = buildLoraBench(gpu);
  const stepMs: number[] = [];
  for (let i = 0; i < b.warmup + b.timed; i++) {
    const t0 = performance.now();
    await trainer.step(); // reads the losses back: the step is complete when it returns
    if (i >= b.warmup) stepMs.push(performance.now() - t0);
  }
  model.destroy();
  const median = [...stepMs].sort((x, y) => x - y)[Math.floor(stepMs.length / 2)];
  const config = tinyConfig('llama', {
    hiddenSize: b.hiddenSize, intermediateSize: b.intermediateSize, numLayers: b.numLayers, numHeads: b.numHeads,
    numKvHeads: b.numKvHeads, headDim: b.headDim, vocabSize: b.vocabSize, maxPositions: b.seqLen + 1, tieWordEmbeddings: false,
  });
  const flopsPerToken = loraFlopsPerToken(config, { rank: b.rank, targetModules: [...b.targets] }, b.seqLen);
  return {
    flopsPerToken,
    config: { model: 'llama', hidden: b.hiddenSize, layers: b.numLayers, heads: `${b.numHeads}/${b.numKvHeads}`, vocab: b.vocabSize, batch: b.batch, seqLen: b.seqLen, rank: b.rank, targets: b.targets.join(','), includes: 'forward+backward+AdamW' },
    tokensPerSecond: (b.batch * b.seqLen) / (median / 1000),
    stepMs,
  };
}

/**
 * Model FLOPs per token of a LoRA training step (forward + backward), counted as training-FLOP estimates do: each
 * frozen matmul weight 2 FLOPs forward and 2 for its input gradient (no weight gradient), the head included (an
 * embedding gather is free); causal attention 2·H·D·T forward (QKᵀ and PV over T/2 keys on average) and twice that
 * backward; each LoRA pair 6·r·(in + out). Norms, activations and the optimizer are left out (they are small).
 */
export function loraFlopsPerToken(config: ModelConfig, lora: Pick<LoraConfig, 'rank' | 'targetModules'>, seqLen: number): number {
  const table = weightTable(config);
  const matmulWeights = table.filter((w) => w.kind === 'linear').reduce((n, w) => n + w.shape[0] * w.shape[1], 0) + config.vocabSize * config.hiddenSize;
  const attention = config.numLayers * 6 * config.numHeads * config.headDim * seqLen;
  const targets = new Set(lora.targetModules);
  const adapters = table.filter((w) => w.kind === 'linear' && targets.has(w.name.split('.').at(-2) ?? ''))
    .reduce((n, w) => n + 6 * lora.rank * (w.shape[0] + w.shape[1]), 0);
  return 4 * matmulWeights + attention + adapters;
}

export interface LoraShapeResult {
  model: string;
  parameters: number;
  tokens: string;
  stepMs: number[];
  tokensPerSecond: number;
  flopsPerToken: number;
  /** Model FLOP/s achieved: flopsPerToken × tokens/s. */
  achievedGflops: number;
  /** achievedGflops / the peak given (null without one). */
  mfu: number | null;
  loss: number;
}

/** The step each shape takes: 1×128 tokens, LoRA r = 8 on q/k/v/o, two warm-up steps then three timed. */
const SHAPE_STEP = { batch: 1, seqLen: 128, warmup: 2, timed: 3 };

/** A LoRA model of a public shape with random bf16 weights held bf16 (as a checkpoint loads), and its trainer. */
function buildShape(gpu: Gpu, config: ModelConfig): { model: Transformer; trainer: Trainer } {
  const shapes = expectedWeights(config);
  const model = new Transformer(gpu, config, new Map([...shapes].map(([n, shape]) => [n, { shape, data: null }])), { kind: 'lora', lora: DEFAULT_LORA }, 0, {}, 'bf16');
  let seed = 1;
  for (const [name, shape] of shapes) {
    const bits = randomBf16(shape.reduce((a, b) => a * b, 1), seed++, shape.length === 2 ? 0.02 : 1);
    model.params.writeHalf(name, 'BF16', bits, () => bf16ToF32(bits));
  }
  const { batch, seqLen, warmup, timed } = SHAPE_STEP;
  const examples = Array.from({ length: batch }, (_, i) => {
    const inputIds = Array.from({ length: seqLen + 1 }, (_, t) => (i * 7919 + t * 13 + 1) % config.vocabSize);
    return { inputIds, lossMask: inputIds.map(() => 1) };
  });
  const trainer = new Trainer(model, examples, { ...DEFAULT_TRAIN, maxSteps: warmup + timed, batchSize: batch, maxSeqLength: seqLen, shuffle: false });
  return { model, trainer };
}

/** LoRA steps at each named shape (MODELS), one model at a time; `peakGflops` for the utilisation, or null. */
export async function benchLoraShapes(gpu: Gpu, names: string[], peakGflops: number | null): Promise<LoraShapeResult[]> {
  const out: LoraShapeResult[] = [];
  for (const name of names) {
    const hf = MODELS.find((m) => m.name === name)?.hf;
    if (!hf) throw new Error(`no model shape ${name}`);
    const config = configFromHf(hf, `${name}/config.json`);
    const { model, trainer } = buildShape(gpu, config);
    await trainer.prepare();
    const stepMs: number[] = [];
    let loss = NaN;
    for (let i = 0; i < SHAPE_STEP.warmup + SHAPE_STEP.timed; i++) {
      const t0 = performance.now();
      loss = (await trainer.step()).loss;
      if (i >= SHAPE_STEP.warmup) stepMs.push(Number((performance.now() - t0).toFixed(1)));
    }
    model.destroy();
    gpu.trimPool();
    const median = [...stepMs].sort((x, y) => x - y)[Math.floor(stepMs.length / 2)];
    const tokensPerSecond = (SHAPE_STEP.batch * SHAPE_STEP.seqLen) / (median / 1000);
    const flopsPerToken = loraFlopsPerToken(config, DEFAULT_LORA, SHAPE_STEP.seqLen);
    const achievedGflops = (flopsPerToken * tokensPerSecond) / 1e9;
    out.push({
      model: name, parameters: weightTable(config).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0), tokens: `${SHAPE_STEP.batch}x${SHAPE_STEP.seqLen}`,
      stepMs, tokensPerSecond: Number(tokensPerSecond.toFixed(2)), flopsPerToken, achievedGflops: Number(achievedGflops.toFixed(3)),
      mfu: peakGflops ? Number((achievedGflops / peakGflops).toFixed(4)) : null, loss,
    });
  }
  return out;
}
