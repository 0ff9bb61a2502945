// A tuned model of any family as one ONNX graph (onnx/model.onnx bytes): what the ONNX export writes
// (src/export/onnx.ts) and the ONNX decoder runs (onnx-decoder.ts).
//
// Graph (standard ONNX ops, opset 17, so every execution provider runs it; float32):
//   inputs   input_ids int64 [B, S], attention_mask int64 [B, P+S], position_ids int64 [B, S],
//            past_key_values.{l}.key / .value float [B, Hkv, P, D]   (P = 0 on the first step)
//   outputs  logits [B, S, V], present.{l}.key / .value [B, Hkv, P+S, D]
//   The graph walks the model's recipe (src/model/arch), the one the engine runs: embed (× scale) (+ positions);
//   per block norm → q/k/v MatMul (+bias) or fused qkv sliced → per-head q/k norm → RoPE (HF rotate-half, cos/sin
//   from position_ids with the layer's base and scaling: ropeInvFreq, as the engine) → concat past → GQA by expand
//   → softmax(q kᵀ·scale + mask) v → o → post-norm? → +x → norm → act(gate)·up or act(up) → down → post-norm? → +x;
//   final norm; logits against the head.
//   The mask allows key j for query i iff j ≤ P + i, attention_mask[b, j] = 1 and, on a sliding layer,
//   j > P + i - window (large negative bias otherwise).
// Linear weights are stored transposed ([in, out]; GPT-2's Conv1D already is) so each projection is one MatMul.
// With lora 'inputs' the base weights stay unmerged and every LoRA module of the model gets graph inputs named
// as in PEFT's adapter_model.safetensors, 'base_model.model.<module>.lora_A.weight' [r, in] and '.lora_B.weight'
// [out, r] (r symbolic), plus 'lora_scale' (float scalar): y = x Wᵀ + b + lora_scale·(x Aᵀ) Bᵀ. B = 0 is the base
// model, so one session serves the base and every adapter with the same target modules, at any rank.
// Not here (yet): fp16/quantised weights, external data for models over protobuf's 2 GB limit, the
// com.microsoft fused ops the WebGPU provider prefers.
import { onnx } from 'onnx-proto';
import type { BlockRecipe } from '../model/arch';
import { loraScale } from '../model/lora';
import { mergedWeights } from '../model/merge';
import type { Transformer } from '../model/transformer';
import { ropeInvFreq } from '../ops/rope';

const FLOAT = 1, INT64 = 7, BOOL = 9;

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private n = 0;

  private fresh(hint: string): string { return `${hint}_${this.n++}`; }

  op(opType: string, inputs: string[], attrs: Record<string, number | number[]> = {}, hint = opType): string {
    const out = this.fresh(hint);
    this.nodes.push({
      opType, input: inputs, output: [out], name: `${hint}_node_${this.n}`,
      attribute: Object.entries(attrs).map(([name, v]) => (Array.isArray(v)
        ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
        : Number.isInteger(v) ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v } : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v })),
    });
    return out;
  }

  /** A node writing a named graph output. */
  opTo(output: string, opType: string, inputs: string[], attrs: Record<string, number> = {}): string {
    this.nodes.push({ opType, input: inputs, output: [output], name: `${output}_node`, attribute: Object.entries(attrs).map(([name, i]) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i })) });
    return output;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    return name;
  }

  ints(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const_i64');
    this.initializers.push({ name, dims, dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
    return name;
  }

  scalar(value: number): string {
    return this.floats(this.fresh('const_f32'), [], Float32Array.of(value));
  }
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

const tensorType = (elemType: number, dims: (number | string)[]): onnx.ITypeProto => ({
  tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } },
});

/** Graph input name of a LoRA tensor of module `module` (PEFT's adapter_model.safetensors key). */
const onnxLoraInput = (module: string, ab: 'A' | 'B'): string => `base_model.model.${module}.lora_${ab}.weight`;
/** Graph input holding the LoRA scale (alpha / r, or alpha / √r with rsLoRA). */
export const ONNX_LORA_SCALE = 'lora_scale';

