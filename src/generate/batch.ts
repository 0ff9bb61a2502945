// Batched generation on the GPU: N sequences decoded together by our Transformer, each with its own length, KV-cache
// rows, draws and stop state; sampling on the GPU (src/ops/sample.ts), so a step reads back one token id per
// sequence, never logits.
//
//   generateBatch(model, prompts: number[][], opts: { maxNewTokens, stopTokenIds, stopStrings, decode?, temperature,
//                 topK, topP, repetitionPenalty, seed, samplesPerPrompt?, maxBatch?, signal? }, onToken?)
//     → one { prompt, sample, tokens, text, finishReason } per sequence, prompt-major (prompt 0's samples first)
//
// How a step runs: the step (embedding → layers → head → sample) reads everything from GPU buffers (the tokens and
// positions the previous step's sampler wrote), so it is captured once (Gpu.capture: bind groups, uniforms and
// buffers made once per generation) and replayed each step. The host does not wait for a step's tokens before
// submitting the next ones: steps go in chunks (1, 2, 4, then CHUNK steps: one command buffer, one submit and one
// readback of every step's tokens), up to DEPTH chunks in flight while it reads back earlier ones, checks stop
// strings and streams tokens. Each hand-off between the host and the GPU's queue costs scheduling latency (on a
// software adapter, a switch between threads), so a chunk pays it once for several tokens. The GPU ends a sequence
// itself at a stop token or its last allowed token (it is then masked: its slot computes but changes nothing); a
// stop string, found on the host, ends it a chunk or two later on the GPU and the tokens after it are dropped. A
// finished sequence leaves its slot to the next waiting one (its prompt prefilled into that slot's cache rows), so
// maxBatch slots serve any number of sequences.
//
// Same results as one sequence at a time: each sequence draws from its own stream, one draw per token (none when
// greedy): Rng(seed) for a prompt's first sample, derived seeds for its others (sequenceSeed), so a prompt answers
// the same alone or in any batch (a caller whose prompts must not share streams, GRPO's, gives each its own seed),
// and with N = 1 this is the single-sequence path (generate.ts uses it for our Transformer). The prompt's last token
// goes through the decoding step (the prefill covers the tokens before it).
// On a software adapter a small f32 model decodes on the CPU instead, from the one-dispatch step's pack
// (cpu-decode.ts: the emulator's per-lane loads make our kernels slower there than the same arithmetic in this thread),
// with the same sampler rules, draws, stops and events.
// Not here: chat templates and tokenizing (callers pass ids), the ONNX decoder (generate.ts, on the CPU sampler).
import type { Gpu, Program, Tensor } from '../gpu/runtime';
import { recipeOf } from '../model/arch';
import type { ModelConfig } from '../model/config';
import { decodeStepPlan, packForDecodeStep, type DecodeStepPlan } from '../model/decode-pack';
import { Rng } from '../model/random';
import type { KvCache, Transformer } from '../model/transformer';
import { decodeStep, kvCacheOffset, kvCacheSize } from '../ops/decode-step';
import { decodeOnCpu } from './cpu-decode';
import { decodeStateStride, NO_TOKEN, sampleTokens, seenWords, STATE, STATE_SECTIONS, type DecodingState } from '../ops/sample';
import type { SamplingOptions } from './sampler';

export type FinishReason = 'stop-token' | 'stop-string' | 'length';

