// A checkpoint of a real model's shape with random bf16 weights (scripts/model-shapes.ts randomBf16), written to disk
// one tensor at a time so that no whole model is held in memory: what `studio info` and loads read at real sizes.
import { closeSync, openSync, writeSync } from 'node:fs';
import { randomBf16 } from '../../scripts/model-shapes';
import { weightTable } from '../../src/model/arch';
import type { ModelConfig } from '../../src/model/config';

/**
 * Writes `config`'s every weight as a bf16 safetensors file at `path`, one tensor at a time (randomBf16: matrices with
 * standard deviation 0.02, the rest 1), so that no whole model is held in memory.
 */
export function writeRandomBf16Checkpoint(path: string, config: ModelConfig): void {
  const table = weightTable(config);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const { name, shape } of table) {
    const bytes = 2 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const size = new Uint8Array(8);
  new DataView(size.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, size);
    writeSync(fd, headerBytes);
    table.forEach(({ shape }, i) => {
      const bits = randomBf16(shape.reduce((a, b) => a * b, 1), i + 1, shape.length === 2 ? 0.02 : 1);
      writeSync(fd, new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
    });
  } finally {
    closeSync(fd);
  }
}
