// The decoder-only transformer, forward and backward, for every family, following its descriptor's recipe
// (src/model/arch): x = embed[ids]·embedScale (+ positions[pos]) → per block
//   [norm → q, k, v (or fused qkv, split) → per-head q/k norm? → RoPE? → causal GQA attention (window?) → o → norm? → +x]
//   [norm → act(gate)·up or act(up) → down → norm? → +x]
// → final norm → head. The recipe says which norms exist, their kind, the MLP, and each layer's attention options;
// nothing here branches on a family's name. Backward walks the forward in reverse (llm.c's gpt2_backward). Training modes: LoRA (base frozen, only
// A/B trainable), full (every parameter), none (inference). Shapes: N = B·T rows; C hidden; H, Hkv heads; D head dim; F MLP width; V vocab.
// Activations come from the runtime's pool and go back after backward, so steady-state steps allocate nothing.
// Activation checkpointing (checkpointActivations): training keeps only each layer's input (resid[l]) and runs
// the layer's forward again, with the same dropout seed, right before its backward; the kernels are deterministic,
// so losses and gradients are the same bit for bit, for one more forward's time and L rows of [N, C] instead of
// every layer's activations.
// Weights over the binding limit (a large vocabulary's embedding and head) are row blocks; every product with a
// weight goes through chunks.ts, which is the plain kernel call when the weight is one block.
// Frozen matrices (every base matrix under LoRA or inference: linears, embedding, head) are kept in `frozenStorage`
// (bf16, f16, or 8-/4-bit blocks: src/ops/weight-storage.ts), widened in the kernels' loads; full fine-tuning is all f32.
import { type Gpu, type Tensor } from '../gpu/runtime';
import { deviceLimits, type BufferLimits } from '../gpu/limits';
import { attentionBackward, attentionForward, type AttentionDims } from '../ops/attention';
import { attentionDecode } from '../ops/attention-decode';
import { copyColumns } from '../ops/columns';
import { crossEntropyForwardBackward } from '../ops/crossentropy';
import { add, addInPlace, scale } from '../ops/elementwise';
import { geluBackward, geluForward } from '../ops/gelu';
import { gluBackward, gluForward } from '../ops/glu';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from '../ops/norm';
import { ropeBackward, ropeForward, type RopeDims } from '../ops/rope';
import { recipeOf, weightTable, type BlockRecipe, type LinearRole, type ModelRecipe } from './arch';
import { accumulateGradATB, gatherRows, matmulW, matmulWT, scatterRowsGrad } from './chunks';
import type { ModelConfig } from './config';
import { linearBackward, linearForward, loraNames, type LinearSaved, type LinearSpec } from './linear';
import { initLoraA, isLoraTarget, loraScale, type LoraConfig } from './lora';
import { HEAD_CHUNK_BYTES, headChunkRows } from './head-chunk';
import { ParamTable, type ParamSpec } from './params';
import { Rng } from './random';
import type { WeightStorage } from '../ops/weight-storage';

export type TrainMode = { kind: 'none' } | { kind: 'full' } | { kind: 'lora'; lora: LoraConfig };

export interface NamedWeight { shape: number[]; data: Float32Array }

/** A block of the recipe with its linears' LoRA settings. */
interface LayerSpec extends Omit<BlockRecipe, 'linears'> {
  linears: Partial<Record<LinearRole, LinearSpec>>;
}

/** Per-batch inputs on the GPU. */
interface BatchInputs {
  B: number;
  T: number;
  ids: Uint32Array;          // [B*T]
  targets?: Uint32Array;     // [B*T] next token per position
  lossMask?: Float32Array;   // [B*T] 1 where the loss counts
  docStart?: Uint32Array;    // [B*T] packed sequences: where each token's document starts (see train/batch.ts)
  /** The loss on logits × logitScale (GRPO: 1/temperature, the log-probs of the distribution it sampled); absent: 1. */
  logitScale?: number;
}

/** Packed documents on the GPU: attention masks keys before `start`; RoPE positions restart at each document. */
interface DocTensors { start: Tensor; pos: Tensor }

/** Key/value cache for generation: per layer [B, capacity, Hkv*D]. */
export interface KvCache { capacity: number; B: number; k: Tensor[]; v: Tensor[]; length: number }

type Saved = Record<string, Tensor>;
interface LayerSaved { t: Saved; lin: Partial<Record<LinearRole, LinearSaved>> }

interface ForwardState {
  B: number; T: number; N: number;
  ids: Tensor; idsCpu: Uint32Array;
  pos: Tensor | null; posCpu: Uint32Array | null;
  doc: DocTensors | null;
  resid: Tensor[];           // resid[l] = input of layer l; resid[L] = final residual
  layers: LayerSaved[];      // empty when checkpointed: backward recomputes each layer from resid[l]
  checkpointed: boolean;
  seed: number;
  hf: Tensor; fMean: Tensor | null; fRstd: Tensor;
  logits: Tensor;        // [rows, V]
}