export interface BatchOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Token ids that end a sequence (EOS, the chat template's end of turn); the stop token is the last of `tokens`. */
  stopTokenIds: number[];
  /** Texts that end a sequence; its text is cut before the first one. Needs `decode`. */
  stopStrings: string[];
  /** Turns ids into text, for stop strings and streaming (the tokenizer's decode). */
  decode?: (ids: number[]) => string;
  /** Answers per prompt (default 1), each its own sequence with its own draws. */
  samplesPerPrompt?: number;
  /** Each prompt's seed in place of `seed` (default: `seed` for all: a prompt answers the same alone or in any batch). */
  promptSeeds?: number[];
  /** Sequences decoded at once (default 32); the others wait for a slot. */
  maxBatch?: number;
  /** Aborting stops at the next step; each sequence keeps what it has (finishReason null if unfinished). */
  signal?: AbortSignal;
  /**
   * How a step runs: 'fused', the whole model in one dispatch where decodeStepPlan allows it (a small f32 model, a
   * few sequences), else kernel by kernel; 'layers', kernel by kernel; 'cpu', the one-dispatch step's arithmetic
   * on the CPU (cpu-decode.ts; a small f32 model, any number of sequences). 'auto' (default): 'cpu' on a software
   * adapter where the model allows it (cpu-decode.ts says why), else 'fused'. Tests and the benchmark compare them.
   */
  stepPath?: 'auto' | 'fused' | 'cpu' | 'layers';
}

export interface SequenceResult {
  prompt: number;
  sample: number;
  tokens: number[];
  text: string;
  finishReason: FinishReason | null;
}

/** One new token of one sequence; `text` is the sequence's whole text so far (cut at a stop string). */
export interface TokenEvent {
  /** Index of the sequence in the result. */
  sequence: number;
  prompt: number;
  sample: number;
  token: number;
  text: string;
  done: boolean;
  finishReason: FinishReason | null;
}

/** Chunks of steps in flight, and the most steps in one chunk. */
const DEPTH = 2;
const CHUNK = 8;
const DEFAULT_MAX_BATCH = 32;

/**
 * Most new tokens a prompt of `promptLength` may get: maxNewTokens, or fewer where the model's positions end (a
 * learned position table, GPT-2's, ends at maxPositions: a prompt that fills it is refused; RoPE models may go one
 * token past a long prompt).
 */
export function newTokenLimit(config: ModelConfig, promptLength: number, maxNewTokens: number): number {
  if (recipeOf(config).positions !== null && promptLength >= config.maxPositions) {
    throw new Error(`prompt of ${promptLength} tokens leaves no room under the model's ${config.maxPositions} positions`);
  }
  return Math.min(maxNewTokens, Math.max(1, config.maxPositions - promptLength + 1));
}

/** The CPU step's plan where 'auto' takes it (cpu-decode.ts): on a software adapter, for a model the step takes; else null. */
export function cpuStepPlan(model: Transformer, capacity = model.config.maxPositions): DecodeStepPlan | null {
  return model.gpu.isSoftware ? decodeStepPlan(model, 1, capacity, 'cpu') : null;
}

/** The draw stream of a prompt's sample g: the generation's seed for the first, decorrelated seeds after it. */
export function sequenceSeed(seed: number, g: number): number {
  return (seed + Math.imul(g, 0x9e3779b9)) >>> 0;
}

interface Sequence extends SequenceResult {
  /** Its place in the result. */
  index: number;
  ids: number[];
  rng: Rng;
  /** Most tokens it may make (newTokenLimit). */
  limit: number;
  /** Steps submitted while it held a slot. */
  submitted: number;
}

