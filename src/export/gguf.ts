// GGUF LoRA adapters for llama.cpp (`llama-cli -m base.gguf --lora adapter.gguf`, llama-server, llama-export-lora),
// as llama.cpp's convert_lora_to_gguf.py writes them and llama_adapter_lora_init reads them.
//
// Container (GGUF v3, little-endian): "GGUF", u32 version 3, u64 tensor count, u64 KV count, the KV pairs
// (gguf string key = u64 length + UTF-8; u32 value type; value), the tensor infos (name, u32 n_dims, u64 dims
// FASTEST-FIRST, i.e. numpy's shape reversed, u32 ggml type, u64 offset into the data), zero padding to the
// alignment (general.alignment, 32), then each tensor's data at an offset that is a multiple of 32.
//
// Metadata: general.architecture (llama | qwen2 | gpt2), general.type = "adapter", adapter.type = "lora",
// adapter.lora.alpha (f32), general.name, general.file_type, general.quantization_version, general.alignment.
// Tensors: '<llama.cpp base tensor>.lora_a' with numpy shape [r, in] (ne = [in, r]) and '.lora_b' [out, r]
// (ne = [r, out]), the shapes llama.cpp checks against the base tensor (a.ne[0] = base ne[0], b.ne[1] = base ne[1],
// a.ne[1] = b.ne[0]). Names by llama.cpp's tensor map: blk.N.attn_q / attn_k / attn_v / attn_output / ffn_gate /
// ffn_up / ffn_down (Llama, Mistral, Qwen2); blk.N.attn_qkv / attn_output / ffn_up / ffn_down (GPT-2).
//
// Conventions that differ from the Hugging Face weights, each as convert_hf_to_gguf.py does for the base model:
//  - Llama/Mistral (arch llama): q_proj and k_proj rows are permuted from HF's rotate-half RoPE layout to
//    ggml's interleaved one (reshape [heads, 2, D/2, ·] → swap axes 1, 2). The delta's rows are B's rows, so
//    lora_b of attn_q/attn_k is permuted the same way (k with the KV head count); lora_a is unchanged.
//    Qwen2 (arch qwen2) uses NeoX RoPE in llama.cpp: no permutation.
//  - Scale: llama.cpp applies alpha / r with r read from the tensors. For rsLoRA (alpha / √r) we write
//    alpha·√r, so llama.cpp applies exactly our scale (convert_lora_to_gguf.py writes lora_alpha as is, which
//    is wrong for rsLoRA adapters).
//  - GPT-2: llama.cpp stores Conv1D weights transposed to [out, in] like a Linear, so the PEFT shapes
//    A [r, in], B [out, r] already fit (convert_lora_to_gguf.py's transpose of the LoRA pair would swap them).
// The container writer (writeGguf) and the tensor encodings (f32, f16, bf16, q8_0; q4_K, q6_K, q5_0 from kquants.ts) are shared with the merged
// model writer (gguf-model.ts); the family facts (names, permutation) come from gguf-arch.ts.
// Not here: tokenizer or base weights (an adapter carries neither).
import { f32ToBf16, f32ToF16 } from '../ops/half';
import { loraNames } from '../model/linear';
import type { Transformer } from '../model/transformer';
import type { ModelConfig } from '../model/config';
import { ggufArch, ggufParamName } from './gguf-arch';
import { quantizeQ4_K, quantizeQ5_0, quantizeQ6_K } from './kquants';
import type { ExportFiles } from './merged';

const GGUF_ALIGNMENT = 32;

// gguf_type
const T = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
// ggml_type and llama_ftype (general.file_type) of the tensor dtypes we write
const GGML_TYPE = { F32: 0, F16: 1, Q5_0: 6, Q8_0: 8, Q4_K: 12, Q6_K: 14, BF16: 30 } as const;
export const GGUF_FILE_TYPE = { F32: 0, F16: 1, Q8_0: 7, Q4_K_M: 15, BF16: 32 } as const;
/** ggml's Q8_0 block: 32 weights as one f16 scale d and 32 int8 q, x ≈ d·q. */
export const Q8_0_BLOCK = 32;

export type GgufDtype = keyof typeof GGML_TYPE;