/**
 * The LoRA dropout stream of each linear (its seed is the layer's plus this): the numbering the Llama and GPT-2
 * blocks had before the recipe, so a seed gives the same masks as it did.
 */
function dropoutStream(role: LinearRole, gated: boolean): number {
  const streams: Record<LinearRole, number> = { q: 0, qkv: 0, k: 1, v: 2, o: 3, gate: 4, up: gated ? 5 : 4, down: gated ? 6 : 5 };
  return streams[role];
}

/** Layer l's LoRA dropout seed in a training forward with this step seed (the recomputation of a checkpointed layer uses it too). */
function layerDropoutSeed(seed: number, l: number): number {
  return (seed + l * 7919) >>> 0;
}

/** A forward stopped after the final norm: training and evaluation run the head in row chunks (headLoss). */
type HiddenState = Omit<ForwardState, 'logits'>;


export class Transformer {
  readonly params: ParamTable;
  /** The descriptor's recipe: what the forward and backward below follow. */
  readonly recipe: ModelRecipe;
  readonly layers: LayerSpec[];
  /** Byte budget of one logits chunk in headLoss (tests shrink it to exercise chunking on tiny models). */
  headChunkBytes = HEAD_CHUNK_BYTES;
  /** Training keeps only each layer's input and recomputes the layer before its backward (see the header). */
  checkpointActivations = false;
  /**
   * False: forwards skip every LoRA product, so the model is its base weights (preference tuning's reference
   * policy, with no second copy of the model). Only for forwards without backward: trainStep refuses it.
   */
  adapterEnabled = true;

  constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    /** data null: the parameter is allocated, and its values written after construction (params.write; hf.ts openWeights). */
    weights: Map<string, { shape: number[]; data: Float32Array | null }>,
    readonly mode: TrainMode,
    seed = 0,
    /** Overrides of the device's buffer limits (tests split tiny models with small ones). */
    limits: Partial<BufferLimits> = {},
    /** How frozen matrices are stored (trainable and 1-D parameters are f32 whatever this says). */
    readonly frozenStorage: WeightStorage = 'f32',
  ) {
    const r = this.recipe = recipeOf(config);
    if (!r.mlp.gated && r.mlp.activation !== 'gelu_tanh') throw new Error(`ungated MLP with ${r.mlp.activation}: no kernel`);
    const lora = mode.kind === 'lora' ? mode.lora : null;
    this.layers = r.blocks.map((b) => ({
      ...b,
      linears: Object.fromEntries(Object.entries(b.linears).map(([role, l]) => [role, {
        name: l.name, inF: l.inF, outF: l.outF, conv1d: r.conv1d, bias: l.bias,
        lora: lora && isLoraTarget(lora, l.name) ? { rank: lora.rank, scale: loraScale(lora), dropout: lora.dropout } : null,
      }])),
    }));

    // The memory table: base weights in the descriptor's order (frozen unless full mode), then LoRA A/B in layer order.
    const full = mode.kind === 'full';
    const specs: ParamSpec[] = weightTable(config).map(({ name, shape }) => {
      const w = weights.get(name);
      if (!w) throw new Error(`missing weight ${name}`);
      return { name, shape: w.shape, trainable: full, decay: shape.length === 2, init: w.data, storage: !full && shape.length === 2 ? frozenStorage : 'f32' };
    });
    if (lora) {
      const rng = new Rng(seed);
      for (const L of this.layers) {
        for (const lin of Object.values(L.linears)) {
          if (!lin.lora) continue;
          const { A, B } = loraNames(lin.name);
          specs.push({ name: A, shape: [lin.lora.rank, lin.inF], trainable: true, decay: true, init: initLoraA(lin.lora.rank, lin.inF, () => rng.next()) });
          specs.push({ name: B, shape: [lin.outF, lin.lora.rank], trainable: true, decay: true, init: new Float32Array(lin.outF * lin.lora.rank) });
        }
      }
    }
    this.params = new ParamTable(gpu, specs, { ...deviceLimits(gpu), ...limits });
  }

  /** Every LoRA-targetable module path with its shape (for the UI and export). */
  linearModules(): LinearSpec[] {
    return this.layers.flatMap((L) => Object.values(L.linears));
  }

  // ---- forward ------------------------------------------------------------------------------------

  /**
   * Runs the model on ids [B, T]. With `save`, keeps every activation backward needs (training).
   * With a cache, the new keys/values are appended at cache.length (B must match, positions continue from it).
   * `lastOnly` computes logits only for each sequence's last position ([B, V] instead of [B·T, V]).
   */
  forward(inp: BatchInputs, opts: { save: boolean; seed?: number; cache?: KvCache; lastOnly?: boolean }): ForwardState {
    const st = this.forwardHidden(inp, opts);
    const rows = st.hf.shape[0];
    const logits = this.gpu.tensor([rows, this.config.vocabSize], 'logits');
    matmulWT(this.gpu, logits, st.hf, this.params.chunked(this.recipe.head), rows);
    return { ...st, logits };
  }

  private forwardHidden(inp: BatchInputs, opts: { save: boolean; seed?: number; cache?: KvCache; lastOnly?: boolean }): HiddenState {
    const { gpu, config: c } = this;
    const { B, T } = inp;
    const N = B * T;
    const C = c.hiddenSize;
    const pastLen = opts.cache?.length ?? 0;
    if (opts.cache && pastLen + T > opts.cache.capacity) throw new Error(`KV cache full: ${pastLen} + ${T} > ${opts.cache.capacity}`);
    const ids = gpu.fromU32([N], inp.ids, 'ids');
    let pos: Tensor | null = null, posCpu: Uint32Array | null = null;
    if (inp.docStart && opts.cache) throw new Error('packed batches (docStart) are for training, not KV-cache decoding');
    // Position of each token within its document (packing), or within its sequence.
    const relPos = new Uint32Array(N);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) relPos[b * T + t] = pastLen + t - (inp.docStart?.[b * T + t] ?? 0);
    const doc: DocTensors | null = inp.docStart
      ? { start: gpu.fromU32([N], inp.docStart, 'docStart'), pos: gpu.fromU32([N], relPos, 'doc.positions') }
      : null;
    const r = this.recipe;
    if (r.positions) {
      posCpu = relPos;
      pos = gpu.fromU32([N], posCpu, 'positions');
    }
    const x0 = this.embedRows(ids, pos, N);
    const resid = [x0];
    const layers: LayerSaved[] = [];
    const seed = opts.seed ?? 0;
    const checkpointed = opts.save && this.checkpointActivations;
    for (let l = 0; l < this.layers.length; l++) {
      // LoRA dropout only while training (a forward that saves for backward).
      const layerSeed = opts.save ? layerDropoutSeed(seed, l) : null;
      const saved = this.layerForward(l, resid[l], B, T, pastLen, opts.cache, layerSeed, doc);
      resid.push(saved.t.out);
      if (opts.save && !checkpointed) layers.push(saved);
      else {
        this.releaseLayer(saved);
        if (!opts.save) gpu.release(resid[l]);
      }
    }
    if (opts.cache) opts.cache.length += T;

    // Final norm and head; with lastOnly, only each sequence's last row.
    const rows = opts.lastOnly ? B : N;
    let xf = resid[resid.length - 1];
    if (opts.lastOnly && T > 1) {
      const last = gpu.tensor([B, C], 'resid.last');
      for (let b = 0; b < B; b++) gpu.copy(xf, last, C, (b * T + T - 1) * C, b * C);
      if (!opts.save) gpu.release(xf);
      xf = last;
    }
    const { hf, fMean, fRstd } = this.finalNorm(xf, rows);
    if (!opts.save) gpu.release(xf);
    if (!opts.save && doc) gpu.release(doc.start, doc.pos);
    return { B, T, N, ids, idsCpu: inp.ids, pos, posCpu, doc: opts.save ? doc : null, resid: opts.save ? resid : [], layers, checkpointed, seed, hf, fMean, fRstd };
  }

  /** x0 [N, C] = embed[ids]·embedScale (+ positions[pos] when the recipe has learned positions). */
  private embedRows(ids: Tensor, pos: Tensor | null, N: number): Tensor {
    const { gpu, recipe: r } = this;
    const C = this.config.hiddenSize;
    const x0 = gpu.tensor([N, C], 'resid.0');
    gatherRows(gpu, x0, ids, this.params.chunked(r.embed), N);
    if (r.embedScale !== 1) scale(gpu, x0, Math.fround(r.embedScale), N * C);   // Gemma: × √C, rounded to the weights' f32 as HF does
    if (r.positions) {
      const pe = gpu.tensor([N, C], 'positions.rows');
      gatherRows(gpu, pe, pos!, this.params.chunked(r.positions), N);
      addInPlace(gpu, x0, pe, N * C);
      gpu.release(pe);
    }
    return x0;
  }

  /** The final norm of rows [rows, C], with its statistics (kept by training for backward). */
  private finalNorm(xf: Tensor, rows: number): { hf: Tensor; fMean: Tensor | null; fRstd: Tensor } {
    const { gpu, recipe: r } = this;
    const hf = gpu.tensor([rows, this.config.hiddenSize], 'final.norm');
    const fRstd = gpu.tensor([rows], 'final.rstd');
    const fMean = r.norm.kind === 'layer' ? gpu.tensor([rows], 'final.mean') : null;
    this.normForward(hf, fMean, fRstd, xf, r.finalNorm, rows);
    return { hf, fMean, fRstd };
  }

  /** The recipe's norm over rows of width `width` (the hidden size, or head_dim for q/k norms). */
  private normForward(out: Tensor, mean: Tensor | null, rstd: Tensor, x: Tensor, name: string, N: number, width = this.config.hiddenSize): void {
    const { gpu } = this;
    const { kind, offset, eps } = this.recipe.norm;
    const w = this.params.get(`${name}.weight`);
    if (kind === 'rms') rmsnormForward(gpu, out, rstd, x, w, N, width, eps, offset);
    else layernormForward(gpu, out, mean!, rstd, x, w, this.params.get(`${name}.bias`), N, width, eps);
  }

  private normBackward(dx: Tensor, dout: Tensor, x: Tensor, mean: Tensor | null, rstd: Tensor, name: string, N: number, accumulate: boolean, width = this.config.hiddenSize): void {
    const { gpu } = this;
    const { kind, offset } = this.recipe.norm;
    const w = this.params.get(`${name}.weight`);
    const dw = this.params.grad(`${name}.weight`);
    if (kind === 'rms') rmsnormBackward(gpu, dx, dw, dout, x, w, rstd, N, width, { accumulate, offset });
    else layernormBackward(gpu, dx, dw, this.params.grad(`${name}.bias`), dout, x, w, mean!, rstd, N, width, { accumulate });
  }

  /** A fresh [rows] statistics tensor per norm: rstd, and the mean for LayerNorm. */
  private normStats(t: Saved, key: string, rows: number): void {
    t[`rstd.${key}`] = this.gpu.tensor([rows], `rstd.${key}`);
    if (this.recipe.norm.kind === 'layer') t[`mean.${key}`] = this.gpu.tensor([rows], `mean.${key}`);
  }

  private attentionDims(L: LayerSpec, B: number, T: number, pastLen: number, cache?: KvCache): AttentionDims {
    const c = this.config;
    return { B, Tq: T, Tk: pastLen + T, H: c.numHeads, Hkv: c.numKvHeads, D: c.headDim, kvStride: cache ? cache.capacity : T, window: L.attention.window };
  }

  private ropeDims(L: LayerSpec, B: number, T: number, nHeads: number, pastLen: number): RopeDims {
    const { theta, scaling } = L.attention.rope!;
    return { B, T, nHeads, D: this.config.headDim, theta, posOffset: pastLen, scaling };
  }

  /** Appends k/v rows [B, T, Hkv*D] into the cache at `pastLen`. */
  private writeCache(cacheT: Tensor, rows: Tensor, B: number, T: number, pastLen: number, capacity: number): void {
    const w = this.config.numKvHeads * this.config.headDim;
    for (let b = 0; b < B; b++) this.gpu.copy(rows, cacheT, T * w, b * T * w, (b * capacity + pastLen) * w);
  }

  /** out = x + sub, through the recipe's post-norm (saved as `key`) when the block has one; sub is consumed. */
  private residual(t: Saved, key: string, out: Tensor, x: Tensor, sub: Tensor, postNorm: string | null, N: number): void {
    const { gpu } = this;
    if (!postNorm) {
      add(gpu, out, x, sub, N * this.config.hiddenSize);
      gpu.release(sub);
      return;
    }
    t[`${key}.in`] = sub;
    this.normStats(t, key, N);
    const y = gpu.tensor([N, this.config.hiddenSize], `${key}.out`);
    this.normForward(y, t[`mean.${key}`] ?? null, t[`rstd.${key}`], sub, postNorm, N);
    add(gpu, out, x, y, N * this.config.hiddenSize);
    gpu.release(y);
  }

  /** Per-head RMSNorm over head_dim of q or k [N, heads·D] (its input saved as `${key}.in`), or x itself. */
  private headNorm(t: Saved, key: 'q' | 'k', x: Tensor, name: string | null, N: number, heads: number): Tensor {
    if (!name) return x;
    const D = this.config.headDim;
    t[`${key}.in`] = x;
    this.normStats(t, key, N * heads);
    const y = this.gpu.tensor([N, heads * D], `${key}.norm`);
    this.normForward(y, t[`mean.${key}`] ?? null, t[`rstd.${key}`], x, name, N * heads, D);
    return y;
  }

  /**
   * Layer l on x [B·T, C]. With `decodePos` (decoding, T = 1) each sequence's row sits at its own position pos[b],
   * read on the GPU: RoPE, the cache append and attention take it from there instead of from pastLen.
   */
  private layerForward(
    l: number, x: Tensor, B: number, T: number, pastLen: number, cache: KvCache | undefined, seed: number | null, doc: DocTensors | null, decodePos?: Tensor,
  ): LayerSaved {
    const { gpu, config: c } = this;
    const L = this.layers[l];
    const { gated, activation } = this.recipe.mlp;
    const N = B * T, C = c.hiddenSize, F = c.intermediateSize, H = c.numHeads, Hkv = c.numKvHeads;
    const qDim = H * c.headDim, kvDim = Hkv * c.headDim;
    const t: Saved = {};
    const lin: LayerSaved['lin'] = {};
    const run = (role: LinearRole, y: Tensor, xin: Tensor) => {
      const spec = this.adapterEnabled ? L.linears[role]! : { ...L.linears[role]!, lora: null };
      lin[role] = linearForward(gpu, this.params, spec, y, xin, N, seed === null ? null : (seed + dropoutStream(role, gated)) >>> 0);
    };

    // Attention: x2 = x + post?(o(attn(rope(qnorm?(q)), rope(knorm?(k)), v)))
    t.h1 = gpu.tensor([N, C], 'h1');
    this.normStats(t, 'attn', N);
    this.normForward(t.h1, t['mean.attn'] ?? null, t['rstd.attn'], x, L.attnNorm, N);
    t.v = gpu.tensor([N, kvDim], 'v');
    const q = gpu.tensor([N, qDim], 'q'), k = gpu.tensor([N, kvDim], 'k');
    if (L.linears.qkv) {                                                       // fused: columns q | k | v
      const W = qDim + 2 * kvDim;
      t.qkv = gpu.tensor([N, W], 'qkv');
      run('qkv', t.qkv, t.h1);
      copyColumns(gpu, q, qDim, 0, t.qkv, W, 0, qDim, N);
      copyColumns(gpu, k, kvDim, 0, t.qkv, W, qDim, kvDim, N);
      copyColumns(gpu, t.v, kvDim, 0, t.qkv, W, qDim + kvDim, kvDim, N);
    } else {
      run('q', q, t.h1);
      run('k', k, t.h1);
      run('v', t.v, t.h1);
    }
    const qn = this.headNorm(t, 'q', q, L.qNorm, N, H), kn = this.headNorm(t, 'k', k, L.kNorm, N, Hkv);
    if (L.attention.rope) {
      t.qr = gpu.tensor([N, qDim], 'q.rope');
      t.kr = gpu.tensor([N, kvDim], 'k.rope');
      ropeForward(gpu, t.qr, qn, this.ropeDims(L, B, T, H, pastLen), decodePos ?? doc?.pos);
      ropeForward(gpu, t.kr, kn, this.ropeDims(L, B, T, Hkv, pastLen), decodePos ?? doc?.pos);
      gpu.release(qn, kn);                                                     // q/k themselves stay when a head norm saved them
    } else {
      t.qr = qn;
      t.kr = kn;
    }

    t.att = gpu.tensor([N, qDim], 'att');
    if (decodePos && cache) {
      const dims = { B, H, Hkv, D: c.headDim, cap: cache.capacity, window: L.attention.window };
      attentionDecode(gpu, t.att, t.qr, t.kr, t.v, cache.k[l], cache.v[l], decodePos, dims, L.attention.scale);
    } else {
      let kAll = t.kr, vAll = t.v;
      if (cache) {
        this.writeCache(cache.k[l], t.kr, B, T, pastLen, cache.capacity);
        this.writeCache(cache.v[l], t.v, B, T, pastLen, cache.capacity);
        kAll = cache.k[l];
        vAll = cache.v[l];
      }
      t.lse = gpu.tensor([B, H, T], 'lse');
      attentionForward(gpu, t.att, t.lse, t.qr, kAll, vAll, this.attentionDims(L, B, T, pastLen, cache), L.attention.scale, doc?.start);
    }
    const o = gpu.tensor([N, C], 'o');
    run('o', o, t.att);
    t.x2 = gpu.tensor([N, C], 'x2');
    this.residual(t, 'post.attn', t.x2, x, o, L.postAttnNorm, N);

    // MLP: out = x2 + post?(down(act(gate)·up)) or x2 + post?(down(act(up)))
    t.h2 = gpu.tensor([N, C], 'h2');
    this.normStats(t, 'mlp', N);
    this.normForward(t.h2, t['mean.mlp'] ?? null, t['rstd.mlp'], t.x2, L.mlpNorm, N);
    const m = gpu.tensor([N, C], 'mlp.out');
    t.a = gpu.tensor([N, F], 'mlp.act');
    if (gated) {
      t.g = gpu.tensor([N, F], 'mlp.gate');
      t.u = gpu.tensor([N, F], 'mlp.up');
      run('gate', t.g, t.h2);
      run('up', t.u, t.h2);
      gluForward(gpu, t.a, t.g, t.u, N * F, activation);
    } else {
      t.u = gpu.tensor([N, F], 'mlp.up');
      run('up', t.u, t.h2);
      geluForward(gpu, t.a, t.u);
    }
    run('down', m, t.a);
    t.out = gpu.tensor([N, C], `resid.${l + 1}`);
    this.residual(t, 'post.mlp', t.out, t.x2, m, L.postMlpNorm, N);
    return { t, lin };
  }

  private releaseLayer(s: LayerSaved): void {
    for (const [k, v] of Object.entries(s.t)) if (k !== 'out') this.gpu.release(v);
    for (const v of Object.values(s.lin)) this.gpu.release(v.xd, v.u);
  }

  /** Releases a forward's activations (after backward, or after reading logits). */
  release(st: HiddenState | ForwardState): void {
    const { gpu } = this;
    for (const s of st.layers) this.releaseLayer(s);
    gpu.release(...st.resid, st.hf, st.fMean, st.fRstd, 'logits' in st ? st.logits : null, st.ids, st.pos, st.doc?.start, st.doc?.pos);
  }

  // ---- loss and backward --------------------------------------------------------------------------

  /**
   * Training micro-step: forward, masked cross-entropy with dlogits·gradScale, backward into the flat grads
   * (accumulated; the trainer zeroes them per optimizer step). Returns per-token losses [N] (release it).
   */
  trainStep(inp: BatchInputs, gradScale: number, seed: number): Tensor {
    if (!this.adapterEnabled) throw new Error('trainStep with the adapter switched off: the reference policy is for forwards only');
    const st = this.forwardHidden(inp, { save: true, seed });
    const dhf = this.gpu.tensor([st.N, this.config.hiddenSize], 'd.final.norm');
    const losses = this.headLoss(st.hf, inp, gradScale, dhf);
    this.backward(st, dhf);
    this.gpu.release(dhf);
    this.release(st);
    return losses;
  }

  /** Evaluation: per-token masked losses [N] without gradients (release it). */
  evalLosses(inp: BatchInputs): Tensor {
    const st = this.forwardHidden(inp, { save: false });
    const losses = this.headLoss(st.hf, inp, 1, null);
    this.release(st);
    return losses;
  }

  /**
   * The head and the loss in row chunks, so the logits of a long batch over a large vocabulary never exist
   * whole (Qwen2's 151936-entry vocabulary × 2048 tokens would be 1.2 GB) and no binding exceeds the
   * adapter's limit. Per chunk of R rows: logits = hf W^T [R, V]; cross-entropy in place (dlogits);
   * dhf = dlogits W; dW += dlogits^T hf when the head trains. Returns losses [N]. A head over the binding limit
   * is vocabulary blocks (chunks.ts): each block fills its columns of the chunk's logits, so the loss still sees
   * whole rows and stays exact.
   */
  private headLoss(hf: Tensor, inp: BatchInputs, gradScale: number, dhf: Tensor | null): Tensor {
    const { gpu, config: c, params: p } = this;
    const N = inp.B * inp.T, C = c.hiddenSize, V = c.vocabSize;
    const W = p.chunked(this.recipe.head);
    const R = headChunkRows(N, V, p.limits.maxBindingBytes, this.headChunkBytes);
    const logitScale = inp.logitScale ?? 1;
    const losses = gpu.tensor([N], 'losses');
    for (let r0 = 0; r0 < N; r0 += R) {
      const rows = Math.min(R, N - r0);
      const whole = rows === N;
      // Chunks copy their rows out: a view would need a 64-element-aligned row offset.
      const h = whole ? hf : gpu.tensor([rows, C], 'head.rows');
      if (!whole) gpu.copy(hf, h, rows * C, r0 * C, 0);
      const logits = gpu.tensor([rows, V], 'logits');
      matmulWT(gpu, logits, h, W, rows);
      if (logitScale !== 1) scale(gpu, logits, logitScale, rows * V);
      const targets = gpu.fromU32([rows], inp.targets!.subarray(r0, r0 + rows), 'targets');
      const mask = gpu.fromArray([rows], inp.lossMask!.subarray(r0, r0 + rows), 'lossMask');
      const l = whole ? losses : gpu.tensor([rows], 'losses.rows');
      // d(raw logits) = logitScale · d(scaled logits): folded into the kernel's gradient scale.
      crossEntropyForwardBackward(gpu, l, dhf ? logits : null, logits, targets, mask, rows, V, gradScale * logitScale);
      if (!whole) gpu.copy(l, losses, rows, 0, r0);
      if (dhf) {
        accumulateGradATB(gpu, W, logits, h, rows);                                                // dW += dlogits^T hf (when it trains)
        const d = whole ? dhf : gpu.tensor([rows, C], 'd.head.rows');
        matmulW(gpu, d, logits, W, rows);                                                          // dhf = dlogits W
        if (!whole) { gpu.copy(d, dhf, rows * C, 0, r0 * C); gpu.release(d); }
      }
      gpu.release(logits, targets, mask);
      if (!whole) gpu.release(h, l);
    }
    return losses;
  }

  /** Walks the forward in reverse from dhf, the gradient of the final norm's output. */
  private backward(st: HiddenState, dhf: Tensor): void {
    const { gpu, config: c, params: p, recipe: r } = this;
    const { B, T, N } = st;
    const C = c.hiddenSize;
    const full = this.mode.kind === 'full';

    const dres = gpu.tensor([N, C], 'd.resid');
    this.normBackward(dres, dhf, st.resid[st.resid.length - 1], st.fMean, st.fRstd, r.finalNorm, N, false);

    for (let l = this.layers.length - 1; l >= 0; l--) {
      if (!st.checkpointed) {
        this.layerBackward(l, dres, st.resid[l], st.layers[l], B, T, l > 0 || full, st.doc);
        continue;
      }
      // The same forward as before (same input, same dropout seed): its output equals resid[l + 1], which is kept.
      const saved = this.layerForward(l, st.resid[l], B, T, 0, undefined, layerDropoutSeed(st.seed, l), st.doc);
      gpu.release(saved.t.out);
      this.layerBackward(l, dres, st.resid[l], saved, B, T, l > 0 || full, st.doc);
      this.releaseLayer(saved);
    }

    if (full) {
      if (st.posCpu) scatterRowsGrad(gpu, p.chunked(r.positions!), dres, st.posCpu, N);
      if (r.embedScale !== 1) scale(gpu, dres, Math.fround(r.embedScale), N * C);                  // d(embed rows) = d x0 · scale
      scatterRowsGrad(gpu, p.chunked(r.embed), dres, st.idsCpu, N, c.padTokenId ?? -1);      // torch's padding_idx row gets none
    }
    gpu.release(dres);
  }

  /** d(sub) of out = x + post?(sub) from dres = d out: dres itself, or a fresh tensor through the post-norm's backward. */
  private residualBackward(t: Saved, key: string, dres: Tensor, postNorm: string | null, N: number): Tensor {
    if (!postNorm) return dres;
    const d = this.gpu.tensor([N, this.config.hiddenSize], `d.${key}`);
    this.normBackward(d, dres, t[`${key}.in`], t[`mean.${key}`] ?? null, t[`rstd.${key}`], postNorm, N, false);
    return d;
  }

  /** d(q or k) before its head norm, from d(after): the same tensor when the block has no head norm (consumed otherwise). */
  private headNormBackward(t: Saved, key: 'q' | 'k', dy: Tensor, name: string | null, N: number, heads: number): Tensor {
    if (!name) return dy;
    const D = this.config.headDim;
    const dx = this.gpu.tensor([N, heads * D], `d.${key}.in`);
    this.normBackward(dx, dy, t[`${key}.in`], t[`mean.${key}`] ?? null, t[`rstd.${key}`], name, N * heads, false, D);
    this.gpu.release(dy);
    return dx;
  }

  /** dres: in = d(layer output), out = d(layer input) (when needInputGrad). */
  private layerBackward(l: number, dres: Tensor, x: Tensor, s: LayerSaved, B: number, T: number, needInputGrad: boolean, doc: DocTensors | null): void {
    const { gpu, config: c, params: p } = this;
    const L = this.layers[l];
    const { gated, activation } = this.recipe.mlp;
    const N = B * T, C = c.hiddenSize, F = c.intermediateSize, H = c.numHeads, Hkv = c.numKvHeads;
    const qDim = H * c.headDim, kvDim = Hkv * c.headDim;
    const t = s.t;
    const back = (role: LinearRole, dx: Tensor | null, dy: Tensor, acc: boolean) => linearBackward(gpu, p, L.linears[role]!, dx, dy, s.lin[role]!, N, acc);

    // MLP: out = x2 + post?(down(act(...)))
    const dm = this.residualBackward(t, 'post.mlp', dres, L.postMlpNorm, N);
    const da = gpu.tensor([N, F], 'd.mlp.act');
    const dh2 = gpu.tensor([N, C], 'd.h2');
    back('down', da, dm, false);
    if (dm !== dres) gpu.release(dm);
    if (gated) {
      const dg = gpu.tensor([N, F], 'd.gate'), du = gpu.tensor([N, F], 'd.up');
      gluBackward(gpu, dg, du, da, t.g, t.u, N * F, activation);
      back('gate', dh2, dg, false);
      back('up', dh2, du, true);
      gpu.release(dg, du);
    } else {
      const du = gpu.tensor([N, F], 'd.up');
      geluBackward(gpu, du, da, t.u);
      back('up', dh2, du, false);
      gpu.release(du);
    }
    gpu.release(da);
    this.normBackward(dres, dh2, t.x2, t['mean.mlp'] ?? null, t['rstd.mlp'], L.mlpNorm, N, true);      // dres = d x2
    gpu.release(dh2);

    // Attention: x2 = x + post?(o(attn(...)))
    const dO = this.residualBackward(t, 'post.attn', dres, L.postAttnNorm, N);
    const datt = gpu.tensor([N, qDim], 'd.att');
    back('o', datt, dO, false);
    if (dO !== dres) gpu.release(dO);
    const dqr = gpu.tensor([N, qDim], 'd.q'), dkr = gpu.tensor([N, kvDim], 'd.k'), dv = gpu.tensor([N, kvDim], 'd.v');
    attentionBackward(gpu, dqr, dkr, dv, datt, t.att, t.lse, t.qr, t.kr, t.v, this.attentionDims(L, B, T, 0), L.attention.scale, doc?.start);
    gpu.release(datt);
    let dqn = dqr, dkn = dkr;
    if (L.attention.rope) {
      dqn = gpu.tensor([N, qDim], 'd.q.pre');
      dkn = gpu.tensor([N, kvDim], 'd.k.pre');
      ropeBackward(gpu, dqn, dqr, this.ropeDims(L, B, T, H, 0), doc?.pos);
      ropeBackward(gpu, dkn, dkr, this.ropeDims(L, B, T, Hkv, 0), doc?.pos);
      gpu.release(dqr, dkr);
    }
    const dq = this.headNormBackward(t, 'q', dqn, L.qNorm, N, H), dk = this.headNormBackward(t, 'k', dkn, L.kNorm, N, Hkv);
    const dh1 = needInputGrad ? gpu.tensor([N, C], 'd.h1') : null;
    if (L.linears.qkv) {
      const W = qDim + 2 * kvDim;
      const dqkv = gpu.tensor([N, W], 'd.qkv');
      copyColumns(gpu, dqkv, W, 0, dq, qDim, 0, qDim, N);
      copyColumns(gpu, dqkv, W, qDim, dk, kvDim, 0, kvDim, N);
      copyColumns(gpu, dqkv, W, qDim + kvDim, dv, kvDim, 0, kvDim, N);
      back('qkv', dh1, dqkv, false);
      gpu.release(dqkv);
    } else {
      back('q', dh1, dq, false);
      back('k', dh1, dk, true);
      back('v', dh1, dv, true);
    }
    gpu.release(dq, dk, dv);
    if (dh1) {
      this.normBackward(dres, dh1, x, t['mean.attn'] ?? null, t['rstd.attn'], L.attnNorm, N, true);     // dres = d x
      gpu.release(dh1);
    }
  }

  // ---- generation support --------------------------------------------------------------------------

  /**
   * One decoding step of cache.B sequences with every input on the GPU: token ids [B] (u32) at positions pos [B];
   * each sequence's key and value rows are written at its own position of its rows of `cache` and attended over
   * rows 0..pos[b]. Returns logits [B, V] (release it). Nothing here comes from the host, so the same commands
   * serve every step of a generation (src/generate/batch.ts captures them once and replays them).
   */
  decodeLogits(ids: Tensor, pos: Tensor, cache: KvCache): Tensor {
    const { gpu } = this;
    const B = cache.B;
    let x = this.embedRows(ids, pos, B);
    for (let l = 0; l < this.layers.length; l++) {
      const saved = this.layerForward(l, x, B, 1, 0, cache, null, null, pos);
      this.releaseLayer(saved);
      gpu.release(x);
      x = saved.t.out;
    }
    const { hf, fMean, fRstd } = this.finalNorm(x, B);
    gpu.release(x, fMean, fRstd);
    const logits = gpu.tensor([B, this.config.vocabSize], 'logits');
    matmulWT(gpu, logits, hf, this.params.chunked(this.recipe.head), B);
    gpu.release(hf);
    return logits;
  }

  /** Runs ids [1, T] into an empty one-sequence cache (its rows 0..T-1), computing no logits: a prompt's prefill. */
  prefill(ids: number[], cache: KvCache): void {
    if (cache.B !== 1 || cache.length !== 0) throw new Error('prefill: needs an empty one-sequence cache');
    this.release(this.forwardHidden({ B: 1, T: ids.length, ids: Uint32Array.from(ids) }, { save: false, cache, lastOnly: true }));
  }

  createCache(B: number, capacity: number): KvCache {
    const w = this.config.numKvHeads * this.config.headDim;
    return {
      capacity, B, length: 0,
      k: this.layers.map((_, l) => this.gpu.tensor([B, capacity, w], `cache.k.${l}`)),
      v: this.layers.map((_, l) => this.gpu.tensor([B, capacity, w], `cache.v.${l}`)),
    };
  }

  releaseCache(cache: KvCache): void {
    this.gpu.release(...cache.k, ...cache.v);
  }

  destroy(): void {
    this.params.destroy();
  }
}
