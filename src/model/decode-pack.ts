// A small model's weights packed for the one-dispatch decoding step (src/ops/decode-step.ts), from its recipe, so
// every family takes it: one buffer holding the step's header (decodeStepHeader), each weight the recipe names once
// (a tied head is the embedding), each RoPE layer's inverse frequencies, with every LoRA product folded into its
// base matrix (W + s·B·A: decoding has no dropout; skipped while the adapter is switched off).
//   decodeStepPlan(model, B, capacity) → the layout and the pack's size, or null when the step does not apply
//   packForDecodeStep(model, plan, cap) → the pack tensor (GPU copies and, per LoRA linear, one matmul; release it)
// When it applies: the weights are f32 (16-bit and quantised storage stay on the layer-by-layer path), a
// sequence's activations fit the workgroup (decodeStepFits), the cache of every layer fits one storage binding, and
// the model and the batch are small (DECODE_STEP_MAX_WEIGHTS, DECODE_STEP_MAX_BATCH): each workgroup reads every
// weight once per token, which pays while a dispatch costs more than that and stops paying once the weights or the
// sequences are many (the layer-by-layer matmuls share each weight read across the batch and the cores).
// Not here: the kernel, the KV cache and the decoding loop (src/generate/batch.ts).
import { VIEW_ALIGN } from '../gpu/limits';
import type { Gpu, Tensor } from '../gpu/runtime';
import {
  ABSENT, decodeStepFits, decodeStepHeader, decodeStepShapes, decodeStepHeaderWords, kvCacheSize,
  type DecodeLayerSlots, type DecodeStepKind, type DecodeStepLayout, type MatrixSlot, type NormSlot,
} from '../ops/decode-step';
import { matmul } from '../ops/matmul';
import { ropeInvFreq } from '../ops/rope';
import { weightTable, type LinearRole } from './arch';
import { loraNames, type LinearSpec } from './linear';
import type { Transformer } from './transformer';

/**
 * Most weights (elements) a model may have for the one-dispatch step (the default model has 147,776). Measured once
 * for one sequence on Llama-shaped models of 4 layers (2 cores under load, 32 tokens; tokens/s one dispatch vs layer
 * by layer): 738k weights, 139 vs 16 on lavapipe, 100 vs 44 on SwiftShader; 2.66M, 45 vs 4 on lavapipe but 21 vs 30
 * on SwiftShader. So a bound between the two.
 */
export const DECODE_STEP_MAX_WEIGHTS = 2 ** 20;

/**
 * Most sequences a one-dispatch step decodes. Measured on the default model (64 tokens; tokens/s one dispatch vs layer
 * by layer, 2 cores under load): B = 2, 945 vs 100 on lavapipe, 516 vs 111 on SwiftShader; B = 4 about even (206 vs
 * 185, 177 vs 183); B = 8 and 32 went either way run to run, layer by layer far ahead in scripts/bench-decode.ts.
 */
export const DECODE_STEP_MAX_BATCH = 4;

export interface DecodeStepPlan {
  layout: DecodeStepLayout;
  kind: DecodeStepKind;
  /** Elements of the pack. */
  size: number;
  /** Parameters copied whole into the pack: name → offset. */
  copies: Map<string, number>;
  /** Host-computed tables (RoPE inverse frequencies) → offset. */
  tables: { at: number; data: Float32Array }[];
}

/**
 * The pack's layout for `model` and caches of up to `capacity` rows, or null when the one-dispatch step does not apply
 * (see the header). The scores' room is the capacity rounded up to a power of two (at most maxPositions), so that
 * generations of similar lengths share one pipeline and a long position table does not crowd workgroup memory.
 * For the step on the CPU (src/generate/cpu-decode.ts) the bounds that are the GPU's (the batch, workgroup memory,
 * one binding for the cache) do not apply.
 */
