// ONNX export of a tuned Llama-family or GPT-2 model in the layout transformers.js loads for text generation
// (see ../shared/onnxruntime-web-notes.md): onnx/model.onnx plus config.json, generation_config.json and the
// tokenizer files (the same as the merged Hugging Face export, which supplies the merged weights).
//
// Graph (standard ONNX ops, opset 17, so every execution provider runs it; float32):
//   inputs   input_ids int64 [B, S], attention_mask int64 [B, P+S], position_ids int64 [B, S],
//            past_key_values.{l}.key / .value float [B, Hkv, P, D]   (P = 0 on the first step)
//   outputs  logits [B, S, V], present.{l}.key / .value [B, Hkv, P+S, D]
//   Llama per layer: RMSNorm → q/k/v MatMul (+bias) → RoPE (HF rotate-half, cos/sin from position_ids) →
//   concat past → GQA by expand → softmax(q kᵀ/√D + mask) v → o_proj → +x → RMSNorm → SiLU(gate)·up → down → +x.
//   GPT-2: wte[ids] + wpe[position_ids]; per layer LayerNorm → c_attn → slice q/k/v → the same attention →
//   c_proj → +x → LayerNorm → c_fc → GELU (tanh) → c_proj → +x; logits against wteᵀ.
//   The mask allows key j for query i iff j ≤ P + i and attention_mask[b, j] = 1 (large negative bias otherwise).
// Linear weights are stored transposed ([in, out]; GPT-2's Conv1D already is) so each projection is one MatMul.
// With lora 'inputs' the base weights stay unmerged and every LoRA module of the model gets graph inputs named
// as in PEFT's adapter_model.safetensors, 'base_model.model.<module>.lora_A.weight' [r, in] and '.lora_B.weight'
// [out, r] (r symbolic), plus 'lora_scale' (float scalar): y = x Wᵀ + b + lora_scale·(x Aᵀ) Bᵀ. B = 0 is the base
// model, so one session serves the base and every adapter with the same target modules, at any rank.
// Not here (yet): fp16/quantised weights, external data for models over protobuf's 2 GB limit, the
// com.microsoft fused ops the WebGPU provider prefers.
import { onnx } from 'onnx-proto';
import type { ModelFiles } from '../io/model-files';
import type { Transformer } from '../model/transformer';
import { loraScale } from '../model/lora';
import { exportMergedModel, mergedWeights, type ExportFiles } from './merged';

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
export const onnxLoraInput = (module: string, ab: 'A' | 'B'): string => `base_model.model.${module}.lora_${ab}.weight`;
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

