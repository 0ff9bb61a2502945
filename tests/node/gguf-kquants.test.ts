// Our Q4_K, Q6_K, Q5_0 and Q8_0 blocks (src/export/kquants.ts and gguf.ts, the types of llama.cpp's Q4_K_M mix) against llama.cpp
// itself: its C reference quantisers in the libggml-base that node-llama-cpp ships (called from Python through
// ctypes, tests/oracle/gguf_kquants_check.py) give the same bytes, and llama.cpp's gguf-py dequantises our blocks to
// the same float32 bits as ggml's C dequantisers. Values: Gaussian rows of several scales, outliers, all-zero
// blocks and sub-blocks, all-positive and all-negative blocks, values on rounding half-way points, tiny and huge
// magnitudes, f16-rounded weights (what llama-quantize reads from an F16 GGUF).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeQ8_0 } from '../../src/export/gguf';
import { quantizeQ4_K, quantizeQ5_0, quantizeQ6_K, QK_K } from '../../src/export/kquants';
import { f16ToF32, f32ToF16 } from '../../src/ops/half';
import { rng } from '../helpers/check';
import { TorchOracle, venvPython } from '../helpers/torch';

const LIB = join(__dirname, '..', '..', 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64', 'libggml-base.so');
const oracle = new TorchOracle();
afterAll(() => oracle.dispose());

function values(): Float32Array {
  const r = rng(11);
  const gauss = (): number => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  const blocks: ((i: number) => number)[] = [
    () => gauss() * 0.02, () => gauss(), () => gauss() * 30,
    (i) => (i % 37 === 0 ? 8 : gauss() * 0.05), // outliers
    () => 0, (i) => (i < 48 ? 0 : gauss()), // all-zero block, zero sub-blocks
    () => Math.abs(gauss()) + 0.5, () => -Math.abs(gauss()) - 0.1, // no negative / no positive value
    (i) => ((i % 33) - 16) * 0.25, (i) => ((i % 31) - 15) * 0.5 + 0.25, // half-way points
    () => gauss() * 1e-20, () => gauss() * 1e4, () => 1.5, // tiny, huge, constant
  ];
  const out: number[] = [];
  for (let rep = 0; rep < 6; rep++) for (const b of blocks) for (let i = 0; i < QK_K; i++) out.push(b(i));
  const x = Float32Array.from(out);
  return Float32Array.from([...x, ...f16ToF32(f32ToF16(x.map((v) => v * 0.3)))]);
}

describe('k-quant blocks', () => {
  it("Q4_K, Q6_K, Q5_0 and Q8_0 bytes are llama.cpp's reference quantisers', and gguf-py dequantises them as ggml does", () => {
    const x = values();
    const xPath = join(oracle.dir, 'x.f32');
    writeFileSync(xPath, new Uint8Array(x.buffer));
    const files = { q4_K: quantizeQ4_K(x), q6_K: quantizeQ6_K(x), q5_0: quantizeQ5_0(x), q8_0: quantizeQ8_0(x) };
    const args = Object.entries(files).map(([name, bytes]) => { const p = join(oracle.dir, `${name}.bin`); writeFileSync(p, bytes); return `${name}=${p}`; });
    const out = JSON.parse(execFileSync(venvPython(), [join(__dirname, '..', 'oracle', 'gguf_kquants_check.py'), LIB, xPath, ...args], { encoding: 'utf8' })) as
      Record<string, { bytes: number; differ: number; dequant_differ: number }>;
    console.log(`${x.length / QK_K} blocks of 256: ${JSON.stringify(out)}`);
    for (const [name, bytes] of Object.entries(files)) {
      expect(out[name], name).toMatchObject({ bytes: bytes.length, differ: 0, dequant_differ: 0 });
    }
  });
});