export function decodeStepPlan(model: Transformer, B: number, capacity: number, where: 'gpu' | 'cpu' = 'gpu'): DecodeStepPlan | null {
  const { config: c, recipe: r, params } = model;
  const gpu = where === 'gpu';
  if ((gpu && B > DECODE_STEP_MAX_BATCH) || capacity > c.maxPositions) return null;
  let weights = 0;
  for (const { name, shape } of weightTable(c)) {
    if ((params.specs.get(name)!.storage ?? 'f32') !== 'f32') return null;
    weights += shape.reduce((a, b) => a * b, 1);
  }
  const dims = { L: c.numLayers, C: c.hiddenSize, H: c.numHeads, Hkv: c.numKvHeads, D: c.headDim, F: c.intermediateSize, V: c.vocabSize, maxPositions: Math.min(c.maxPositions, 2 ** Math.ceil(Math.log2(Math.max(capacity, 1)))) };
  if (weights > DECODE_STEP_MAX_WEIGHTS || !(gpu ? decodeStepFits(model.gpu, dims) : decodeStepShapes(dims))) return null;
  if (gpu && 4 * kvCacheSize(dims, B, capacity) > model.gpu.device.limits.maxStorageBufferBindingSize) return null;

  let size = Math.ceil(decodeStepHeaderWords(dims.L) / VIEW_ALIGN) * VIEW_ALIGN;
  const copies: DecodeStepPlan['copies'] = new Map();
  const tables: DecodeStepPlan['tables'] = [];
  const place = (n: number) => { const at = size; size += Math.ceil(n / VIEW_ALIGN) * VIEW_ALIGN; return at; };
  /** The parameter's offset in the pack, placed on first use. */
  const at = (name: string): number => {
    let o = copies.get(name);
    if (o === undefined) copies.set(name, (o = place(params.specs.get(name)!.shape.reduce((a, b) => a * b, 1))));
    return o;
  };
  const norm = (path: string | null): NormSlot | null => (path ? { weight: at(`${path}.weight`), bias: r.norm.kind === 'layer' ? at(`${path}.bias`) : ABSENT } : null);
  const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;

  const layers = model.layers.map((L): DecodeLayerSlots => {
    /** A linear's slot; `first` selects columns (outputs) of a fused matrix. */
    const matrix = (role: LinearRole, first = 0): MatrixSlot => {
      const lin = L.linears[role]!;
      const w = at(`${lin.name}.weight`), b = lin.bias ? at(`${lin.name}.bias`) + first : ABSENT;
      return r.conv1d ? { at: w + first, ld: lin.outF, bias: b } : { at: w + first * lin.inF, ld: lin.inF, bias: b };
    };
    const rope = L.attention.rope;
    let invFreq: number | null = null;
    if (rope) {
      const data = ropeInvFreq(c.headDim, rope.theta, rope.scaling);
      tables.push({ at: (invFreq = place(data.length)), data });
    }
    const fused = !!L.linears.qkv;
    return {
      attnNorm: norm(L.attnNorm)!,
      q: matrix(fused ? 'qkv' : 'q'), k: fused ? matrix('qkv', qDim) : matrix('k'), v: fused ? matrix('qkv', qDim + kvDim) : matrix('v'),
      qNorm: norm(L.qNorm), kNorm: norm(L.kNorm), o: matrix('o'), postAttnNorm: norm(L.postAttnNorm), mlpNorm: norm(L.mlpNorm)!,
      gate: L.linears.gate ? matrix('gate') : null, up: matrix('up'), down: matrix('down'), postMlpNorm: norm(L.postMlpNorm),
      invFreq, window: L.attention.window, scale: L.attention.scale,
    };
  });
  const layout: DecodeStepLayout = {
    dims, eps: r.norm.eps, embedScale: Math.fround(r.embedScale), embed: at(r.embed), positions: r.positions ? at(r.positions) : null,
    finalNorm: norm(r.finalNorm)!, head: at(r.head), layers,
  };
  const kind: DecodeStepKind = { norm: r.norm.kind, normOffset: r.norm.offset, conv1d: r.conv1d, gated: r.mlp.gated, activation: r.mlp.activation };
  return { layout, kind, size, copies, tables };
}

/** The pack for a cache of `cap` rows per sequence, with the model's current weights (and its adapter folded in). */
export function packForDecodeStep(model: Transformer, plan: DecodeStepPlan, cap: number): Tensor {
  const { gpu, params } = model;
  const pack = gpu.tensor([plan.size], 'decode.pack');
  gpu.writeU32(pack, decodeStepHeader(plan.layout, cap));
  for (const t of plan.tables) gpu.write(pack, t.data, t.at);
  for (const [name, at] of plan.copies) {
    const p = params.get(name);
    gpu.copy(p, pack, p.size, 0, at);
  }
  if (model.adapterEnabled) {
    for (const L of model.layers) for (const lin of Object.values(L.linears)) if (lin.lora) foldLora(gpu, model, lin, pack, plan.copies.get(`${lin.name}.weight`)!);
  }
  return pack;
}

/** W += s·B·A in the pack (W [out, in]; a Conv1D's [in, out] takes s·(B·A)^T = s·A^T·B^T). */
function foldLora(gpu: Gpu, model: Transformer, lin: LinearSpec, pack: Tensor, at: number): void {
  const names = loraNames(lin.name);
  const A = model.params.get(names.A), B = model.params.get(names.B);   // [r, in], [out, r]
  const { inF, outF } = lin, { rank, scale } = lin.lora!;
  if (model.recipe.conv1d) matmul(gpu, gpu.view(pack, at, [inF, outF], `${lin.name}.folded`), A, B, inF, outF, rank, { transA: true, transB: true, alpha: scale, accumulate: true });
  else matmul(gpu, gpu.view(pack, at, [outF, inF], `${lin.name}.folded`), B, A, outF, inF, rank, { alpha: scale, accumulate: true });
}