/** The model as an ONNX graph (bytes of onnx/model.onnx). */
export async function onnxGraph(model: Transformer, opts: OnnxOptions = {}): Promise<Uint8Array> {
  const c = model.config;
  const gpt2 = c.architecture === 'gpt2';
  const loraInputs = opts.lora === 'inputs';
  if (loraInputs && model.mode.kind !== 'lora') throw new Error('ONNX export: LoRA inputs asked for a model without LoRA');
  const W = await mergedWeights(model, { fold: !loraInputs });
  const loraModules = new Map(model.linearModules().filter((l) => l.lora).map((l) => [l.name, l]));
  const loraGraphInputs: onnx.IValueInfoProto[] = [];
  const g = new GraphBuilder();
  const H = c.numHeads, Hkv = c.numKvHeads, D = c.headDim, C = c.hiddenSize;
  const weight = (name: string): string => g.floats(name, W.get(name)!.shape, W.get(name)!.data);
  const linear = (x: string, name: string): string => {
    const w = W.get(`${name}.weight`)!;
    const [outF, inF] = gpt2 ? [w.shape[1], w.shape[0]] : w.shape;
    // Conv1D weights are already [in, out]
    const wt = gpt2 ? weight(`${name}.weight`) : g.floats(`${name}.weight_t`, [inF, outF], transpose(w.data, outF, inF));
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
  const eps = gpt2 ? '' : g.scalar(c.normEps);   // LayerNormalization takes epsilon as an attribute
  const rmsnorm = (x: string, name: string): string => {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, eps])])]);
    return g.op('Mul', [g.op('Mul', [x, inv]), weight(`${name}.weight`)], {}, 'rmsnorm');
  };
  const layernorm = (x: string, name: string): string =>
    g.op('LayerNormalization', [x, weight(`${name}.weight`), weight(`${name}.bias`)], { axis: -1, epsilon: c.normEps }, 'layernorm');
  const norm = gpt2 ? layernorm : rmsnorm;

  // shapes: S = new tokens, T = P + S
  const idx0 = g.ints([0], []), idx1 = g.ints([1], []), one = g.ints([1], []);
  const S = g.op('Gather', [g.op('Shape', ['input_ids']), idx1], { axis: 0 });
  const T = g.op('Gather', [g.op('Shape', ['attention_mask']), idx1], { axis: 0 });
  const P = g.op('Sub', [T, S]);
  // mask bias [B, 1, S, T]: 0 where allowed, -1e9 elsewhere
  const rows = g.op('Range', [P, T, one]);            // absolute query positions [S]
  const cols = g.op('Range', [idx0, T, one]);         // key positions [T]
  const causal = g.op('LessOrEqual', [g.op('Unsqueeze', [cols, g.ints([0])]), g.op('Unsqueeze', [rows, g.ints([1])])]); // [S, T]
  const keep = g.op('Cast', ['attention_mask'], { to: BOOL });
  const allowed = g.op('And', [causal, g.op('Unsqueeze', [keep, g.ints([1, 2])])]);    // [B, 1, S, T]
  const bias = g.op('Where', [allowed, g.scalar(0), g.scalar(-1e9)], {}, 'mask_bias');
  // RoPE (Llama family): tables [B, 1, S, D] from position_ids, then x·cos + rotate_half(x)·sin
  const makeRope = (): ((x: string) => string) => {
    const invFreq = Float32Array.from({ length: D / 2 }, (_, i) => 1 / c.ropeTheta ** ((2 * i) / D));
    const pos = g.op('Unsqueeze', [g.op('Cast', ['position_ids'], { to: FLOAT }), g.ints([2])]); // [B, S, 1]
    const freqs = g.op('Mul', [pos, g.floats('rope.inv_freq', [D / 2], invFreq)]);             // [B, S, D/2]
    const emb = g.op('Unsqueeze', [g.op('Concat', [freqs, freqs], { axis: -1 }), g.ints([1])]); // [B, 1, S, D]
    const cos = g.op('Cos', [emb]), sin = g.op('Sin', [emb]);
    const halfA = [g.ints([0]), g.ints([D / 2]), g.ints([3])], halfB = [g.ints([D / 2]), g.ints([D]), g.ints([3])];
    return (x) => {
      const x1 = g.op('Slice', [x, ...halfA]), x2 = g.op('Slice', [x, ...halfB]);
      const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: 3 });
      return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])], {}, 'rope');
    };
  };
  const heads = (x: string, n: number): string => g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, n, D])])], { perm: [0, 2, 1, 3] }); // [B, n, S, D]
  const rep = H / Hkv;
  const expandKv = (x: string): string => (rep === 1 ? x
    : g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [x, g.ints([2])]), g.ints([1, 1, rep, 1, 1])]), g.ints([0, H, -1, D])]));
  const invSqrtD = g.scalar(1 / Math.sqrt(D));

  const attention = (q: string, k: string, v: string, l: number): string => {
    const kAll = g.opTo(`present.${l}.key`, 'Concat', [`past_key_values.${l}.key`, k], { axis: 2 });
    const vAll = g.opTo(`present.${l}.value`, 'Concat', [`past_key_values.${l}.value`, v], { axis: 2 });
    const kt = g.op('Transpose', [expandKv(kAll)], { perm: [0, 1, 3, 2] });
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, kt]), invSqrtD]), bias]);
    const att = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), expandKv(vAll)]);           // [B, H, S, D]
    return g.op('Reshape', [g.op('Transpose', [att], { perm: [0, 2, 1, 3] }), g.ints([0, 0, H * D])]);
  };

  let x: string;
  if (gpt2) {
    const half = g.scalar(0.5), one = g.scalar(1), k0 = g.scalar(Math.sqrt(2 / Math.PI)), k1 = g.scalar(0.044715);
    const geluTanh = (u: string): string => { // 0.5 u (1 + tanh(√(2/π) (u + 0.044715 u³)))
      const inner = g.op('Mul', [k0, g.op('Add', [u, g.op('Mul', [k1, g.op('Mul', [u, g.op('Mul', [u, u])])])])]);
      return g.op('Mul', [g.op('Mul', [half, u]), g.op('Add', [one, g.op('Tanh', [inner])])], {}, 'gelu');
    };
    const cols3 = (i: number): string[] => [g.ints([i * C]), g.ints([(i + 1) * C]), g.ints([2])];
    x = g.op('Add', [
      g.op('Gather', [weight('transformer.wte.weight'), 'input_ids'], { axis: 0 }, 'wte'),
      g.op('Gather', [weight('transformer.wpe.weight'), 'position_ids'], { axis: 0 }, 'wpe'),
    ]);
    for (let l = 0; l < c.numLayers; l++) {
      const p = `transformer.h.${l}`;
      const qkv = linear(norm(x, `${p}.ln_1`), `${p}.attn.c_attn`);                          // [B, S, 3C]
      const [q, k, v] = [0, 1, 2].map((i) => heads(g.op('Slice', [qkv, ...cols3(i)]), H));
      x = g.op('Add', [x, linear(attention(q, k, v, l), `${p}.attn.c_proj`)], {}, 'resid');
      const fc = geluTanh(linear(norm(x, `${p}.ln_2`), `${p}.mlp.c_fc`));
      x = g.op('Add', [x, linear(fc, `${p}.mlp.c_proj`)], {}, 'resid');
    }
  } else {
    const rope = makeRope();
    x = g.op('Gather', [weight('model.embed_tokens.weight'), 'input_ids'], { axis: 0 }, 'embed');
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}`;
      const h = norm(x, `${p}.input_layernorm`);
      const q = rope(heads(linear(h, `${p}.self_attn.q_proj`), H));
      const k = rope(heads(linear(h, `${p}.self_attn.k_proj`), Hkv));
      const v = heads(linear(h, `${p}.self_attn.v_proj`), Hkv);
      x = g.op('Add', [x, linear(attention(q, k, v, l), `${p}.self_attn.o_proj`)], {}, 'resid');
      const h2 = norm(x, `${p}.post_attention_layernorm`);
      const gate = linear(h2, `${p}.mlp.gate_proj`);
      const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), linear(h2, `${p}.mlp.up_proj`)]);
      x = g.op('Add', [x, linear(act, `${p}.mlp.down_proj`)], {}, 'resid');
    }
  }
  const hf = norm(x, gpt2 ? 'transformer.ln_f' : 'model.norm');
  const embedName = gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight';
  const head = W.has('lm_head.weight') ? 'lm_head.weight' : embedName;
  const hw = W.get(head)!;
  g.opTo('logits', 'MatMul', [hf, g.floats(`${head}_t`, [C, c.vocabSize], transpose(hw.data, c.vocabSize, C))]);

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

/**
 * transformers.js layout: onnx/model.onnx + config, generation config and tokenizer files of the source.
 * config.json gains `"transformers.js_config": { "dtype": "fp32" }`: transformers.js otherwise asks for
 * onnx/model_quantized.onnx on its wasm device (the browser's default). The 'merged' export loads with
 * `pipeline('text-generation', folder)`; the 'inputs' one needs the LoRA feeds, which transformers.js does not
 * give, so it is for our own session (src/generate/onnx-decoder.ts).
 */
export async function exportOnnxModel(model: Transformer, source: ModelFiles, opts: OnnxOptions = {}): Promise<ExportFiles> {
  const hf = await exportMergedModel(model, source);
  const files: ExportFiles = new Map([...hf].filter(([name]) => !name.endsWith('.safetensors') && name !== 'model.safetensors.index.json'));
  const config = JSON.parse(new TextDecoder().decode(files.get('config.json')!)) as Record<string, unknown>;
  config['transformers.js_config'] = { dtype: 'fp32' };
  files.set('config.json', new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));
  files.set('onnx/model.onnx', await onnxGraph(model, opts));
  return files;
}