export type GgufValue =
  | { type: 'string'; value: string }
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'u32[]'; value: number[] }
  | { type: 'f32[]'; value: Float32Array }
  | { type: 'i32[]'; value: number[] }
  | { type: 'string[]'; value: string[] };

export interface GgufTensor {
  name: string;
  /** Row-major (numpy/PyTorch) shape; written reversed, fastest dimension first. */
  shape: number[];
  data: Float32Array;
  dtype: GgufDtype;
}

const utf8 = new TextEncoder();

class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  u64(v: number): void { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  string(s: string): void { const b = utf8.encode(s); this.u64(b.length); this.bytes(b); }
  pad(alignment: number): void { while (this.length % alignment) this.u8(0); }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  switch (v.type) {
    case 'string': w.u32(T.string); w.string(v.value); break;
    case 'u32': w.u32(T.u32); w.u32(v.value); break;
    case 'f32': w.u32(T.f32); w.f32(v.value); break;
    case 'bool': w.u32(T.bool); w.u8(v.value ? 1 : 0); break;
    case 'u32[]': w.u32(T.array); w.u32(T.u32); w.u64(v.value.length); v.value.forEach((x) => w.u32(x)); break;
    case 'f32[]': w.u32(T.array); w.u32(T.f32); w.u64(v.value.length); v.value.forEach((x) => w.f32(x)); break;
    case 'i32[]': w.u32(T.array); w.u32(T.i32); w.u64(v.value.length); v.value.forEach((x) => w.u32(x >>> 0)); break;
    case 'string[]': w.u32(T.array); w.u32(T.string); w.u64(v.value.length); v.value.forEach((x) => w.string(x)); break;
  }
}

