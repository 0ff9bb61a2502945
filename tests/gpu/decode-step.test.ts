// The one-dispatch decoding step (src/ops/decode-step.ts) against its float64 CPU reference on random packs of
// every block kind the families' recipes produce: RMSNorm with RoPE, grouped-query heads and SwiGLU (Llama); LayerNorm
// with biases, Conv1D weights [in, out] with one fused qkv matrix (its columns q | k | v), learned positions and the ungated tanh GELU (GPT-2); RMSNorm
// with weight offset 1, q/k norms, post-norms, GeGLU, an embedding scale and a sliding window on one layer (Gemma 3);
// a layer without RoPE beside one with it (SmolLM3). Gemma's MLP (gate and up, 2·96) needs more workgroup memory than
// its scores (2 heads × 40 keys). Sequences at different positions in one batch, one of them done:
// each live sequence's logits match the reference, its key and value rows land at its position of each layer's
// cache and nothing else in the cache changes, its token is the argmax of its logits (sample.wgsl, greedy) and its
// state moves on; the done slot keeps its cache and state but for out = NO_TOKEN and its step count.
// Tolerance: f32 dot products of length ≤ 96 and softmax over ≤ 40 keys through two layers against float64 on the
// same f32 weights: rtol 2e-4, atol 2e-4 on logits of magnitude ~1-10; cache rows rtol 1e-4, atol 1e-5.
import { describe, expect, it } from 'vitest';
import { VIEW_ALIGN } from '../../src/gpu/limits';
import {
  ABSENT, decodeStep, decodeStepCpu, decodeStepHeader, decodeStepHeaderWords, kvCacheSize,
  type DecodeLayerSlots, type DecodeStepKind, type DecodeStepLayout, type MatrixSlot, type NormSlot,
} from '../../src/ops/decode-step';
import { ropeInvFreq } from '../../src/ops/rope';
import { argmax, decodeStateStride, NO_TOKEN, STATE, STATE_SECTIONS } from '../../src/ops/sample';
import { expectClose, randn, rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';

interface Case {
  name: string;
  kind: DecodeStepKind;
  dims: { L: number; C: number; H: number; Hkv: number; D: number; F: number; V: number; maxPositions: number };
  fusedQkv?: boolean;
  biases?: boolean;
  positions?: boolean;
  embedScale?: number;
  headNorms?: boolean;
  postNorms?: boolean;
  /** Per layer: RoPE on, and its window (null = none). */
  rope: boolean[];
  windows?: (number | null)[];
  tied?: boolean;
}

const CASES: Case[] = [
  {
    name: 'Llama: RMSNorm, RoPE, GQA, SwiGLU', kind: { norm: 'rms', normOffset: 0, conv1d: false, gated: true, activation: 'silu' },
    dims: { L: 2, C: 32, H: 4, Hkv: 2, D: 8, F: 48, V: 70, maxPositions: 40 }, rope: [true, true], tied: true,
  },
  {
    name: 'GPT-2: LayerNorm, biases, Conv1D weights, one fused qkv matrix, learned positions, GELU', kind: { norm: 'layer', normOffset: 0, conv1d: true, gated: false, activation: 'gelu_tanh' },
    dims: { L: 2, C: 24, H: 3, Hkv: 3, D: 8, F: 64, V: 50, maxPositions: 40 }, fusedQkv: true, biases: true, positions: true, rope: [false, false], tied: true,
  },
  {
    name: 'Gemma 3: offset norms, q/k norms, post-norms, GeGLU, embedding scale, a sliding window', kind: { norm: 'rms', normOffset: 1, conv1d: false, gated: true, activation: 'gelu_tanh' },
    dims: { L: 2, C: 32, H: 2, Hkv: 1, D: 16, F: 96, V: 60, maxPositions: 40 }, headNorms: true, postNorms: true, embedScale: Math.fround(Math.sqrt(32)),
    rope: [true, true], windows: [4, null], tied: true,
  },
  {
    name: 'SmolLM3: a layer without RoPE, an untied head, biases', kind: { norm: 'rms', normOffset: 0, conv1d: false, gated: true, activation: 'silu' },
    dims: { L: 2, C: 16, H: 4, Hkv: 1, D: 4, F: 24, V: 90, maxPositions: 40 }, rope: [true, false], biases: true,
  },
];

/** A random pack for case c (weights ~U(-0.3, 0.3), norm weights 1 ± 0.2 around the offset) and its layout. */
function randomPack(c: Case, cap: number, seed: number): { words: Uint32Array; layout: DecodeStepLayout } {
  const { L, C, H, Hkv, D, F, V, maxPositions } = c.dims;
  const r = rng(seed);
  let size = Math.ceil(decodeStepHeaderWords(L) / VIEW_ALIGN) * VIEW_ALIGN;
  const entries: { at: number; data: Float32Array }[] = [];
  const place = (data: Float32Array) => { const at = size; entries.push({ at, data }); size += Math.ceil(data.length / VIEW_ALIGN) * VIEW_ALIGN; return at; };
  const uniform = (n: number, scale: number, centre = 0) => Float32Array.from({ length: n }, () => centre + (r() * 2 - 1) * scale);
  const weights = (n: number) => place(uniform(n, 0.3));
  const bias = (n: number) => (c.biases ? place(uniform(n, 0.1)) : ABSENT);
  const norm = (n: number): NormSlot => ({ weight: place(uniform(n, 0.2, 1 - c.kind.normOffset)), bias: c.kind.norm === 'layer' ? place(uniform(n, 0.1)) : ABSENT });
  const linear = (inF: number, outF: number): MatrixSlot => ({ at: weights(inF * outF), ld: c.kind.conv1d ? outF : inF, bias: bias(outF) });
  const qDim = H * D, kvDim = Hkv * D;
  const embed = weights(V * C);
  const layers = Array.from({ length: L }, (_, l): DecodeLayerSlots => {
    let q: MatrixSlot, k: MatrixSlot, v: MatrixSlot;
    if (c.fusedQkv) {
      const W = qDim + 2 * kvDim, m = linear(C, W);
      const col = (first: number) => ({ at: m.at + first, ld: W, bias: m.bias === ABSENT ? ABSENT : m.bias + first });
      [q, k, v] = [col(0), col(qDim), col(qDim + kvDim)];
    } else {
      [q, k, v] = [linear(C, qDim), linear(C, kvDim), linear(C, kvDim)];
    }
    return {
      attnNorm: norm(C), q, k, v, qNorm: c.headNorms ? norm(D) : null, kNorm: c.headNorms ? norm(D) : null, o: linear(qDim, C),
      postAttnNorm: c.postNorms ? norm(C) : null, mlpNorm: norm(C), gate: c.kind.gated ? linear(C, F) : null, up: linear(C, F), down: linear(F, C),
      postMlpNorm: c.postNorms ? norm(C) : null, invFreq: c.rope[l] ? place(ropeInvFreq(D, 10000 * (l + 1), null)) : null,
      window: c.windows?.[l] ?? null, scale: 1 / Math.sqrt(D) * (l + 1) / 2,
    };
  });
  const layout: DecodeStepLayout = {
    dims: c.dims, eps: 1e-5, embedScale: c.embedScale ?? 1, embed, positions: c.positions ? weights(maxPositions * C) : null,
    finalNorm: norm(C), head: c.tied ? embed : weights(V * C), layers,
  };
  const words = new Uint32Array(size);
  words.set(decodeStepHeader(layout, cap));
  const f = new Float32Array(words.buffer);
  for (const e of entries) f.set(e.data, e.at);
  return { words, layout };
}

describe('one-dispatch decoding step', () => {
  for (const c of CASES) {
    it(`${c.name}: logits, cache rows, tokens and state as the reference`, async () => {
      const gpu = await testGpu();
      const B = 4, cap = 40, { V } = c.dims;
      const pos = [0, 17, 39, 9], ids = [3, V - 1, 12, 5], done = [0, 0, 0, 1];
      const { words, layout } = randomPack(c, cap, 7);
      const kvBefore = randn(kvCacheSize(c.dims, B, cap), 8);
      const stride = decodeStateStride(B), st = new Uint32Array(STATE_SECTIONS * stride);
      for (let b = 0; b < B; b++) {
        st[STATE.ids * stride + b] = ids[b];
        st[STATE.pos * stride + b] = pos[b];
        st[STATE.left * stride + b] = 5;
        st[STATE.done * stride + b] = done[b];
      }
      const pack = gpu.fromU32([words.length], words, 'pack'), kv = gpu.fromArray([kvBefore.length], kvBefore, 'kv');
      const state = gpu.fromU32([st.length], st, 'state'), draws = gpu.zeros([B], 'draws'), stopIds = gpu.fromU32([1], [0], 'stopIds');
      const logits = gpu.zeros([B, V], 'logits');
      decodeStep(gpu, pack, kv, logits, { state, draws, stopIds, nStop: 0, seen: null }, c.kind, layout, B, cap, { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 });
      const want = decodeStepCpu(words, c.kind, kvBefore, B, V, ids, pos, done);
      const got = await gpu.read(logits), gotKv = await gpu.read(kv), gotState = await gpu.readU32(state);
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        expectClose(got.subarray(b * V, (b + 1) * V), want.logits.subarray(b * V, (b + 1) * V), { rtol: 2e-4, atol: 2e-4 }, `logits of sequence ${b}`);
      }
      expectClose(gotKv, want.kv, { rtol: 1e-4, atol: 1e-5 }, 'kv cache');
      const changed = gotKv.reduce((n, x, i) => n + (x !== kvBefore[i] ? 1 : 0), 0);
      expect(changed, 'only the live sequences\' new rows change').toBeLessThanOrEqual(3 * c.dims.L * 2 * c.dims.Hkv * c.dims.D);
      const section = (k: keyof typeof STATE) => Array.from(gotState.subarray(STATE[k] * stride, STATE[k] * stride + B));
      const tokens = [0, 1, 2].map((b) => argmax(want.logits.subarray(b * V, (b + 1) * V)));
      expect(section('out')).toEqual([...tokens, NO_TOKEN]);
      expect(section('ids')).toEqual([...tokens, ids[3]]);
      expect(section('pos')).toEqual([1, 18, 40, 9]);
      expect(section('step')).toEqual([1, 1, 1, 1]);
      gpu.release(pack, kv, state, draws, stopIds, logits);
    });
  }
});
