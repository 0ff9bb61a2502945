// The decoder-only transformer, forward and backward, for both supported families:
//   llama: x → [RMSNorm → q,k,v proj → RoPE → causal GQA attention → o_proj → +x] → [RMSNorm → gate,up → SwiGLU → down → +x] → RMSNorm → lm_head
//   gpt2:  x = wte[ids] + wpe[pos] → [LayerNorm → c_attn → split → causal attention → c_proj → +x] → [LayerNorm → c_fc → GELU → c_proj → +x] → LayerNorm → wte^T
// Backward walks the forward in reverse (llm.c's gpt2_backward). Training modes: LoRA (base frozen, only
// A/B trainable), full (every parameter), none (inference). Shapes: N = B·T rows; C hidden; H, Hkv heads; D head dim; F MLP width; V vocab.
// Activations come from the runtime's pool and go back after backward, so steady-state steps allocate nothing.
// Weights over the binding limit (a large vocabulary's embedding and head) are row blocks; every product with a
// weight goes through chunks.ts, which is the plain kernel call when the weight is one block.
import type { Gpu, Tensor } from '../gpu/runtime';
import { attentionBackward, attentionForward, type AttentionDims } from '../ops/attention';
import { copyColumns } from '../ops/columns';
import { crossEntropyForwardBackward } from '../ops/crossentropy';
import { add, addInPlace } from '../ops/elementwise';
import { geluBackward, geluForward } from '../ops/gelu';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from '../ops/norm';
import { ropeBackward, ropeForward, type RopeDims } from '../ops/rope';
import { swigluBackward, swigluForward } from '../ops/swiglu';
import { accumulateGradATB, gatherRows, matmulW, matmulWT, scatterRowsGrad } from './chunks';
import type { ModelConfig } from './config';
import { linearBackward, linearForward, loraNames, type LinearSaved, type LinearSpec } from './linear';
import { initLoraA, isLoraTarget, loraScale, type LoraConfig } from './lora';
import { deviceLimits, ParamTable, type BufferLimits, type ParamSpec } from './params';
import { Rng } from './random';

export type TrainMode = { kind: 'none' } | { kind: 'full' } | { kind: 'lora'; lora: LoraConfig };

export interface NamedWeight { shape: number[]; data: Float32Array }

interface LayerSpec {
  attnNorm: string;   // norm module path ('.weight' [+ '.bias'])
  mlpNorm: string;
  /** llama: q, k, v, o, gate, up, down; gpt2: c_attn, attn.c_proj, c_fc, mlp.c_proj */
  linears: Record<string, LinearSpec>;
}

/** Per-batch inputs on the GPU. */
export interface BatchInputs {
  B: number;
  T: number;
  ids: Uint32Array;          // [B*T]
  targets?: Uint32Array;     // [B*T] next token per position
  lossMask?: Float32Array;   // [B*T] 1 where the loss counts
  docStart?: Uint32Array;    // [B*T] packed sequences: where each token's document starts (see train/batch.ts)
}

/** Packed documents on the GPU: attention masks keys before `start`; RoPE positions restart at each document. */
interface DocTensors { start: Tensor; pos: Tensor }

/** Key/value cache for generation: per layer [B, capacity, Hkv*D]. */
export interface KvCache { capacity: number; B: number; k: Tensor[]; v: Tensor[]; length: number }

type Saved = Record<string, Tensor>;
interface LayerSaved { t: Saved; lin: Record<string, LinearSaved> }

interface ForwardState {
  B: number; T: number; N: number;
  ids: Tensor; idsCpu: Uint32Array;
  pos: Tensor | null; posCpu: Uint32Array | null;
  doc: DocTensors | null;
  resid: Tensor[];           // resid[l] = input of layer l; resid[L] = final residual
  layers: LayerSaved[];
  hf: Tensor; fMean: Tensor | null; fRstd: Tensor;
  logits: Tensor;        // [rows, V]
}

/** A forward stopped after the final norm: training and evaluation run the head in row chunks (headLoss). */
type HiddenState = Omit<ForwardState, 'logits'>;

/** Largest logits chunk [rows, V] kept at once in training/evaluation (also bounded by the binding limit). */
export const HEAD_CHUNK_BYTES = 64 * 2 ** 20;

export class Transformer {
  readonly params: ParamTable;
  readonly layers: LayerSpec[];
  private readonly embedName: string;
  private readonly headName: string;
  private readonly finalNorm: string;
  private readonly norm: 'rms' | 'layer';
  /** Byte budget of one logits chunk in headLoss (tests shrink it to exercise chunking on tiny models). */
  headChunkBytes = HEAD_CHUNK_BYTES;

  constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    /** data null: the parameter is allocated, and its values written after construction (params.write; hf.ts openWeights). */
    weights: Map<string, { shape: number[]; data: Float32Array | null }>,
    readonly mode: TrainMode,
    seed = 0,
    /** Overrides of the device's buffer limits (tests split tiny models with small ones). */
    limits: Partial<BufferLimits> = {},
  ) {
    const c = config;
    const gpt2 = c.architecture === 'gpt2';
    this.norm = gpt2 ? 'layer' : 'rms';
    this.embedName = gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight';
    this.headName = c.tieWordEmbeddings || gpt2 ? this.embedName : 'lm_head.weight';
    this.finalNorm = gpt2 ? 'transformer.ln_f' : 'model.norm';
    const lora = mode.kind === 'lora' ? mode.lora : null;
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;

    const linear = (name: string, inF: number, outF: number): LinearSpec => ({
      name, inF, outF, conv1d: gpt2, bias: weights.has(`${name}.bias`),
      lora: lora && isLoraTarget(lora, name) ? { rank: lora.rank, scale: loraScale(lora), dropout: lora.dropout } : null,
    });
    this.layers = [];
    for (let l = 0; l < c.numLayers; l++) {
      if (gpt2) {
        const p = `transformer.h.${l}`;
        this.layers.push({
          attnNorm: `${p}.ln_1`, mlpNorm: `${p}.ln_2`,
          linears: {
            c_attn: linear(`${p}.attn.c_attn`, c.hiddenSize, 3 * c.hiddenSize),
            o: linear(`${p}.attn.c_proj`, c.hiddenSize, c.hiddenSize),
            fc: linear(`${p}.mlp.c_fc`, c.hiddenSize, c.intermediateSize),
            proj: linear(`${p}.mlp.c_proj`, c.intermediateSize, c.hiddenSize),
          },
        });
      } else {
        const p = `model.layers.${l}`;
        this.layers.push({
          attnNorm: `${p}.input_layernorm`, mlpNorm: `${p}.post_attention_layernorm`,
          linears: {
            q: linear(`${p}.self_attn.q_proj`, c.hiddenSize, qDim),
            k: linear(`${p}.self_attn.k_proj`, c.hiddenSize, kvDim),
            v: linear(`${p}.self_attn.v_proj`, c.hiddenSize, kvDim),
            o: linear(`${p}.self_attn.o_proj`, qDim, c.hiddenSize),
            gate: linear(`${p}.mlp.gate_proj`, c.hiddenSize, c.intermediateSize),
            up: linear(`${p}.mlp.up_proj`, c.hiddenSize, c.intermediateSize),
            down: linear(`${p}.mlp.down_proj`, c.intermediateSize, c.hiddenSize),
          },
        });
      }
    }

    // The memory table: base weights (frozen unless full mode), then LoRA A/B in layer order.
    const full = mode.kind === 'full';
    const specs: ParamSpec[] = [];
    const base = (name: string) => {
      const w = weights.get(name);
      if (!w) throw new Error(`missing weight ${name}`);
      specs.push({ name, shape: w.shape, trainable: full, decay: w.shape.length === 2, init: w.data });
    };
    base(this.embedName);
    if (gpt2) base('transformer.wpe.weight');
    for (const L of this.layers) {
      for (const n of [L.attnNorm, L.mlpNorm]) {
        base(`${n}.weight`);
        if (this.norm === 'layer') base(`${n}.bias`);
      }
      for (const lin of Object.values(L.linears)) {
        base(`${lin.name}.weight`);
        if (lin.bias) base(`${lin.name}.bias`);
      }
    }
    base(`${this.finalNorm}.weight`);
    if (this.norm === 'layer') base(`${this.finalNorm}.bias`);
    if (this.headName !== this.embedName) base(this.headName);
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
    matmulWT(this.gpu, logits, st.hf, this.params.chunked(this.headName), rows);
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
    const x0 = gpu.tensor([N, C], 'resid.0');
    gatherRows(gpu, x0, ids, this.params.chunked(this.embedName), N);
    if (c.architecture === 'gpt2') {
      posCpu = relPos;
      pos = gpu.fromU32([N], posCpu, 'positions');
      const pe = gpu.tensor([N, C], 'wpe.rows');
      gatherRows(gpu, pe, pos, this.params.chunked('transformer.wpe.weight'), N);
      addInPlace(gpu, x0, pe, N * C);
      gpu.release(pe);
    }
    const resid = [x0];
    const layers: LayerSaved[] = [];
    const seed = opts.seed ?? 0;
    for (let l = 0; l < this.layers.length; l++) {
      // LoRA dropout only while training (a forward that saves for backward).
      const layerSeed = opts.save ? (seed + l * 7919) >>> 0 : null;
      const saved = this.layerForward(l, resid[l], B, T, pastLen, opts.cache, layerSeed, doc);
      resid.push(saved.t.out);
      if (opts.save) layers.push(saved);
      else {
        this.releaseLayer(saved);
        gpu.release(resid[l]);
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
    const hf = gpu.tensor([rows, C], 'final.norm');
    const fRstd = gpu.tensor([rows], 'final.rstd');
    const fMean = this.norm === 'layer' ? gpu.tensor([rows], 'final.mean') : null;
    this.normForward(hf, fMean, fRstd, xf, this.finalNorm, rows);
    if (!opts.save) gpu.release(xf);
    if (!opts.save && doc) gpu.release(doc.start, doc.pos);
    return { B, T, N, ids, idsCpu: inp.ids, pos, posCpu, doc: opts.save ? doc : null, resid: opts.save ? resid : [], layers, hf, fMean, fRstd };
  }

  private normForward(out: Tensor, mean: Tensor | null, rstd: Tensor, x: Tensor, name: string, N: number): void {
    const { gpu, config: c } = this;
    const w = this.params.get(`${name}.weight`);
    if (this.norm === 'rms') rmsnormForward(gpu, out, rstd, x, w, N, c.hiddenSize, c.normEps);
    else layernormForward(gpu, out, mean!, rstd, x, w, this.params.get(`${name}.bias`), N, c.hiddenSize, c.normEps);
  }

  private normBackward(dx: Tensor, dout: Tensor, x: Tensor, mean: Tensor | null, rstd: Tensor, name: string, N: number, accumulate: boolean): void {
    const { gpu, config: c } = this;
    const w = this.params.get(`${name}.weight`);
    const dw = this.params.grad(`${name}.weight`);
    if (this.norm === 'rms') rmsnormBackward(gpu, dx, dw, dout, x, w, rstd, N, c.hiddenSize, { accumulate });
    else layernormBackward(gpu, dx, dw, this.params.grad(`${name}.bias`), dout, x, w, mean!, rstd, N, c.hiddenSize, { accumulate });
  }

  private attentionDims(B: number, T: number, pastLen: number, cache?: KvCache): AttentionDims {
    const c = this.config;
    return { B, Tq: T, Tk: pastLen + T, H: c.numHeads, Hkv: c.numKvHeads, D: c.headDim, kvStride: cache ? cache.capacity : T };
  }

  private ropeDims(B: number, T: number, nHeads: number, pastLen: number): RopeDims {
    const c = this.config;
    return { B, T, nHeads, D: c.headDim, theta: c.ropeTheta, posOffset: pastLen, scaling: c.ropeScaling ?? null };
  }

  /** Appends k/v rows [B, T, Hkv*D] into the cache at `pastLen`. */
  private writeCache(cacheT: Tensor, rows: Tensor, B: number, T: number, pastLen: number, capacity: number): void {
    const w = this.config.numKvHeads * this.config.headDim;
    for (let b = 0; b < B; b++) this.gpu.copy(rows, cacheT, T * w, b * T * w, (b * capacity + pastLen) * w);
  }

  private layerForward(l: number, x: Tensor, B: number, T: number, pastLen: number, cache: KvCache | undefined, seed: number | null, doc: DocTensors | null): LayerSaved {
    const { gpu, config: c } = this;
    const L = this.layers[l];
    const N = B * T, C = c.hiddenSize, F = c.intermediateSize;
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    const t: Saved = {};
    const lin: Record<string, LinearSaved> = {};
    const run = (key: string, y: Tensor, xin: Tensor, k: number) => {
      lin[key] = linearForward(gpu, this.params, L.linears[key], y, xin, N, seed === null ? null : (seed + k) >>> 0);
    };

    t.h1 = gpu.tensor([N, C], 'h1');
    t.rstd1 = gpu.tensor([N], 'rstd1');
    if (this.norm === 'layer') t.mean1 = gpu.tensor([N], 'mean1');
    this.normForward(t.h1, t.mean1 ?? null, t.rstd1, x, L.attnNorm, N);

    t.v = gpu.tensor([N, kvDim], 'v');
    if (c.architecture === 'gpt2') {
      t.qkv = gpu.tensor([N, 3 * C], 'qkv');
      run('c_attn', t.qkv, t.h1, 0);
      t.qr = gpu.tensor([N, C], 'q');
      t.kr = gpu.tensor([N, C], 'k');
      copyColumns(gpu, t.qr, C, 0, t.qkv, 3 * C, 0, C, N);
      copyColumns(gpu, t.kr, C, 0, t.qkv, 3 * C, C, C, N);
      copyColumns(gpu, t.v, C, 0, t.qkv, 3 * C, 2 * C, C, N);
    } else {
      const q = gpu.tensor([N, qDim], 'q'), k = gpu.tensor([N, kvDim], 'k');
      run('q', q, t.h1, 0);
      run('k', k, t.h1, 1);
      run('v', t.v, t.h1, 2);
      t.qr = gpu.tensor([N, qDim], 'q.rope');
      t.kr = gpu.tensor([N, kvDim], 'k.rope');
      ropeForward(gpu, t.qr, q, this.ropeDims(B, T, c.numHeads, pastLen), doc?.pos);
      ropeForward(gpu, t.kr, k, this.ropeDims(B, T, c.numKvHeads, pastLen), doc?.pos);
      gpu.release(q, k);
    }

    let kAll = t.kr, vAll = t.v;
    if (cache) {
      this.writeCache(cache.k[l], t.kr, B, T, pastLen, cache.capacity);
      this.writeCache(cache.v[l], t.v, B, T, pastLen, cache.capacity);
      kAll = cache.k[l];
      vAll = cache.v[l];
    }
    t.att = gpu.tensor([N, qDim], 'att');
    t.lse = gpu.tensor([B, c.numHeads, T], 'lse');
    attentionForward(gpu, t.att, t.lse, t.qr, kAll, vAll, this.attentionDims(B, T, pastLen, cache), 1 / Math.sqrt(c.headDim), doc?.start);

    const o = gpu.tensor([N, C], 'o');
    run('o', o, t.att, 3);
    t.x2 = gpu.tensor([N, C], 'x2');
    add(gpu, t.x2, x, o, N * C);
    gpu.release(o);

    t.h2 = gpu.tensor([N, C], 'h2');
    t.rstd2 = gpu.tensor([N], 'rstd2');
    if (this.norm === 'layer') t.mean2 = gpu.tensor([N], 'mean2');
    this.normForward(t.h2, t.mean2 ?? null, t.rstd2, t.x2, L.mlpNorm, N);

    const m = gpu.tensor([N, C], 'mlp.out');
    t.a = gpu.tensor([N, F], 'mlp.act');
    if (c.architecture === 'gpt2') {
      t.f = gpu.tensor([N, F], 'mlp.fc');
      run('fc', t.f, t.h2, 4);
      geluForward(gpu, t.a, t.f);
      run('proj', m, t.a, 5);
    } else {
      t.g = gpu.tensor([N, F], 'mlp.gate');
      t.u = gpu.tensor([N, F], 'mlp.up');
      run('gate', t.g, t.h2, 4);
      run('up', t.u, t.h2, 5);
      swigluForward(gpu, t.a, t.g, t.u, N * F);
      run('down', m, t.a, 6);
    }
    t.out = gpu.tensor([N, C], `resid.${l + 1}`);
    add(gpu, t.out, t.x2, m, N * C);
    gpu.release(m);
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
    const W = p.chunked(this.headName);
    const limit = Math.min(this.headChunkBytes, p.limits.maxBindingBytes);
    const R = Math.max(1, Math.min(N, Math.floor(limit / (4 * V))));
    const losses = gpu.tensor([N], 'losses');
    for (let r0 = 0; r0 < N; r0 += R) {
      const rows = Math.min(R, N - r0);
      const whole = rows === N;
      // Chunks copy their rows out: a view would need a 64-element-aligned row offset.
      const h = whole ? hf : gpu.tensor([rows, C], 'head.rows');
      if (!whole) gpu.copy(hf, h, rows * C, r0 * C, 0);
      const logits = gpu.tensor([rows, V], 'logits');
      matmulWT(gpu, logits, h, W, rows);
      const targets = gpu.fromU32([rows], inp.targets!.subarray(r0, r0 + rows), 'targets');
      const mask = gpu.fromArray([rows], inp.lossMask!.subarray(r0, r0 + rows), 'lossMask');
      const l = whole ? losses : gpu.tensor([rows], 'losses.rows');
      crossEntropyForwardBackward(gpu, l, dhf ? logits : null, logits, targets, mask, rows, V, gradScale);
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
    const { gpu, config: c, params: p } = this;
    const { B, T, N } = st;
    const C = c.hiddenSize;
    const full = this.mode.kind === 'full';

    const dres = gpu.tensor([N, C], 'd.resid');
    this.normBackward(dres, dhf, st.resid[st.resid.length - 1], st.fMean, st.fRstd, this.finalNorm, N, false);

    for (let l = this.layers.length - 1; l >= 0; l--) {
      this.layerBackward(l, dres, st.resid[l], st.layers[l], B, T, l > 0 || full, st.doc);
    }

    if (full) {
      scatterRowsGrad(gpu, p.chunked(this.embedName), dres, st.idsCpu, N);
      if (st.posCpu) scatterRowsGrad(gpu, p.chunked('transformer.wpe.weight'), dres, st.posCpu, N);
    }
    gpu.release(dres);
  }

  /** dres: in = d(layer output), out = d(layer input) (when needInputGrad). */
  private layerBackward(l: number, dres: Tensor, x: Tensor, s: LayerSaved, B: number, T: number, needInputGrad: boolean, doc: DocTensors | null): void {
    const { gpu, config: c, params: p } = this;
    const L = this.layers[l];
    const N = B * T, C = c.hiddenSize, F = c.intermediateSize;
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    const t = s.t;
    const back = (key: string, dx: Tensor | null, dy: Tensor, acc: boolean) => linearBackward(gpu, p, L.linears[key], dx, dy, s.lin[key], N, acc);

    // MLP: out = x2 + mlp(norm(x2))
    const da = gpu.tensor([N, F], 'd.mlp.act');
    const dh2 = gpu.tensor([N, C], 'd.h2');
    if (c.architecture === 'gpt2') {
      back('proj', da, dres, false);
      const df = gpu.tensor([N, F], 'd.mlp.fc');
      geluBackward(gpu, df, da, t.f);
      back('fc', dh2, df, false);
      gpu.release(df);
    } else {
      back('down', da, dres, false);
      const dg = gpu.tensor([N, F], 'd.gate'), du = gpu.tensor([N, F], 'd.up');
      swigluBackward(gpu, dg, du, da, t.g, t.u, N * F);
      back('gate', dh2, dg, false);
      back('up', dh2, du, true);
      gpu.release(dg, du);
    }
    gpu.release(da);
    this.normBackward(dres, dh2, t.x2, t.mean2 ?? null, t.rstd2, L.mlpNorm, N, true);              // dres = d x2
    gpu.release(dh2);

    // Attention: x2 = x + o_proj(attn(norm(x)))
    const datt = gpu.tensor([N, qDim], 'd.att');
    back('o', datt, dres, false);
    const dqr = gpu.tensor([N, qDim], 'd.q'), dkr = gpu.tensor([N, kvDim], 'd.k'), dv = gpu.tensor([N, kvDim], 'd.v');
    attentionBackward(gpu, dqr, dkr, dv, datt, t.att, t.lse, t.qr, t.kr, t.v, this.attentionDims(B, T, 0), 1 / Math.sqrt(c.headDim), doc?.start);
    gpu.release(datt);
    const dh1 = needInputGrad ? gpu.tensor([N, C], 'd.h1') : null;
    if (c.architecture === 'gpt2') {
      const dqkv = gpu.tensor([N, 3 * C], 'd.qkv');
      copyColumns(gpu, dqkv, 3 * C, 0, dqr, C, 0, C, N);
      copyColumns(gpu, dqkv, 3 * C, C, dkr, C, 0, C, N);
      copyColumns(gpu, dqkv, 3 * C, 2 * C, dv, C, 0, C, N);
      back('c_attn', dh1, dqkv, false);
      gpu.release(dqkv);
    } else {
      const dq = gpu.tensor([N, qDim], 'd.q.pre'), dk = gpu.tensor([N, kvDim], 'd.k.pre');
      ropeBackward(gpu, dq, dqr, this.ropeDims(B, T, c.numHeads, 0), doc?.pos);
      ropeBackward(gpu, dk, dkr, this.ropeDims(B, T, c.numKvHeads, 0), doc?.pos);
      back('q', dh1, dq, false);
      back('k', dh1, dk, true);
      back('v', dh1, dv, true);
      gpu.release(dq, dk);
    }
    gpu.release(dqr, dkr, dv);
    if (dh1) {
      this.normBackward(dres, dh1, x, t.mean1 ?? null, t.rstd1, L.attnNorm, N, true);              // dres = d x
      gpu.release(dh1);
    }
  }

  // ---- generation support --------------------------------------------------------------------------

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
