// Safetensors: files built by hand (independently of our writer) read back exactly; our writer round-trips
// F32 exactly and F16/BF16 within half an ulp; every malformed header gives a SafetensorsError naming the
// file and the problem; random corruption never crashes or hangs.
import { describe, expect, test } from 'vitest';
import {
  parseSafetensors, parseShardIndex, readTensor, readTensorF32, SafetensorsError, writeSafetensors, writeShardedSafetensors,
} from '../../src/io/safetensors';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/ops/half';
import { randn, rng } from '../helpers/check';

/** A safetensors file from a header object and raw data, written without our writer. */
function handMade(header: unknown, data: Uint8Array, opts: { headerLength?: bigint; pad?: number } = {}): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header) + ' '.repeat(opts.pad ?? 0));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function bytesOf(...arrays: ArrayBufferView[]): Uint8Array {
  const total = arrays.reduce((n, a) => n + a.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const a of arrays) { out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at); at += a.byteLength; }
  return out;
}

function expectError(bytes: Uint8Array, problem: RegExp): void {
  let error: unknown = null;
  try { parseSafetensors(bytes, 'bad.safetensors'); } catch (e) { error = e; }
  expect(error, `expected an error matching ${problem}`).toBeInstanceOf(SafetensorsError);
  expect((error as Error).message).toMatch(/^bad\.safetensors: /);
  expect((error as Error).message).toMatch(problem);
}

describe('reading files written by hand', () => {
  test('every dtype, an unaligned data offset and metadata', () => {
    const f32 = new Float32Array([1.5, -2.25, 3e-8, 1e30, -0, 7]);
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555]); // 1, -2, 65504, 2^-24, inf, 0.33325
    const bf16 = new Uint16Array([0x3f80, 0xc040, 0x4049, 0x0000]); // 1, -3, 3.140625, 0
    const i32 = new Int32Array([-7, 2147483647]);
    const i64 = new BigInt64Array([-5n, 1234567890123n]);
    const u8 = new Uint8Array([0, 255, 9]);
    const parts = [f32, f16, bf16, i32, i64, u8];
    const names = ['a', 'h', 'b', 'i', 'l', 'u'];
    const dtypes = ['F32', 'F16', 'BF16', 'I32', 'I64', 'U8'];
    const shapes = [[2, 3], [6], [2, 2], [2], [1, 2], [3]];
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let at = 0;
    parts.forEach((p, k) => { header[names[k]] = { dtype: dtypes[k], shape: shapes[k], data_offsets: [at, at + p.byteLength] }; at += p.byteLength; });
    // Pad the header (with spaces, as allowed) to an odd length: the data then start off 4-byte alignment.
    const pad = (JSON.stringify(header).length + 1) % 2;
    const bytes = handMade(header, bytesOf(...parts), { pad });
    expect((bytes.byteLength - at) % 2).toBe(1);
    const file = parseSafetensors(bytes, 'hand.safetensors');
    expect(file.metadata).toEqual({ format: 'pt' });
    expect([...file.tensors.keys()]).toEqual(names);
    expect(readTensorF32(file, 'a')).toEqual({ shape: [2, 3], data: f32 });
    expect([...readTensorF32(file, 'h').data]).toEqual([1, -2, 65504, 2 ** -24, Infinity, 0.333251953125]);
    expect([...readTensorF32(file, 'b').data]).toEqual([1, -3, 3.140625, 0]);
    expect(readTensor(file, 'i')).toEqual({ dtype: 'I32', shape: [2], data: i32 });
    expect(readTensor(file, 'l').data).toEqual(i64);
    expect(readTensor(file, 'u').data).toEqual(u8);
    expect([...readTensorF32(file, 'l').data]).toEqual([-5, 1234567890123].map(Math.fround));
    expect(() => readTensor(file, 'nope')).toThrow('hand.safetensors: no tensor "nope"');
  });

  test('an empty file (header only) and zero-size tensors', () => {
    const empty = parseSafetensors(handMade({}, new Uint8Array(0)), 'e');
    expect(empty.tensors.size).toBe(0);
    const z = parseSafetensors(handMade({ z: { dtype: 'F32', shape: [0, 4], data_offsets: [0, 0] } }, new Uint8Array(0)), 'z');
    expect(readTensorF32(z, 'z')).toEqual({ shape: [0, 4], data: new Float32Array(0) });
  });
});