export async function generateBatch(
  model: Transformer, prompts: number[][], opts: BatchOptions, onToken: (e: TokenEvent) => void = () => {},
): Promise<SequenceResult[]> {
  const G = opts.samplesPerPrompt ?? 1;
  if (!Number.isInteger(G) || G < 1) throw new Error(`generateBatch: samplesPerPrompt ${G} must be a whole number ≥ 1`);
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new Error(`generateBatch: maxNewTokens ${opts.maxNewTokens} must be a whole number ≥ 0`);
  const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`generateBatch: maxBatch ${maxBatch} must be a whole number ≥ 1`);
  if (opts.promptSeeds && opts.promptSeeds.length !== prompts.length) throw new Error(`generateBatch: ${opts.promptSeeds.length} prompt seeds for ${prompts.length} prompts`);
  const { config } = model;
  const seqs: Sequence[] = prompts.flatMap((ids, p) => {
    if (ids.length === 0) throw new Error(`generate: prompt ${p} is empty`);
    for (const id of ids) if (!(Number.isInteger(id) && id >= 0 && id < config.vocabSize)) throw new Error(`generate: prompt ${p} has token ${id} outside the vocabulary of ${config.vocabSize}`);
    const limit = newTokenLimit(config, ids.length, opts.maxNewTokens);
    return Array.from({ length: G }, (_, g) => ({
      index: p * G + g, prompt: p, sample: g, ids, rng: new Rng(sequenceSeed(opts.promptSeeds?.[p] ?? opts.seed, g)), limit, submitted: 0, tokens: [], text: '', finishReason: null,
    }));
  });
  const results = (): SequenceResult[] => seqs.map(({ prompt, sample, tokens, text, finishReason }) => ({ prompt, sample, tokens, text, finishReason }));
  const live = seqs.filter((s) => s.limit > 0);
  if (live.length === 0) return results();
  const capacity = Math.max(...live.map((s) => s.ids.length + s.limit - 1));
  const path = opts.stepPath ?? 'auto';
  const cpu = path === 'cpu' ? decodeStepPlan(model, 1, capacity, 'cpu') : path === 'auto' ? cpuStepPlan(model, capacity) : null;
  if (path === 'cpu' && !cpu) throw new Error('generateBatch: the CPU step takes a small model with f32 weights (decodeStepPlan)');
  if (cpu) {
    await decodeOnCpu(model, cpu, capacity, live, maxBatch, opts, (s, token) => accept(s, token, opts, onToken));
    return results();
  }
  const batch = await DecodeBatch.create(model, Math.min(maxBatch, live.length, slotsThatFit(model, capacity)), capacity, opts);
  try {
    await batch.run(live, opts, onToken);
  } finally {
    batch.destroy();
  }
  return results();
}

/**
 * Most slots whose per-layer tensors fit one storage binding: the KV cache [B, capacity, Hkv·D], the attention
 * scores [B, H, capacity] and the logits [B, V] (at least 1: a single sequence that does not fit fails as it would alone).
 */
function slotsThatFit(model: Transformer, capacity: number): number {
  const c = model.config;
  const row = Math.max(capacity * c.numKvHeads * c.headDim, c.numHeads * capacity, c.vocabSize) * 4;
  return Math.max(1, Math.floor(model.gpu.device.limits.maxStorageBufferBindingSize / row));
}

/** The GPU side of one generation: the KV cache, the decoding state, and the captured step. */
class DecodeBatch {
  private readonly gpu: Gpu;
  private readonly stride: number;
  /** The layer-by-layer step's cache, or (one-dispatch step) the pack and its kv [L, 2, B, cap, Hkv·D]. */
  private readonly cache: KvCache | null = null;
  private readonly fused: { plan: DecodeStepPlan; pack: Tensor; kv: Tensor } | null = null;
  private readonly capacity: number;
  private readonly state: Tensor;    // u32 [STATE_SECTIONS, stride] (src/ops/sample.ts)
  private readonly draws: Tensor;    // f32 [CHUNK, B]: row k holds the draws of the steps with step % CHUNK = k
  private readonly tokens: Tensor;   // u32 [CHUNK, B]: the tokens of a chunk's steps, read back together
  private readonly stopIds: Tensor;  // u32 [max(n, 1)]
  private readonly seen: Tensor | null;   // u32 [B, seenWords(V)] when a repetition penalty applies
  private step: Program | null = null;
  private readonly sampling: boolean;

  /**
   * The batch with its step captured. A dry run of the step first (recordPipelines) builds the tables kernels cache
   * (RoPE frequencies) outside the capture and compiles the step's pipelines in parallel.
   */
  static async create(model: Transformer, B: number, capacity: number, opts: BatchOptions): Promise<DecodeBatch> {
    const batch = new DecodeBatch(model, B, capacity, opts);
    try {
      const { gpu } = model;
      await gpu.preparePipelines(await gpu.recordPipelines(batch.stepCommands));
      batch.step = gpu.capture('decode.step', batch.stepCommands);
    } catch (e) {
      batch.destroy();
      throw e;
    }
    return batch;
  }

  private readonly stepCommands: () => void;

