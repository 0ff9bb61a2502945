// Decoding where the adapter is itself the CPU (a software adapter: SwiftShader, lavapipe): the one-dispatch step's
// pack (src/model/decode-pack.ts, LoRA folded in) is read back once per generation and each step runs in this thread
// (DecodeStepCpu, src/ops/decode-step.ts), sampled by sampleCpu.
//   decodeOnCpu(model, plan, capacity, sequences, maxBatch, opts, accept) → when every sequence is over
// Why: on a software adapter every load a shader makes is a per-lane gather. Measured on SwiftShader (2 cores): one
// workgroup reading the default model's head (37k weights) takes 125-200 µs whatever its size or layout, against
// 6 µs with the same arithmetic and no loads; the same step as JavaScript on the same core reads each weight once,
// sequentially, and runs ~5x faster than the kernel (scripts/bench-decode.ts: `engine` vs `engineFused`).
// Same results as the GPU paths: the sampler's rules are those sample.wgsl is tested against, each sequence draws
// from its own stream one draw per token (none when greedy), and the logits equal the kernel's to f32 rounding
// (float64 here). Sequences run step by step together (up to maxBatch at once, the others waiting), so their tokens
// stream interleaved as on the GPU; the thread yields every YIELD_MS so aborts and messages get through.
// Not here: choosing this path (batch.ts), stop checks and events (batch.ts passes `accept`).
import type { Transformer } from '../model/transformer';
import { packForDecodeStep, type DecodeStepPlan } from '../model/decode-pack';
import type { Rng } from '../model/random';
import { DecodeStepCpu, kvCacheSize } from '../ops/decode-step';
import { sampleCpu, type SamplingParams } from '../ops/sample';

/** What decoding reads and `accept` updates of a sequence. */
export interface CpuSequence {
  ids: number[];
  rng: Rng;
  tokens: number[];
  finishReason: string | null;
}

const YIELD_MS = 20;

export async function decodeOnCpu<S extends CpuSequence>(
  model: Transformer, plan: DecodeStepPlan, capacity: number, sequences: S[], maxBatch: number, opts: SamplingParams & { signal?: AbortSignal },
  accept: (s: S, token: number) => void,
): Promise<void> {
  const { gpu } = model;
  const V = model.config.vocabSize;
  const packed = packForDecodeStep(model, plan, capacity);
  let words: Uint32Array;
  try {
    words = new Uint32Array((await gpu.read(packed)).buffer);
  } finally {
    gpu.release(packed);
  }
  const step = new DecodeStepCpu(words, plan.kind, V);
  const logits = new Float32Array(V);
  const sampling = opts.temperature > 0;
  /** A sequence with its prompt but the last token in its cache: the next input and its position. */
  const start = (s: S) => {
    const kv = new Float32Array(kvCacheSize(plan.layout.dims, 1, capacity));
    const P = s.ids.length;
    for (let t = 0; t < P - 1; t++) step.step(kv, 1, 0, s.ids[t], t, null);
    return { s, kv, next: s.ids[P - 1], pos: P - 1 };
  };
  const waiting = [...sequences];
  let active: ReturnType<typeof start>[] = [];
  let since = performance.now();
  while (!(opts.signal?.aborted ?? false)) {
    while (active.length < maxBatch && waiting.length > 0) active.push(start(waiting.shift()!));
    if (active.length === 0) break;
    for (const a of active) {
      step.step(a.kv, 1, 0, a.next, a.pos, logits);
      const context = opts.repetitionPenalty !== 1 ? [...a.s.ids, ...a.s.tokens] : [];
      const token = sampleCpu(logits, opts, sampling ? a.s.rng.next() : 0, context);
      accept(a.s, token);
      a.next = token;
      a.pos++;
    }
    active = active.filter((a) => a.s.finishReason === null);
    if (performance.now() - since > YIELD_MS) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      since = performance.now();
    }
  }
}
