// The LoRA training-step benchmark: forward + backward + AdamW tokens/s of one optimizer step on a fixed
// small Llama-shaped model, measured in the same page and on the same adapter as the matmul figures.
// scripts/bench.mjs puts the result under `loraStep` and runs the same step in PyTorch on the CPU beside it
// (scripts/bench_lora_torch.py, same config) for the ratio.
import type { Gpu } from '../src/gpu/runtime';
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

export async function benchLoraStep(gpu: Gpu): Promise<LoraStepResult | null> {
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