  private constructor(private readonly model: Transformer, readonly B: number, capacity: number, opts: BatchOptions) {
    const gpu = this.gpu = model.gpu;
    const V = model.config.vocabSize;
    this.capacity = capacity;
    this.stride = decodeStateStride(B);
    this.sampling = opts.temperature > 0;
    this.state = gpu.zeros([STATE_SECTIONS * this.stride], 'decode.state');
    this.draws = gpu.zeros([CHUNK, B], 'decode.draws');
    this.tokens = gpu.zeros([CHUNK, B], 'decode.tokens');
    this.stopIds = gpu.fromU32([Math.max(1, opts.stopTokenIds.length)], opts.stopTokenIds.length ? opts.stopTokenIds : [0], 'decode.stopIds');
    this.seen = opts.repetitionPenalty !== 1 ? gpu.zeros([B * seenWords(V)], 'decode.seen') : null;
    // Every slot starts done, so a slot with no sequence is masked from the first step.
    gpu.writeU32(this.state, new Uint32Array(B).fill(1), STATE.done * this.stride);
    const decoding: DecodingState = { state: this.state, draws: this.draws, stopIds: this.stopIds, nStop: opts.stopTokenIds.length, seen: this.seen };
    const plan = opts.stepPath !== 'layers' ? decodeStepPlan(model, B, capacity) : null;
    if (plan) {
      const fused = this.fused = { plan, pack: packForDecodeStep(model, plan, capacity), kv: gpu.tensor([kvCacheSize(plan.layout.dims, B, capacity)], 'decode.kv') };
      this.stepCommands = () => {
        const logits = gpu.tensor([B, V], 'logits');
        decodeStep(gpu, fused.pack, fused.kv, logits, decoding, plan.kind, plan.layout, B, capacity, opts);
        gpu.release(logits);
      };
      return;
    }
    const cache = this.cache = model.createCache(B, capacity);
    const ids = gpu.view(this.state, STATE.ids * this.stride, [B], 'decode.ids');
    const pos = gpu.view(this.state, STATE.pos * this.stride, [B], 'decode.pos');
    this.stepCommands = () => {
      const logits = model.decodeLogits(ids, pos, cache);
      sampleTokens(gpu, logits, decoding, { B, V }, opts);
      gpu.release(logits);
    };
  }

  /** Where slot b's keys (or values) of layer l start: its tensor and element offset. */
  private cacheRows(l: number, values: boolean, b: number): [Tensor, number] {
    const c = this.model.config;
    if (this.fused) return [this.fused.kv, kvCacheOffset({ Hkv: c.numKvHeads, D: c.headDim }, this.B, this.capacity, l, values, b)];
    return [(values ? this.cache!.v : this.cache!.k)[l], b * this.capacity * c.numKvHeads * c.headDim];
  }

  /** Puts sequence s in slot b: its prompt but the last token prefilled into the slot's cache rows, its state reset. */
  private fill(b: number, s: Sequence): void {
    const { gpu, model } = this;
    const P = s.ids.length;
    if (P > 1) {
      const one = model.createCache(1, P - 1);
      model.prefill(s.ids.slice(0, -1), one);
      const w = model.config.numKvHeads * model.config.headDim;
      for (let l = 0; l < one.k.length; l++) {
        for (const values of [false, true]) {
          const [dst, at] = this.cacheRows(l, values, b);
          gpu.copy((values ? one.v : one.k)[l], dst, (P - 1) * w, 0, at);
        }
      }
      model.releaseCache(one);
    }
    const at = (section: number) => section * this.stride + b;
    gpu.writeU32(this.state, [s.ids[P - 1]], at(STATE.ids));
    gpu.writeU32(this.state, [P - 1], at(STATE.pos));
    gpu.writeU32(this.state, [s.limit], at(STATE.left));
    gpu.writeU32(this.state, [0], at(STATE.done));
    if (this.seen) {
      const words = seenWords(model.config.vocabSize), bits = new Uint32Array(words);
      for (const id of s.ids) bits[id >>> 5] |= 1 << (id & 31);
      gpu.writeU32(this.seen, bits, b * words);
    }
  }

