// Safetensors read and write, bounds-checked, plus the sharded `model.safetensors.index.json`.
//
// Format: u64 little-endian header length N, N bytes of JSON header
//   { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, "__metadata__": {..} },
// then the data; offsets are relative to the start of the data.
//
// Contract:
//  - `parseSafetensors(bytes, fileName)` validates everything before any tensor is read: header length
//    within the file and under MAX_HEADER_BYTES, JSON that is an object, known dtypes, shapes of
//    non-negative safe integers, offsets inside the data, byte length = product(shape) × dtype size,
//    tensors neither overlapping nor leaving holes (as the reference implementation requires, so a file
//    cannot hide a second payload). Every failure is a `SafetensorsError` naming the file and the problem.
//  - `readTensorF32` converts F32/F16/BF16 (and F64, integer types) to a fresh Float32Array; `readTensor`
//    returns integer dtypes in their own typed array (I64 as BigInt64Array). Data are copied, never aliased,
//    so the file's bytes can be dropped after loading and unaligned data offsets are fine.
//  - `openSafetensors(source, fileName)` does the same validation reading only the header from a ByteSource
//    (random access: a file handle, File.slice), then each tensor's byte range on request, so files over
//    2 GiB (or over what one ArrayBuffer may hold) load in the memory of their largest tensor.
//  - `writeSafetensors` writes F32, F16 or BF16 (round to nearest even), tensors in the order given,
//    the header padded with spaces to a multiple of 8 bytes, as the reference writer does.
// Not here: which tensors a model needs (src/io/hf.ts), reading files from disk (ModelFiles adapters).
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../ops/half';

export class SafetensorsError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Headers of real checkpoints are well under 1 MB; anything beyond this is corrupt or hostile. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute byte offset of the tensor's data in the file. */
  byteOffset: number;
  byteLength: number;
}

interface SafetensorsFile {
  name: string;
  metadata: Record<string, string>;
  /** In file order (by offset). */
  tensors: Map<string, TensorInfo>;
  bytes: Uint8Array;
}

/** Random access to a file's bytes: a file handle (Node), File.slice (browser), or bytes in memory. */
export interface ByteSource {
  /** Bytes in the file. */
  readonly size: number;
  /** Bytes [offset, offset + length), which must lie inside the file, as a fresh array the caller owns (byteOffset 0). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases what the source holds open (a file handle); reads after it fail. */
  close(): Promise<void>;
}

