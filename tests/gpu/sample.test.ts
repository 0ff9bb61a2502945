// GPU sampling (src/ops/sample.ts) against its CPU reference, the rules the CPU sampler uses: greedy (ties to the
// lowest index), temperature, top-k, top-p, both, and the repetition penalty, on rows of random logits with
// duplicated values (ties in the order), for vocabularies smaller and larger than the workgroup, with the same
// draw on both sides. Tolerance: the same token, except where the draw lies within 1e-5 of a boundary between two
// tokens (f32 sums in another order on the GPU): then the CPU's token for a draw 1e-5 away must be the GPU's.
// And the decoding state each step advances: ids and out take the token, pos moves on, left counts down, a stop id
// or the last allowed token ends the sequence (pos kept), a done sequence gives NO_TOKEN and is left alone; and the
// draws of several steps written at once, each step taking the row its step count names.
import { describe, expect, it } from 'vitest';
import { decodeStateStride, NO_TOKEN, sampleCpu, sampleTokens, seenWords, STATE, STATE_SECTIONS, type SamplingParams } from '../../src/ops/sample';
import type { Gpu, Tensor } from '../../src/gpu/runtime';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

const OPTIONS: (SamplingParams & { name: string })[] = [
  { name: 'greedy', temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 },
  { name: 'greedy + penalty', temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1.5 },
  { name: 'temperature 1', temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 },
  { name: 'temperature 0.7, top-k 40', temperature: 0.7, topK: 40, topP: 1, repetitionPenalty: 1 },
  { name: 'top-p 0.9', temperature: 1.2, topK: 0, topP: 0.9, repetitionPenalty: 1 },
  { name: 'top-k 20 + top-p 0.8 + penalty 1.1', temperature: 0.9, topK: 20, topP: 0.8, repetitionPenalty: 1.1 },
  { name: 'top-k 1', temperature: 1, topK: 1, topP: 1, repetitionPenalty: 1 },
  { name: 'top-p 0', temperature: 1, topK: 0, topP: 0, repetitionPenalty: 1 },
];

/** Logits in [-4, 4) with every value of a few entries repeated elsewhere in the row (ties), and the row's context. */
function rows(B: number, V: number, seed: number): { logits: Float32Array; context: number[][] } {
  const r = rng(seed);
  const logits = new Float32Array(B * V);
  for (let i = 0; i < logits.length; i++) logits[i] = Math.fround((r() * 2 - 1) * 4);
  const context: number[][] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Math.min(8, V); t++) logits[b * V + Math.floor(r() * V)] = logits[b * V + Math.floor(r() * V)];
    // The row's best logit tied by a later index: greedy must take the first.
    let best = 0;
    for (let j = 1; j < V; j++) if (logits[b * V + j] > logits[b * V + best]) best = j;
    if (best + 1 < V) logits[b * V + V - 1] = logits[b * V + best];
    context.push(Array.from({ length: 6 }, () => Math.floor(r() * V)));
  }
  return { logits, context };
}

function stateTensor(gpu: Gpu, B: number, left: number[], done: number[] = []): Tensor {
  const s = decodeStateStride(B);
  const st = new Uint32Array(STATE_SECTIONS * s);
  for (let b = 0; b < B; b++) {
    st[STATE.pos * s + b] = 10 + b;
    st[STATE.left * s + b] = left[b];
    st[STATE.done * s + b] = done[b] ?? 0;
    st[STATE.ids * s + b] = 7;
  }
  return gpu.fromU32([STATE_SECTIONS * s], st, 'state');
}

function seenOf(context: number[][], V: number): Uint32Array {
  const w = seenWords(V), out = new Uint32Array(context.length * w);
  context.forEach((ids, b) => { for (const id of ids) out[b * w + (id >> 5)] |= 1 << (id & 31); });
  return out;
}