/** An adapter as the 'inputs' export takes it: tensors by graph input name, A [r, in] and B [out, r]. */
export interface OnnxLora {
  scale: number;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** The LoRA adapter of a model (our trainable tensors), ready to feed the 'inputs' export. */
export async function onnxLoraOf(model: Transformer): Promise<OnnxLora> {
  if (model.mode.kind !== 'lora') throw new Error('ONNX LoRA feeds asked for a model without LoRA');
  const tensors: OnnxLora['tensors'] = new Map();
  for (const [name, data] of await model.params.readTrainable()) {
    // trainable names are '<module>.lora_A' / '<module>.lora_B'
    const m = /^(.*)\.lora_([AB])$/.exec(name);
    if (!m) throw new Error(`ONNX LoRA feeds: unexpected trainable tensor ${name}`);
    tensors.set(onnxLoraInput(m[1], m[2] as 'A' | 'B'), { shape: model.params.specs.get(name)!.shape, data });
  }
  return { scale: loraScale(model.mode.lora), tensors };
}

export interface OnnxOptions {
  /** 'merged' (default): LoRA folded into the weights; 'inputs': LoRA A/B and scale as graph inputs. */
  lora?: 'merged' | 'inputs';
}

/** The model as an ONNX graph (bytes of onnx/model.onnx), built from the same recipe the engine runs. */
export async function onnxGraph(model: Transformer, opts: OnnxOptions = {}): Promise<Uint8Array> {
  const c = model.config;
  const r = model.recipe;
  const loraInputs = opts.lora === 'inputs';
  if (loraInputs && model.mode.kind !== 'lora') throw new Error('ONNX export: LoRA inputs asked for a model without LoRA');
  // A quantised base exports dequantised: the graph then decodes what the engine computes (Compare's ONNX backend).
  const W = await mergedWeights(model, { fold: !loraInputs, dequantised: true });
  const loraModules = new Map(model.linearModules().filter((l) => l.lora).map((l) => [l.name, l]));
  const loraGraphInputs: onnx.IValueInfoProto[] = [];
  const g = new GraphBuilder();
  const H = c.numHeads, Hkv = c.numKvHeads, D = c.headDim, C = c.hiddenSize;
  const weight = (name: string): string => g.floats(name, W.get(name)!.shape, W.get(name)!.data);
  const linear = (x: string, name: string): string => {
    const w = W.get(`${name}.weight`)!;
    const [outF, inF] = r.conv1d ? [w.shape[1], w.shape[0]] : w.shape;
    // Conv1D weights are already [in, out]
    const wt = r.conv1d ? weight(`${name}.weight`) : g.floats(`${name}.weight_t`, [inF, outF], transpose(w.data, outF, inF));
    let y = g.op('MatMul', [x, wt], {}, name.split('.').pop());
    if (W.has(`${name}.bias`)) y = g.op('Add', [y, weight(`${name}.bias`)]);
    if (loraInputs && loraModules.has(name)) {
      const A = onnxLoraInput(name, 'A'), B = onnxLoraInput(name, 'B');
      loraGraphInputs.push({ name: A, type: tensorType(FLOAT, ['lora_rank', inF]) }, { name: B, type: tensorType(FLOAT, [outF, 'lora_rank']) });
      const u = g.op('MatMul', [x, g.op('Transpose', [A], { perm: [1, 0] })]);                 // [B, S, r]
      const delta = g.op('MatMul', [u, g.op('Transpose', [B], { perm: [1, 0] })]);             // [B, S, out]
      y = g.op('Add', [y, g.op('Mul', [delta, ONNX_LORA_SCALE])], {}, 'lora');
    }
    return y;
  };
  // RMSNorm over the last axis (any leading shape: rows of the hidden state, or [B, n, S, D] heads for q/k norms);
  // Gemma's x·(1 + w) stores 1 + w rounded to f32, the value HF's (1.0 + weight.float()) computes.
  const eps = r.norm.kind === 'rms' ? g.scalar(r.norm.eps) : '';   // LayerNormalization takes epsilon as an attribute
  const rmsnorm = (x: string, name: string): string => {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, eps])])]);
    const w = W.get(`${name}.weight`)!;
    const scaleW = r.norm.offset ? g.floats(`${name}.weight_plus_1`, w.shape, w.data.map((v) => Math.fround(v + 1))) : weight(`${name}.weight`);
    return g.op('Mul', [g.op('Mul', [x, inv]), scaleW], {}, 'rmsnorm');
  };
  const layernorm = (x: string, name: string): string =>
    g.op('LayerNormalization', [x, weight(`${name}.weight`), weight(`${name}.bias`)], { axis: -1, epsilon: r.norm.eps }, 'layernorm');
  const norm = r.norm.kind === 'layer' ? layernorm : rmsnorm;
  // GELU's constants exist only in graphs that use it: onnxruntime warns about every unused initializer.
  let geluConsts: { half: string; one: string; k0: string; k1: string } | null = null;
  const geluTanh = (u: string): string => { // 0.5 u (1 + tanh(√(2/π) (u + 0.044715 u³)))
    geluConsts ??= { half: g.scalar(0.5), one: g.scalar(1), k0: g.scalar(Math.sqrt(2 / Math.PI)), k1: g.scalar(0.044715) };
    const { half, one, k0, k1 } = geluConsts;
    const inner = g.op('Mul', [k0, g.op('Add', [u, g.op('Mul', [k1, g.op('Mul', [u, g.op('Mul', [u, u])])])])]);
    return g.op('Mul', [g.op('Mul', [half, u]), g.op('Add', [one, g.op('Tanh', [inner])])], {}, 'gelu');
  };
  const act = (u: string): string => (r.mlp.activation === 'silu' ? g.op('Mul', [u, g.op('Sigmoid', [u])]) : geluTanh(u));

  // shapes: S = new tokens, T = P + S
  const idx0 = g.ints([0], []), idx1 = g.ints([1], []), oneI = g.ints([1], []);
  const S = g.op('Gather', [g.op('Shape', ['input_ids']), idx1], { axis: 0 });
  const T = g.op('Gather', [g.op('Shape', ['attention_mask']), idx1], { axis: 0 });
  const P = g.op('Sub', [T, S]);
  // mask bias [B, 1, S, T]: 0 where allowed, -1e9 elsewhere; a sliding layer also needs key > query - window
  const rows = g.op('Range', [P, T, oneI]);            // absolute query positions [S]
  const cols = g.op('Range', [idx0, T, oneI]);         // key positions [T]
  const keyPos = g.op('Unsqueeze', [cols, g.ints([0])]), queryPos = g.op('Unsqueeze', [rows, g.ints([1])]);
  const causal = g.op('LessOrEqual', [keyPos, queryPos]); // [S, T]
  const keep = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: BOOL }), g.ints([1, 2])]);
  const maskBias = (allowed: string) => g.op('Where', [g.op('And', [allowed, keep]), g.scalar(0), g.scalar(-1e9)], {}, 'mask_bias'); // [B, 1, S, T]
  const biases = new Map<number | null, string>();
  const biasFor = (window: number | null): string => {
    if (!biases.has(window)) {
      const allowed = window === null ? causal
        : g.op('And', [causal, g.op('Greater', [keyPos, g.op('Sub', [queryPos, g.ints([window], [])])])]);
      biases.set(window, maskBias(allowed));
    }
    return biases.get(window)!;
  };
  // RoPE: per (base, scaling) one pair of tables [B, 1, S, D] from position_ids, then x·cos + rotate_half(x)·sin
  const pos = g.op('Unsqueeze', [g.op('Cast', ['position_ids'], { to: FLOAT }), g.ints([2])]); // [B, S, 1]
  const halfA = [g.ints([0]), g.ints([D / 2]), g.ints([3])], halfB = [g.ints([D / 2]), g.ints([D]), g.ints([3])];
  const ropeTables = new Map<string, [string, string]>();
  const rope = (x: string, spec: NonNullable<BlockRecipe['attention']['rope']>): string => {
    const key = JSON.stringify(spec);
    if (!ropeTables.has(key)) {
      const freqs = g.op('Mul', [pos, g.floats(`rope.inv_freq.${ropeTables.size}`, [D / 2], ropeInvFreq(D, spec.theta, spec.scaling))]); // [B, S, D/2]
      const emb = g.op('Unsqueeze', [g.op('Concat', [freqs, freqs], { axis: -1 }), g.ints([1])]); // [B, 1, S, D]
      ropeTables.set(key, [g.op('Cos', [emb]), g.op('Sin', [emb])]);
    }
    const [cos, sin] = ropeTables.get(key)!;
    const x1 = g.op('Slice', [x, ...halfA]), x2 = g.op('Slice', [x, ...halfB]);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: 3 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])], {}, 'rope');
  };
  const heads = (x: string, n: number): string => g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, n, D])])], { perm: [0, 2, 1, 3] }); // [B, n, S, D]
  const rep = H / Hkv;
  const expandKv = (x: string): string => (rep === 1 ? x
    : g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [x, g.ints([2])]), g.ints([1, 1, rep, 1, 1])]), g.ints([0, H, -1, D])]));

  const attention = (q: string, k: string, v: string, l: number, spec: BlockRecipe['attention']): string => {
    const kAll = g.opTo(`present.${l}.key`, 'Concat', [`past_key_values.${l}.key`, k], { axis: 2 });
    const vAll = g.opTo(`present.${l}.value`, 'Concat', [`past_key_values.${l}.value`, v], { axis: 2 });
    const kt = g.op('Transpose', [expandKv(kAll)], { perm: [0, 1, 3, 2] });
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, kt]), g.scalar(spec.scale)]), biasFor(spec.window)]);
    const att = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), expandKv(vAll)]);           // [B, H, S, D]
    return g.op('Reshape', [g.op('Transpose', [att], { perm: [0, 2, 1, 3] }), g.ints([0, 0, H * D])]);
  };
  const residual = (x: string, sub: string, postNorm: string | null): string => g.op('Add', [x, postNorm ? norm(sub, postNorm) : sub], {}, 'resid');

  let x = g.op('Gather', [weight(r.embed), 'input_ids'], { axis: 0 }, 'embed');
  if (r.embedScale !== 1) x = g.op('Mul', [x, g.scalar(Math.fround(r.embedScale))], {}, 'embed_scale');
  if (r.positions) x = g.op('Add', [x, g.op('Gather', [weight(r.positions), 'position_ids'], { axis: 0 }, 'positions')]);
  model.layers.forEach((L, l) => {
    const h = norm(x, L.attnNorm);
    let q: string, k: string, v: string;
    if (L.linears.qkv) {
      const qkv = linear(h, L.linears.qkv.name);                                                    // [B, S, q | k | v]
      const cols3 = (from: number, to: number): string[] => [g.ints([from]), g.ints([to]), g.ints([2])];
      const qDim = H * D, kvDim = Hkv * D;
      [q, k, v] = [heads(g.op('Slice', [qkv, ...cols3(0, qDim)]), H), heads(g.op('Slice', [qkv, ...cols3(qDim, qDim + kvDim)]), Hkv),
        heads(g.op('Slice', [qkv, ...cols3(qDim + kvDim, qDim + 2 * kvDim)]), Hkv)];
    } else {
      [q, k, v] = [heads(linear(h, L.linears.q!.name), H), heads(linear(h, L.linears.k!.name), Hkv), heads(linear(h, L.linears.v!.name), Hkv)];
    }
    if (L.qNorm) q = norm(q, L.qNorm);
    if (L.kNorm) k = norm(k, L.kNorm);
    if (L.attention.rope) { q = rope(q, L.attention.rope); k = rope(k, L.attention.rope); }
    x = residual(x, linear(attention(q, k, v, l, L.attention), L.linears.o!.name), L.postAttnNorm);
    const h2 = norm(x, L.mlpNorm);
    const hidden = L.linears.gate ? g.op('Mul', [act(linear(h2, L.linears.gate.name)), linear(h2, L.linears.up!.name)]) : act(linear(h2, L.linears.up!.name));
    x = residual(x, linear(hidden, L.linears.down!.name), L.postMlpNorm);
  });
  const hf = norm(x, r.finalNorm);
  const hw = W.get(r.head)!;
  g.opTo('logits', 'MatMul', [hf, g.floats(`${r.head}_t`, [C, c.vocabSize], transpose(hw.data, c.vocabSize, C))]);

  const kvDims = ['batch_size', Hkv, 'past_sequence_length', D];
  const presentDims = ['batch_size', Hkv, 'total_sequence_length', D];
  const layers = Array.from({ length: c.numLayers }, (_, l) => l);
  const graph: onnx.IGraphProto = {
    name: `${c.modelType}-merged`,
    node: g.nodes,
    initializer: g.initializers,
    input: [
      { name: 'input_ids', type: tensorType(INT64, ['batch_size', 'sequence_length']) },
      { name: 'attention_mask', type: tensorType(INT64, ['batch_size', 'total_sequence_length']) },
      { name: 'position_ids', type: tensorType(INT64, ['batch_size', 'sequence_length']) },
      ...layers.flatMap((l) => ['key', 'value'].map((kv) => ({ name: `past_key_values.${l}.${kv}`, type: tensorType(FLOAT, kvDims) }))),
      ...(loraInputs ? [{ name: ONNX_LORA_SCALE, type: tensorType(FLOAT, []) }, ...loraGraphInputs] : []),
    ],
    output: [
      { name: 'logits', type: tensorType(FLOAT, ['batch_size', 'sequence_length', c.vocabSize]) },
      ...layers.flatMap((l) => ['key', 'value'].map((kv) => ({ name: `present.${l}.${kv}`, type: tensorType(FLOAT, presentDims) }))),
    ],
  };
  const proto = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'webgpu-sft-studio', graph });
  return onnx.ModelProto.encode(proto).finish();
}
