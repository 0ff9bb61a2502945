// The device's size limits as buffer layouts read them: the alignment of a view's offset, the largest storage
// binding and buffer, and the row blocks a weight over the binding limit is kept in (src/model/chunks.ts).
// Contract: pure arithmetic over a limits record; `deviceLimits` reads the device's, tests pass smaller ones.
// Not here: allocating (buffers.ts), the memory a device can give (memory.ts).

/** Storage-buffer binding offsets must be multiples of 256 bytes: views start on 64-element boundaries. */
export const VIEW_ALIGN = 64;

/** Byte limits a buffer layout respects (ParamTable's, the optimizer's windows); default: the device's. Tests shrink them. */
export interface BufferLimits {
  /** Largest storage binding (one weight block). */
  maxBindingBytes: number;
  /** Largest buffer: a frozen weight above it gets one buffer per block. */
  maxBufferBytes: number;
}

export function deviceLimits(gpu: { device: GPUDevice }): BufferLimits {
  return { maxBindingBytes: gpu.device.limits.maxStorageBufferBindingSize, maxBufferBytes: gpu.device.limits.maxBufferSize };
}

/**
 * Row ranges for a [rows, cols] f32 weight within `maxBytes` per block: the whole weight when it fits, else
 * blocks of the largest multiple of VIEW_ALIGN rows that fits, the last one shorter.
 */
export function planRowBlocks(name: string, rows: number, cols: number, maxBytes: number): { first: number; rows: number }[] {
  if (rows * cols * 4 <= maxBytes) return [{ first: 0, rows }];
  const fit = Math.floor(maxBytes / (4 * cols) / VIEW_ALIGN) * VIEW_ALIGN;
  if (fit === 0) {
    throw new Error(`${name} [${rows}, ${cols}] cannot be split under the binding limit of ${maxBytes} bytes: ` +
      `a block of ${VIEW_ALIGN} rows takes ${VIEW_ALIGN * cols * 4} bytes`);
  }
  const out: { first: number; rows: number }[] = [];
  for (let first = 0; first < rows; first += fit) out.push({ first, rows: Math.min(fit, rows - first) });
  return out;
}