describe('malformed files give a clear error', () => {
  const one = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const data8 = new Uint8Array(8);
  test.each([
    ['fewer than 8 bytes', new Uint8Array(5), /truncated: 5 bytes/],
    ['a huge header length', handMade(one, data8, { headerLength: 2n ** 62n }), /header length \d+ exceeds/],
    ['a header length past the end', handMade(one, data8, { headerLength: 10_000n }), /truncated: header length 10000 runs past the end/],
    ['a header that is not JSON', handMade('{"w": {"dtype": "F32", ', data8), /header is not valid JSON/],
    ['a header that is not UTF-8', handMade('', new Uint8Array([0xff, 0xfe])).map((b, i) => (i === 0 ? 2 : b)), /not valid JSON/],
    ['a header that is an array', handMade([1, 2], data8), /not a JSON object/],
    ['an unknown dtype', handMade({ w: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, data8), /tensor "w": unsupported dtype "Q4"/],
    ['a negative dimension', handMade({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data8), /tensor "w": shape \[-2\]/],
    ['offsets that are not a pair', handMade({ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, data8), /data_offsets \[0\]/],
    ['offsets ending before they begin', handMade({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, data8), /end before they begin/],
    ['offsets past the end (truncated data)', handMade(one, new Uint8Array(4)), /run past the end of the data \(4 bytes/],
    ['shape × dtype ≠ byte length', handMade({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data8), /shape \[3\] × F32 needs 12 bytes but data_offsets give 8/],
    ['overlapping tensors', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data8), /overlaps/],
    ['a hole between tensors', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data8), /hole of 4 bytes/],
    ['bytes after the last tensor', handMade(one, new Uint8Array(12)), /4 bytes after the last tensor/],
    ['metadata values that are not strings', handMade({ __metadata__: { n: 3 } }, new Uint8Array(0)), /__metadata__\.n is not a string/],
  ])('%s', (_, bytes, problem) => expectError(bytes, problem));

  test('random truncation and byte corruption of a valid file never crash (a SafetensorsError or a valid parse)', () => {
    const good = writeSafetensors([
      { name: 'a', shape: [3, 5], data: randn(15, 1) },
      { name: 'b', shape: [7], data: randn(7, 2) },
    ], { dtype: 'BF16' });
    const r = rng(7);
    for (let trial = 0; trial < 300; trial++) {
      let bytes = good.slice();
      if (trial % 2 === 0) bytes = bytes.slice(0, Math.floor(r() * bytes.length));
      else for (let k = 0; k < 3; k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      try {
        const file = parseSafetensors(bytes, 'fuzz');
        for (const name of file.tensors.keys()) readTensor(file, name);
      } catch (e) {
        expect(e).toBeInstanceOf(SafetensorsError);
      }
    }
  });
});

describe('writing', () => {
  const tensors = [
    { name: 'model.embed_tokens.weight', shape: [5, 3], data: randn(15, 3, 4) },
    { name: 'x', shape: [4], data: new Float32Array([0, -0, 1e-9, 70000]) },
    { name: 'y', shape: [], data: new Float32Array([0.1]) },
  ];

  test('F32 round-trips exactly, with the header padded to 8 bytes and metadata kept', () => {
    const bytes = writeSafetensors(tensors, { metadata: { format: 'pt' } });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const file = parseSafetensors(bytes, 'w');
    expect(file.metadata).toEqual({ format: 'pt' });
    for (const t of tensors) expect(readTensorF32(file, t.name)).toEqual({ shape: t.shape, data: t.data });
  });

  test('F16 and BF16 round-trip within half an ulp (relative 2^-11 and 2^-8), overflow to inf', () => {
    const data = randn(2000, 5, 100);
    for (const [dtype, rel] of [['F16', 2 ** -11], ['BF16', 2 ** -8]] as const) {
      const file = parseSafetensors(writeSafetensors([{ name: 't', shape: [2000], data }], { dtype }), dtype);
      expect(file.tensors.get('t')!.dtype).toBe(dtype);
      const back = readTensorF32(file, 't').data;
      for (let i = 0; i < data.length; i++) {
        // F16 below 2^-14 is subnormal: absolute spacing 2^-24.
        expect(Math.abs(back[i] - data[i]), `${dtype}[${i}] ${data[i]} → ${back[i]}`).toBeLessThanOrEqual(rel * Math.abs(data[i]) + 2 ** -25);
      }
    }
    expect([...f16ToF32(f32ToF16(new Float32Array([65519, 65520, -1e6, NaN])))]).toEqual([65504, Infinity, -Infinity, NaN]);
  });

  test('every F16 and every BF16 bit pattern survives f16→f32→f16 (NaNs stay NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    for (const [toF32, fromF32, isNaN16] of [
      [f16ToF32, f32ToF16, (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0],
      [bf16ToF32, f32ToBf16, (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0],
    ] as const) {
      const back = fromF32(toF32(all));
      for (let i = 0; i < 65536; i++) {
        if (isNaN16(i)) expect(isNaN16(back[i]), `NaN ${i.toString(16)}`).toBe(true);
        else if (back[i] !== i) expect.fail(`bits ${i.toString(16)} came back as ${back[i].toString(16)}`);
      }
    }
  });

  test('rounding is to nearest, ties to even', () => {
    // 1 + 2^-11 is halfway between f16 1 and 1 + 2^-10: ties to the even mantissa (1). 1 + 3·2^-11 → 1 + 2^-9.
    expect([...f32ToF16(new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20]))]).toEqual([0x3c00, 0x3c02, 0x3c01]);
    expect([...f32ToBf16(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20]))]).toEqual([0x3f80, 0x3f82, 0x3f81]);
    // Subnormal f16: 1.5 · 2^-24 ties to 2 · 2^-24; 2.5 · 2^-24 to 2 · 2^-24.
    expect([...f32ToF16(new Float32Array([1.5 * 2 ** -24, 2.5 * 2 ** -24, 2 ** -26]))]).toEqual([2, 2, 0]);
  });

  test('per-tensor dtype, and refusals for bad input', () => {
    const file = parseSafetensors(writeSafetensors([{ ...tensors[0], dtype: 'BF16' }, tensors[1]], { dtype: 'F16' }), 'mixed');
    expect([...file.tensors.values()].map((t) => t.dtype)).toEqual(['BF16', 'F16']);
    expect(() => writeSafetensors([{ name: 'a', shape: [3], data: new Float32Array(2) }])).toThrow(/shape \[3\] but 2 values/);
    expect(() => writeSafetensors([tensors[1], tensors[1]])).toThrow(/duplicate/);
  });
});