  /** Tells the GPU that slot b's sequence is over (a stop string), so it stops advancing it. */
  private end(b: number): void {
    this.gpu.writeU32(this.state, [1], STATE.done * this.stride + b);
  }

  async run(live: Sequence[], opts: BatchOptions, onToken: (e: TokenEvent) => void): Promise<void> {
    const { gpu, B } = this;
    const waiting = [...live];
    const owner: (Sequence | null)[] = Array(B).fill(null);
    for (let b = 0; b < B; b++) this.fill(b, owner[b] = waiting.shift()!);
    const out = gpu.view(this.state, STATE.out * this.stride, [B], 'decode.out');
    const inflight: { tokens: Promise<Float32Array>; steps: number; owners: (Sequence | null)[] }[] = [];
    const wants = (s: Sequence | null) => s !== null && s.finishReason === null && s.submitted < s.limit;
    const draws = new Float32Array(CHUNK * B);
    let steps = 0, chunks = 0;   // replayed so far: every slot's step count (sample.wgsl)
    try {
      for (;;) {
        const aborted = opts.signal?.aborted ?? false;
        const remaining = Math.max(0, ...owner.map((s) => (wants(s) ? s!.limit - s!.submitted : 0)));
        if (!aborted && inflight.length < DEPTH && remaining > 0) {
          const n = Math.min(CHUNK, 2 ** chunks++, remaining);
          for (let k = 0; k < n; k++) {
            const row = (steps + k) % CHUNK;
            for (let b = 0; b < B; b++) {
              const s = owner[b];
              if (!wants(s)) continue;
              if (this.sampling) draws[row * B + b] = s!.rng.next();
              s!.submitted++;
            }
          }
          if (this.sampling) gpu.write(this.draws, draws);
          for (let k = 0; k < n; k++) {
            gpu.replay(this.step!);
            gpu.copy(out, this.tokens, B, 0, k * B);
          }
          steps += n;
          inflight.push({ tokens: gpu.read(this.tokens, n * B), steps: n, owners: [...owner] });
          continue;
        }
        const next = inflight.shift();
        if (!next) break;
        const tokens = new Uint32Array((await next.tokens).buffer);
        for (let k = 0; k < next.steps; k++) for (let b = 0; b < B; b++) {
          const s = next.owners[b], token = tokens[k * B + b];
          if (!s || s.finishReason !== null || token === NO_TOKEN) continue;
          accept(s, token, opts, onToken);
          if (s.finishReason === null || owner[b] !== s) continue;
          if (s.finishReason === 'stop-string') this.end(b);
          owner[b] = waiting.shift() ?? null;
          if (owner[b]) this.fill(b, owner[b]!);
        }
      }
    } finally {
      await Promise.allSettled(inflight.map((f) => f.tokens));
    }
  }

  destroy(): void {
    const { gpu } = this;
    if (this.step) gpu.dispose(this.step);
    if (this.cache) this.model.releaseCache(this.cache);
    gpu.release(this.state, this.draws, this.tokens, this.stopIds, this.seen, this.fused?.pack, this.fused?.kv);
  }
}

/** Takes sequence s's next token: its stop checks and its event. */
function accept(s: Sequence, token: number, opts: BatchOptions, onToken: (e: TokenEvent) => void): void {
  s.tokens.push(token);
  const stopToken = opts.stopTokenIds.includes(token);
  const text = opts.decode ? opts.decode(stopToken ? s.tokens.slice(0, -1) : s.tokens) : '';
  const stopString = opts.stopStrings.find((x) => x && text.includes(x));
  s.text = stopString ? text.slice(0, text.indexOf(stopString)) : text;
  s.finishReason = stopToken ? 'stop-token' : stopString ? 'stop-string' : s.tokens.length >= s.limit ? 'length' : null;
  onToken({ sequence: s.index, prompt: s.prompt, sample: s.sample, token, text: s.text, done: s.finishReason !== null, finishReason: s.finishReason });
}