/**
 * ggml's quantize_row_q8_0_ref: per block of 32, d = max|x| / 127 (stored f16), q = round(x / d) half away
 * from zero (C's roundf), d = 0 for an all-zero block. Rows must be whole blocks.
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % Q8_0_BLOCK) throw new Error(`quantizeQ8_0: ${x.length} values are not whole blocks of ${Q8_0_BLOCK}`);
  const blocks = x.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * (2 + Q8_0_BLOCK));
  const view = new DataView(out.buffer);
  const scale = new Float32Array(1);
  for (let b = 0; b < blocks; b++) {
    const row = x.subarray(b * Q8_0_BLOCK, (b + 1) * Q8_0_BLOCK);
    let amax = 0;
    for (const v of row) amax = Math.max(amax, Math.abs(v));
    scale[0] = amax / 127;
    const id = scale[0] ? Math.fround(1 / scale[0]) : 0;
    const at = b * (2 + Q8_0_BLOCK);
    view.setUint16(at, f32ToF16(scale)[0], true);
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const v = Math.fround(row[i] * id);
      view.setInt8(at + 2 + i, Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
  return out;
}

function tensorBytes(t: GgufTensor): Uint8Array {
  if (t.dtype === 'Q8_0') return quantizeQ8_0(t.data);
  if (t.dtype === 'Q4_K') return quantizeQ4_K(t.data);
  if (t.dtype === 'Q6_K') return quantizeQ6_K(t.data);
  if (t.dtype === 'Q5_0') return quantizeQ5_0(t.data);
  if (t.dtype === 'F32') return new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
  return new Uint8Array((t.dtype === 'F16' ? f32ToF16(t.data) : f32ToBf16(t.data)).buffer);
}

/** A GGUF v3 file. KV pairs in the order given (general.alignment is added when absent). */
export function writeGguf(kv: [string, GgufValue][], tensors: GgufTensor[], alignment = GGUF_ALIGNMENT): Uint8Array {
  const pairs = kv.some(([k]) => k === 'general.alignment') ? kv : [...kv, ['general.alignment', { type: 'u32', value: alignment }] as [string, GgufValue]];
  const names = new Set<string>();
  const w = new ByteWriter();
  w.bytes(utf8.encode('GGUF'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(pairs.length);
  for (const [key, value] of pairs) { w.string(key); writeValue(w, value); }
  const datas = tensors.map(tensorBytes);
  let offset = 0;
  tensors.forEach((t, i) => {
    if (names.has(t.name)) throw new Error(`writeGguf: duplicate tensor ${t.name}`);
    names.add(t.name);
    if (t.shape.reduce((a, b) => a * b, 1) !== t.data.length) throw new Error(`writeGguf: ${t.name} has shape [${t.shape}] but ${t.data.length} values`);
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(GGML_TYPE[t.dtype]);
    w.u64(offset);
    offset += Math.ceil(datas[i].length / alignment) * alignment;
  });
  w.pad(alignment);
  for (const d of datas) { w.bytes(d); w.pad(alignment); }
  return w.result();
}

/** HF module path → llama.cpp base tensor name ('model.layers.3.self_attn.q_proj' → 'blk.3.attn_q.weight'). */
export function ggufTensorName(modulePath: string, config: ModelConfig): string {
  const mapped = ggufParamName(ggufArch(config), `${modulePath}.weight`);
  if (!mapped?.short) throw new Error(`GGUF export: no llama.cpp tensor name for module ${modulePath}`);
  return mapped.name;
}

/**
 * convert_hf_to_gguf.py's LlamaModel.permute on the rows of an [out, cols] matrix:
 * rows viewed as [heads, 2, out/heads/2] are reordered to [heads, out/heads/2, 2].
 */
export function permuteRopeRows(w: Float32Array, out: number, cols: number, heads: number): Float32Array {
  const half = out / heads / 2;
  if (!Number.isInteger(half)) throw new Error(`permuteRopeRows: ${out} rows do not split into ${heads} heads of even size`);
  const res = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) for (let two = 0; two < 2; two++) for (let i = 0; i < half; i++) {
    const src = (h * 2 + two) * half + i, dst = (h * half + i) * 2 + two;
    res.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
  }
  return res;
}

export interface GgufLoraOptions {
  /** general.name (default: 'LoRA adapter'). */
  name?: string;
  /** Tensor dtype (default F32; llama.cpp's converter defaults to f32 too). */
  dtype?: 'F32' | 'F16' | 'BF16';
}

/** The model's LoRA adapter as one GGUF file: `adapter-<dtype>.gguf`. */
export async function exportGgufLora(model: Transformer, opts: GgufLoraOptions = {}): Promise<ExportFiles> {
  if (model.mode.kind !== 'lora') throw new Error('GGUF export: this model has no LoRA adapter');
  const dtype = opts.dtype ?? 'F32';
  const c = model.config;
  const arch = ggufArch(c);
  const values = await model.params.readTrainable();
  const tensors: GgufTensor[] = [];
  let rank = 0, scale = 0;
  for (const lin of model.linearModules()) {
    if (!lin.lora) continue;
    ({ rank, scale } = lin.lora);
    const { A, B } = loraNames(lin.name);
    const base = ggufTensorName(lin.name, c);
    let b = values.get(B)!;
    const short = base.split('.')[2];
    if (arch.ropePermute && (short === 'attn_q' || short === 'attn_k')) {
      b = permuteRopeRows(b, lin.outF, rank, short === 'attn_q' ? c.numHeads : c.numKvHeads);
    }
    tensors.push({ name: `${base}.lora_a`, shape: [rank, lin.inF], data: values.get(A)!, dtype });
    tensors.push({ name: `${base}.lora_b`, shape: [lin.outF, rank], data: b, dtype });
  }
  const kv: [string, GgufValue][] = [
    ['general.architecture', { type: 'string', value: arch.name }],
    ['general.type', { type: 'string', value: 'adapter' }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    // llama.cpp applies alpha / r; alpha = s·r makes that our scale s (= lora_alpha unless rsLoRA)
    ['adapter.lora.alpha', { type: 'f32', value: scale * rank }],
    ['general.name', { type: 'string', value: opts.name ?? 'LoRA adapter' }],
    ['general.file_type', { type: 'u32', value: GGUF_FILE_TYPE[dtype] }],
    ['general.quantization_version', { type: 'u32', value: 2 }],
    ['general.alignment', { type: 'u32', value: GGUF_ALIGNMENT }],
  ];
  return new Map([[`adapter-${dtype.toLowerCase()}.gguf`, writeGguf(kv, tensors)]]);
}