/** Bytes in memory as a ByteSource (reads copy, so the caller may keep or drop the result freely). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    read: async (offset, length) => bytes.slice(offset, offset + length),
    close: async () => {},
  };
}

/** The JSON header's length N from the file's first 8 bytes, checked against the limit and the file size. */
function headerLength(first8: Uint8Array, fileSize: number, fail: (problem: string) => never): number {
  if (fileSize < 8) fail(`truncated: ${fileSize} bytes, not even the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  if (8 + Number(n) > fileSize) fail(`truncated: header length ${n} runs past the end of the file (${fileSize} bytes)`);
  return Number(n);
}

/** Validates the JSON header (the file header's contract) given the size of the whole file; tensors in file order. */
function parseHeader(json: Uint8Array, fileSize: number, fileName: string): { metadata: Record<string, string>; tensors: Map<string, TensorInfo> } {
  const fail = (problem: string): never => { throw new SafetensorsError(fileName, problem); };
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + json.byteLength;
  const dataLength = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const infos: TensorInfo[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!entry || typeof entry !== 'object') fail(`tensor "${name}": entry is not an object`);
    const dtype = entry!.dtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`tensor "${name}": unsupported dtype ${JSON.stringify(dtype)}`);
    const shape = entry!.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    const offsets = entry!.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) fail(`tensor "${name}": data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes; file truncated?)`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = count * DTYPE_BYTES[dtype as Dtype];
    if (expected !== end - begin) fail(`tensor "${name}": shape [${(shape as number[]).join(', ')}] × ${dtype} needs ${expected} bytes but data_offsets give ${end - begin}`);
    infos.push({ name, dtype: dtype as Dtype, shape: shape as number[], byteOffset: dataStart + begin, byteLength: end - begin });
  }
  infos.sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  let cursor = dataStart;
  for (const t of infos) {
    if (t.byteOffset < cursor) fail(`tensor "${t.name}" overlaps the tensor before it`);
    if (t.byteOffset > cursor) fail(`hole of ${t.byteOffset - cursor} bytes in the data before tensor "${t.name}"`);
    cursor = t.byteOffset + t.byteLength;
  }
  if (cursor !== fileSize) fail(`${fileSize - cursor} bytes after the last tensor are not described by the header`);
  return { metadata, tensors: new Map(infos.map((t) => [t.name, t])) };
}

export function parseSafetensors(bytes: Uint8Array, fileName: string): SafetensorsFile {
  const fail = (problem: string): never => { throw new SafetensorsError(fileName, problem); };
  const n = headerLength(bytes, bytes.byteLength, fail);
  return { name: fileName, ...parseHeader(bytes.subarray(8, 8 + n), bytes.byteLength, fileName), bytes };
}

/** One tensor as read: F16/BF16 keep their bits (`half`, nothing widened yet); `f32()` converts on demand. */
export interface ReadTensor {
  shape: number[];
  dtype: Dtype;
  half: Uint16Array | null;
  f32(): Float32Array;
}

/** A safetensors file read in place: the header up front, each tensor's bytes only when asked for. */
export interface SafetensorsReader {
  name: string;
  metadata: Record<string, string>;
  /** In file order (by offset). */
  tensors: Map<string, TensorInfo>;
  /** Bytes in the file. */
  size: number;
  /** One tensor, converted as readTensorF32 does; reads only its byte range. */
  readF32(name: string): Promise<{ shape: number[]; data: Float32Array }>;
  /** One tensor as stored (reads only its byte range). */
  read(name: string): Promise<ReadTensor>;
  close(): Promise<void>;
}

/**
 * Reads and validates the header (two reads: the length, then the JSON) and nothing else: a file of any size
 * (over 2 GiB, over what one ArrayBuffer may hold) opens in the memory of its header. The reader owns `source`
 * (closed on failure here, else by `close`).
 */
export async function openSafetensors(source: ByteSource, fileName: string): Promise<SafetensorsReader> {
  const fail = (problem: string): never => { throw new SafetensorsError(fileName, problem); };
  let header: ReturnType<typeof parseHeader>;
  try {
    const n = headerLength(source.size < 8 ? new Uint8Array(8) : await source.read(0, 8), source.size, fail);
    header = parseHeader(await source.read(8, n), source.size, fileName);
  } catch (e) {
    await source.close();
    throw e;
  }
  const { metadata, tensors } = header;
  const readBytes = async (name: string): Promise<{ info: TensorInfo; buf: ArrayBuffer }> => {
    const info = tensors.get(name);
    if (!info) throw new SafetensorsError(fileName, `no tensor "${name}"`);
    let bytes = await source.read(info.byteOffset, info.byteLength);
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice(); // a view into a pool: own it
    return { info, buf: bytes.buffer as ArrayBuffer };
  };
  return {
    name: fileName, metadata, tensors, size: source.size,
    readF32: async (name) => {
      const { info, buf } = await readBytes(name);
      return toF32(decodeTensor(info, buf));
    },
    read: async (name) => {
      const { info, buf } = await readBytes(name);
      const half = info.dtype === 'F16' || info.dtype === 'BF16' ? new Uint16Array(buf) : null;
      return { shape: [...info.shape], dtype: info.dtype, half, f32: () => toF32(decodeTensor(info, buf)).data };
    },
    close: () => source.close(),
  };
}

function tensorInfo(file: SafetensorsFile, name: string): TensorInfo {
  const info = file.tensors.get(name);
  if (!info) throw new SafetensorsError(file.name, `no tensor "${name}"`);
  return info;
}

/** A copy of the tensor's bytes in a fresh, aligned buffer. */
function copyBytes(file: SafetensorsFile, info: TensorInfo): ArrayBuffer {
  const out = new Uint8Array(info.byteLength);
  out.set(file.bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength));
  return out.buffer;
}

type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** The tensor in its own dtype (F16/BF16 widened to Float32Array; BOOL as Uint8Array). Little-endian hosts only. */
export function readTensor(file: SafetensorsFile, name: string): { dtype: Dtype; shape: number[]; data: TensorData } {
  const info = tensorInfo(file, name);
  return decodeTensor(info, copyBytes(file, info));
}

/** `buf`: exactly the tensor's bytes, in a buffer the result may take over. */
function decodeTensor(info: TensorInfo, buf: ArrayBuffer): { dtype: Dtype; shape: number[]; data: TensorData } {
  const shape = [...info.shape];
  switch (info.dtype) {
    case 'F32': return { dtype: info.dtype, shape, data: new Float32Array(buf) };
    case 'F16': return { dtype: info.dtype, shape, data: f16ToF32(new Uint16Array(buf)) };
    case 'BF16': return { dtype: info.dtype, shape, data: bf16ToF32(new Uint16Array(buf)) };
    case 'F64': return { dtype: info.dtype, shape, data: new Float64Array(buf) };
    case 'I64': return { dtype: info.dtype, shape, data: new BigInt64Array(buf) };
    case 'I32': return { dtype: info.dtype, shape, data: new Int32Array(buf) };
    case 'I16': return { dtype: info.dtype, shape, data: new Int16Array(buf) };
    case 'I8': return { dtype: info.dtype, shape, data: new Int8Array(buf) };
    case 'U8': case 'BOOL': return { dtype: info.dtype, shape, data: new Uint8Array(buf) };
  }
}

/** The tensor as f32 whatever its dtype (integers converted; I64 beyond 2^53 loses precision). */
export function readTensorF32(file: SafetensorsFile, name: string): { shape: number[]; data: Float32Array } {
  return toF32(readTensor(file, name));
}

function toF32({ shape, data }: { shape: number[]; data: TensorData }): { shape: number[]; data: Float32Array } {
  if (data instanceof Float32Array) return { shape, data };
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return { shape, data: out };
}

export type WriteDtype = 'F32' | 'F16' | 'BF16';

export interface WriteTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  /** Per-tensor override of the file's dtype. */
  dtype?: WriteDtype;
}

export function writeSafetensors(tensors: WriteTensor[], opts: { dtype?: WriteDtype; metadata?: Record<string, string> } = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  const encoded: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new Error(`writeSafetensors: duplicate or reserved tensor name "${t.name}"`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`writeSafetensors: tensor "${t.name}" has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    const dtype = t.dtype ?? opts.dtype ?? 'F32';
    const bytes = dtype === 'F32' ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
      : new Uint8Array((dtype === 'F16' ? f32ToF16(t.data) : f32ToBf16(t.data)).buffer);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    encoded.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  const jsonBytesLength = new TextEncoder().encode(json).byteLength;
  json += ' '.repeat((8 - (jsonBytesLength % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const b of encoded) { out.set(b, at); at += b.byteLength; }
  return out;
}

// ---- sharded checkpoints ----

interface ShardIndex {
  metadata: Record<string, unknown>;
  /** Tensor name → shard file name. */
  weightMap: Map<string, string>;
}

/** Parse `model.safetensors.index.json`: `{ metadata?, weight_map: { tensor: "model-00001-of-00002.safetensors" } }`. */
export function parseShardIndex(text: string, fileName: string): ShardIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(fileName, `not valid JSON (${(e as Error).message})`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw new SafetensorsError(fileName, 'no "weight_map" object');
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard.includes('..') || shard.startsWith('/')) {
      throw new SafetensorsError(fileName, `weight_map["${tensor}"] is not a plain shard file name: ${JSON.stringify(shard)}`);
    }
    weightMap.set(tensor, shard);
  }
  const metadata = ((json as { metadata?: unknown }).metadata ?? {}) as Record<string, unknown>;
  return { metadata, weightMap };
}

/** Split tensors into shards of at most `maxShardBytes` (f32 sizes) and write the index; names as transformers writes them. */
export function writeShardedSafetensors(tensors: WriteTensor[], maxShardBytes: number, opts: { dtype?: WriteDtype } = {}): Map<string, Uint8Array> {
  const groups: WriteTensor[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const bytes = t.data.length * ((t.dtype ?? opts.dtype ?? 'F32') === 'F32' ? 4 : 2);
    if (size > 0 && size + bytes > maxShardBytes) { groups.push([]); size = 0; }
    groups[groups.length - 1].push(t);
    size += bytes;
  }
  const files = new Map<string, Uint8Array>();
  const weightMap: Record<string, string> = {};
  let total = 0;
  const pad = (k: number): string => String(k).padStart(5, '0');
  groups.forEach((group, k) => {
    const name = `model-${pad(k + 1)}-of-${pad(groups.length)}.safetensors`;
    const bytes = writeSafetensors(group, opts);
    files.set(name, bytes);
    for (const t of group) weightMap[t.name] = name;
    total += bytes.byteLength;
  });
  files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)));
  return files;
}