describe('GPU sampling', () => {
  for (const V of [10, 300, 1000]) for (const o of OPTIONS) {
    it(`picks the CPU reference's token: ${o.name}, V=${V}`, async () => {
      const gpu = await testGpu();
      const B = 6, trials = 5;
      const { logits, context } = rows(B, V, V + 1);
      const stopIds = gpu.fromU32([1], [0], 'stopIds');
      const r = rng(V * 7 + 3);
      let boundary = 0;
      for (let trial = 0; trial < trials; trial++) {
        const draws = Float32Array.from({ length: B }, () => Math.fround(r()));
        const l = gpu.fromArray([B, V], logits, 'logits'), d = gpu.fromArray([B], draws, 'draws');
        const state = stateTensor(gpu, B, Array(B).fill(100));
        const seen = o.repetitionPenalty !== 1 ? gpu.fromU32([B * seenWords(V)], seenOf(context, V), 'seen') : null;   // a step marks its token
        sampleTokens(gpu, l, state, d, stopIds, 0, seen, { B, V }, o);
        const out = await gpu.readU32(state);
        const s = decodeStateStride(B);
        for (let b = 0; b < B; b++) {
          const row = logits.subarray(b * V, (b + 1) * V);
          const want = sampleCpu(row, o, draws[b], context[b]);
          const got = out[STATE.out * s + b];
          if (got !== want) {
            boundary++;
            expect([sampleCpu(row, o, Math.max(0, draws[b] - 1e-5), context[b]), sampleCpu(row, o, draws[b] + 1e-5, context[b])], `row ${b} draw ${draws[b]}`).toContain(got);
          }
          expect(out[STATE.ids * s + b]).toBe(got);
        }
        gpu.release(l, d, state, seen);
      }
      expect(boundary).toBeLessThanOrEqual(1);
      gpu.release(stopIds);
    });
  }

  it('advances the decoding state: stop ids and the last allowed token end a sequence, a done one is left alone', async () => {
    const gpu = await testGpu();
    const B = 4, V = 50;
    const logits = new Float32Array(B * V);
    const argmaxOf = [3, 9, 17, 3];
    argmaxOf.forEach((j, b) => { logits[b * V + j] = 5; });
    const state = stateTensor(gpu, B, [5, 1, 5, 5], [0, 0, 0, 1]);
    const stopIds = gpu.fromU32([2], [17, 40], 'stopIds');
    const l = gpu.fromArray([B, V], logits, 'logits'), d = gpu.zeros([B], 'draws');
    sampleTokens(gpu, l, state, d, stopIds, 2, null, { B, V }, { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 });
    const s = decodeStateStride(B), st = await gpu.readU32(state);
    const section = (k: keyof typeof STATE) => Array.from(st.subarray(STATE[k] * s, STATE[k] * s + B));
    expect(section('out')).toEqual([3, 9, 17, NO_TOKEN]);
    expect(section('ids')).toEqual([3, 9, 17, 7]);
    expect(section('done')).toEqual([0, 1, 1, 1]);     // 1: its last token; 2: a stop id; 3: was done
    expect(section('pos')).toEqual([11, 11, 12, 13]);   // only a sequence that goes on moves
    expect(section('left')).toEqual([4, 0, 4, 5]);
    expect(section('step')).toEqual([1, 1, 1, 1]);     // every slot counts its steps, a done one too
    gpu.release(state, stopIds, l, d);
  });

  it('takes each step\'s draw from the row its step count names', async () => {
    const gpu = await testGpu();
    const B = 2, V = 3, rows = 3;
    const logits = Float32Array.from([0, 0, 0, 0, 0, 0]);     // uniform: draw d picks token floor(3d)
    const draws = gpu.fromArray([rows, B], [0.1, 0.9, 0.5, 0.1, 0.9, 0.5], 'draws');
    const state = stateTensor(gpu, B, [9, 9]), stopIds = gpu.fromU32([1], [99], 'stopIds');
    const picks: number[][] = [];
    for (let step = 0; step < 4; step++) {
      const l = gpu.fromArray([B, V], logits, 'logits');
      sampleTokens(gpu, l, state, draws, stopIds, 0, null, { B, V }, { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 });
      const st = await gpu.readU32(state), s = decodeStateStride(B);
      picks.push([st[STATE.out * s], st[STATE.out * s + 1]]);
      gpu.release(l);
    }
    expect(picks).toEqual([[0, 2], [1, 0], [2, 1], [0, 2]]);
    gpu.release(draws, state, stopIds);
  });

  it('the penalty marks each sampled token as seen', async () => {
    const gpu = await testGpu();
    const B = 2, V = 70;
    const logits = new Float32Array(B * V);
    logits[5] = 3; logits[6] = 2.5; logits[V + 64] = 1;
    const seen = gpu.zeros([B * seenWords(V)], 'seen');
    const state = stateTensor(gpu, B, [9, 9]), stopIds = gpu.fromU32([1], [0], 'stopIds');
    const opts = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 2 };
    const picks: number[] = [];
    for (let step = 0; step < 2; step++) {
      const l = gpu.fromArray([B, V], logits, 'logits'), d = gpu.zeros([B], 'draws');
      sampleTokens(gpu, l, state, d, stopIds, 0, seen, { B, V }, opts);
      picks.push((await gpu.readU32(state))[STATE.out * decodeStateStride(B)]);
      gpu.release(l, d);
    }
    expect(picks).toEqual([5, 6]);    // 3 / 2 = 1.5 < 2.5 once 5 is seen
    const bits = await gpu.readU32(seen);
    expect(bits[0]).toBe((1 << 5) | (1 << 6));
    expect(bits[seenWords(V) + 2]).toBe(1);   // sequence 1 took 64
    gpu.release(seen, state, stopIds);
  });
});