describe('sharded checkpoints', () => {
  test('index + shards written by size and read back through the index', () => {
    const tensors = Array.from({ length: 5 }, (_, k) => ({ name: `layer.${k}.weight`, shape: [10, 10], data: randn(100, 10 + k) }));
    const files = writeShardedSafetensors(tensors, 850);
    expect([...files.keys()]).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
    const index = parseShardIndex(new TextDecoder().decode(files.get('model.safetensors.index.json')), 'index');
    expect(index.weightMap.size).toBe(5);
    for (const t of tensors) {
      const shard = parseSafetensors(files.get(index.weightMap.get(t.name)!)!, 'shard');
      expect(readTensorF32(shard, t.name).data).toEqual(t.data);
    }
  });

  test('a bad index names the file and the problem', () => {
    expect(() => parseShardIndex('{', 'm/model.safetensors.index.json')).toThrow(/^m\/model\.safetensors\.index\.json: not valid JSON/);
    expect(() => parseShardIndex('{"metadata": {}}', 'idx')).toThrow(/idx: no "weight_map" object/);
    expect(() => parseShardIndex('{"weight_map": {"a": "../../etc/passwd"}}', 'idx')).toThrow(/not a plain shard file name/);
    expect(() => parseShardIndex('{"weight_map": {"a": 3}}', 'idx')).toThrow(/not a plain shard file name/);
  });
});
