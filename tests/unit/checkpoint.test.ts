// Checkpoint format without a GPU: bytes round-trip exactly (every f32 bit, NaN payloads and -0 included),
// the header keeps config, LoRA, data order, RNG state and a DPO run's reference log-probs (every float64 bit), a GRPO
// run's method state (JSON and a float block after the moments), and foreign, truncated or tampered bytes are
// refused with a message that says what is wrong.
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_VERSION, deserializeCheckpoint, serializeCheckpoint, type Checkpoint } from '../../src/train/checkpoint';
import { DEFAULT_TRAIN } from '../../src/train/trainer';
import { DEFAULT_LORA } from '../../src/model/lora';
import { rng } from '../helpers/check';

function sample(size: number, headerPad = ''): Checkpoint {
  const r = rng(7);
  const f = () => Float32Array.from({ length: size }, () => (r() - 0.5) * 1e3);
  const params = f();
  if (size > 2) { params[0] = -0; params[1] = Number.NaN; params[2] = 1e-45; }
  return {
    version: CHECKPOINT_VERSION, train: { ...DEFAULT_TRAIN, seed: 5, maxSteps: 9 }, lora: { ...DEFAULT_LORA, rank: 4 },
    state: { step: 3, epoch: 1, cursor: 2, order: [4, 0, 3, 1, 2], rngState: 0xdeadbeef }, reference: null, method: null,
    size, params, m: f(), v: f(), meta: { runId: 'r1', note: headerPad },
  };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('checkpoint bytes', () => {
  it('round-trips every value bit for bit, for header lengths of every residue mod 4', () => {
    for (const pad of ['', 'a', 'ab', 'abc']) {
      const c = sample(131, pad);
      const back = deserializeCheckpoint(serializeCheckpoint(c));
      expect(bits(back.params)).toEqual(bits(c.params));
      expect(bits(back.m)).toEqual(bits(c.m));
      expect(bits(back.v)).toEqual(bits(c.v));
      expect(back.state).toEqual(c.state);
      expect(back.train).toEqual(c.train);
      expect(back.lora).toEqual(c.lora);
      expect(back.meta).toEqual(c.meta);
      expect(back.size).toBe(131);
    }
  });

  it('keeps a DPO run\'s reference log-probs, every float64 bit (and reads a header without them as null)', () => {
    const r = rng(3);
    const reference = Array.from({ length: 5 }, () => ({ chosen: -100 * r() - Math.PI * 1e-9, rejected: -1e3 * r() / 3 }));
    const back = deserializeCheckpoint(serializeCheckpoint({ ...sample(12), reference }));
    const f64 = (x: number) => new BigUint64Array(new Float64Array([x]).buffer)[0];
    expect(back.reference!.flatMap((p) => [f64(p.chosen), f64(p.rejected)])).toEqual(reference.flatMap((p) => [f64(p.chosen), f64(p.rejected)]));
    expect(deserializeCheckpoint(serializeCheckpoint(sample(12))).reference).toBeNull();
    // A reference that is not numbers: "rejected":22 becomes "rejected":[] (same length, still JSON).
    const tampered = serializeCheckpoint({ ...sample(12), reference: [{ chosen: 1, rejected: 22 }] });
    const at = Buffer.from(tampered).indexOf('"rejected":22') + '"rejected":'.length;
    tampered.set(new TextEncoder().encode('[]'), at);
    expect(() => deserializeCheckpoint(tampered)).toThrow(/malformed header/);
  });

  it('keeps a method\'s state: its JSON and its floats, bit for bit (none: null)', () => {
    const floats = Float32Array.from([1.5, -0, Number.NaN, 3e-39, -7]);
    const json = { generation: { iteration: 1, samples: [{ prompt: 2, ids: [5, 6], advantage: -0.25 }], old: [[-1.25, -0.5]], ref: null } };
    for (const method of [{ json, floats }, { json, floats: null }]) {
      const c = { ...sample(9), method };
      const back = deserializeCheckpoint(serializeCheckpoint(c));
      expect(back.method!.json).toEqual(json);
      expect(back.method!.floats === null ? null : bits(back.method!.floats)).toEqual(method.floats === null ? null : bits(method.floats));
      expect(bits(back.v)).toEqual(bits(c.v));
    }
    expect(deserializeCheckpoint(serializeCheckpoint(sample(9))).method).toBeNull();
    const bytes = serializeCheckpoint({ ...sample(9), method: { json, floats } });
    expect(() => deserializeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated or corrupt/);
  });

  it('reads a checkpoint that sits at an odd offset inside a larger buffer', () => {
    const bytes = serializeCheckpoint(sample(10));
    const host = new Uint8Array(bytes.length + 3);
    host.set(bytes, 3);
    expect(bits(deserializeCheckpoint(host.subarray(3)).v)).toEqual(bits(sample(10).v));
  });

  it('refuses foreign, truncated, padded and tampered bytes', () => {
    const bytes = serializeCheckpoint(sample(10));
    expect(() => deserializeCheckpoint(new TextEncoder().encode('{"not":"a checkpoint"}'))).toThrow(/bad magic/);
    expect(() => deserializeCheckpoint(bytes.subarray(0, 6))).toThrow(/too short/);
    expect(() => deserializeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated or corrupt/);
    const longer = new Uint8Array(bytes.length + 4); longer.set(bytes);
    expect(() => deserializeCheckpoint(longer)).toThrow(/truncated or corrupt/);
    const lying = bytes.slice(); new DataView(lying.buffer).setUint32(8, 1e6, true);
    expect(() => deserializeCheckpoint(lying)).toThrow(/truncated header/);
    const other = serializeCheckpoint({ ...sample(10), version: CHECKPOINT_VERSION + 1 });
    expect(() => deserializeCheckpoint(other)).toThrow(/version 2 is not supported/);
  });

  it('refuses to write arrays that disagree with size', () => {
    expect(() => serializeCheckpoint({ ...sample(10), m: new Float32Array(9) })).toThrow(/size/);
  });
});
