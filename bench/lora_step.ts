// The LoRA training-step benchmark: forward + backward + AdamW tokens/s of one optimizer step on a fixed
// small Llama-shaped model, measured in the same page and on the same adapter as the matmul figures.
// scripts/bench.mjs puts the result under `loraStep` and runs the same step in PyTorch on the CPU beside it
// (scripts/bench_lora_torch.py, same config) for the ratio.
// `benchFirstStep` times what a user waits for after Start: building the model on the GPU, then the first
// optimizer step complete, on a fresh device (an empty pipeline cache), with and without Trainer.prepare.
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { initWeights, tinyConfig } from '../src/model/init';
import { Transformer } from '../src/model/transformer';
import { DEFAULT_TRAIN, Trainer } from '../src/train/trainer';
import loraBench from './lora_step.json';

export interface LoraStepResult {
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
function build(gpu: Gpu): { model: Transformer; trainer: Trainer } {
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
  const { model, trainer } = build(gpu);
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
  const { model, trainer } = build(gpu);
  const stepMs: number[] = [];
  for (let i = 0; i < b.warmup + b.timed; i++) {
    const t0 = performance.now();
    await trainer.step(); // reads the losses back: the step is complete when it returns
    if (i >= b.warmup) stepMs.push(performance.now() - t0);
  }
  model.destroy();
  const median = [...stepMs].sort((x, y) => x - y)[Math.floor(stepMs.length / 2)];
  return {
    config: { model: 'llama', hidden: b.hiddenSize, layers: b.numLayers, heads: `${b.numHeads}/${b.numKvHeads}`, vocab: b.vocabSize, batch: b.batch, seqLen: b.seqLen, rank: b.rank, targets: b.targets.join(','), includes: 'forward+backward+AdamW' },
    tokensPerSecond: (b.batch * b.seqLen) / (median / 1000),
    stepMs,
  };
}
