// GPU memory as the device gives it: WebGPU reports no total, so `probeDeviceMemory` asks for that much in chunks and
// gives it straight back (the measured budget that src/model/memory-estimate.ts memoryVerdict compares with an
// estimate), and `withOomScope` turns an allocation the device refuses inside a piece of work into one clear error,
// destroying every buffer that work created, so nothing half-allocated stays.
// Contract: both run on a host (Gpu) that submits its recorded work (`flush`), tracks the buffers it creates and
// destroys them. Not here: the pool itself (buffers.ts).

/**
 * What the device could give when asked (Gpu.probeMemory). WebGPU exposes no memory total, so this is a
 * measurement, not a capacity: `limitedBy` null means everything asked for was given (more may exist).
 */
export interface MemoryBudget {
  requestedBytes: number;
  /** Bytes actually allocated before the device refused or a cap applied (= requestedBytes when none did). */
  obtainedBytes: number;
  /** Why it stopped short ('out of memory: …', or the system-memory cap of a software adapter); null when it did not. */
  limitedBy: string | null;
}

/** The device refused memory (or a buffer) while `label` was being built; everything it had allocated is destroyed. */
export class GpuMemoryError extends Error {
  constructor(readonly label: string, message: string) {
    super(message);
    this.name = 'GpuMemoryError';
  }
}

const MiB = 2 ** 20;
export const mib = (bytes: number): string => `${(bytes / MiB).toLocaleString('en', { maximumFractionDigits: bytes < 10 * MiB ? 1 : 0 })} MiB`;

/** Probe allocations in pieces of at most this: drivers cap single allocations below maxBufferSize (SwiftShader refuses 1 GiB). */
const PROBE_CHUNK = 256 * MiB;

/**
 * Asks the device for `bytes` in chunks, each in its own out-of-memory scope, and destroys them again. A software
 * adapter takes system RAM and the OS may promise more than it has: there (`software`) the probe stops at
 * navigator.deviceMemory when the browser reports it. Drivers that page GPU memory out may give more than fits at
 * full speed.
 */
export async function probeDeviceMemory(device: GPUDevice, bytes: number, software: boolean): Promise<MemoryBudget> {
  const chunk = Math.max(4, Math.min(PROBE_CHUNK, Math.floor(device.limits.maxBufferSize / 2 / 4) * 4)); // 4-byte multiples
  let cap = bytes;
  let limitedBy: string | null = null;
  const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  if (software && typeof gib === 'number' && gib > 0 && gib * 2 ** 30 < bytes) {
    cap = gib * 2 ** 30;
    limitedBy = `this software adapter uses system memory, and this computer reports about ${gib} GiB`;
  }
  const held: GPUBuffer[] = [];
  let obtained = 0;
  try {
    while (obtained < cap) {
      const size = Math.ceil(Math.min(chunk, cap - obtained) / 4) * 4;
      device.pushErrorScope('out-of-memory');
      held.push(device.createBuffer({ label: 'Gpu.probeMemory', size, usage: GPUBufferUsage.STORAGE }));
      const error = await device.popErrorScope();
      if (error) { limitedBy = `out of memory (${error.message.split('\n')[0]})`; break; }
      obtained += size;
    }
  } finally {
    for (const b of held) b.destroy();
  }
  return { requestedBytes: bytes, obtainedBytes: Math.min(obtained, bytes), limitedBy };
}

/** What withOomScope needs of the runtime. */
export interface OomScopeHost {
  readonly device: GPUDevice;
  /** Submits the recorded work. */
  flush(): void;
  /** Starts collecting the buffers created from now on; the returned function stops and returns them. */
  trackBuffers(): () => GPUBuffer[];
  destroyBuffer(buffer: GPUBuffer): void;
}

/**
 * Runs `f` (building a model, a trainer, a first step) inside out-of-memory and validation error scopes,
 * with the recorded work submitted before they close. If the device refused anything, or f threw, every
 * buffer created inside is destroyed (pooled ones too) and a GpuMemoryError names `label` and the
 * device's reason (a buffer over maxBufferSize included); f's other errors are rethrown as they are. The scopes are the device's: work from
 * elsewhere that interleaves with an async f reports into them too.
 */
export async function withOomScope<T>(host: OomScopeHost, label: string, f: () => T | Promise<T>): Promise<T> {
  const stop = host.trackBuffers();
  host.device.pushErrorScope('out-of-memory');
  host.device.pushErrorScope('validation');
  let result: T | undefined;
  let failure: { error: unknown } | null = null;
  let created: GPUBuffer[] = [];
  try {
    result = await f();
  } catch (error) {
    failure = { error };
  } finally {
    created = stop();
    host.flush(); // recorded work reports its errors into these scopes, and runs before any buffer is destroyed
  }
  const invalid = await host.device.popErrorScope();
  const oom = await host.device.popErrorScope();
  if (!failure && !invalid && !oom) return result as T;
  for (const b of created) host.destroyBuffer(b);
  if (failure && !(failure.error instanceof GpuMemoryError)) throw failure.error;
  const reason = failure ? (failure.error as GpuMemoryError).message
    : oom ? `the GPU ran out of memory (${oom.message.split('\n')[0]})` : `the GPU refused it (${invalid!.message.split('\n')[0]})`;
  throw new GpuMemoryError(label, `${label}: ${reason}; everything it had allocated was freed.`);
}
