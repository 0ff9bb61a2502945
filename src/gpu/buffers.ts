// The runtime's storage buffers: a pool keyed by byte size, so that a training step allocating the same temporaries
// every step reuses the same buffers (no allocation per step once warm), and the count of every buffer created and
// not yet destroyed (Gpu.liveBuffers / liveBytes).
// Contract: `take` gives a pooled buffer of exactly that size or creates one (STORAGE | COPY_SRC | COPY_DST), refusing
// one over maxBufferSize with a GpuMemoryError; `give` returns it to the pool; `destroy` destroys it wherever it is;
// `track` collects what is created meanwhile (withOomScope frees it on failure).
// Not here: tensors and views over these buffers (runtime.ts), submitting work that uses them.
import { GpuMemoryError, mib } from './memory';

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Buffers `take` created that no `destroy` or `trim` has destroyed (in use or pooled). */
  private readonly live = new Set<GPUBuffer>();
  /** One list per open track() (innermost last): the buffers created inside it. */
  private readonly scopes: GPUBuffer[][] = [];

  constructor(private readonly device: GPUDevice, private readonly stats: { buffersCreated: number }) {}

  /** A buffer of `bytes` (a multiple of 4), from the pool when one is free. */
  take(bytes: number, label: string): GPUBuffer {
    const pooled = this.free.get(bytes)?.pop();
    if (pooled) return pooled;
    const max = this.device.limits.maxBufferSize;
    if (bytes > max) throw new GpuMemoryError(label, `${label}: a buffer of ${mib(bytes)} is larger than this GPU allows for one buffer (maxBufferSize ${mib(max)}).`);
    const buffer = this.device.createBuffer({
      label,
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.stats.buffersCreated++;
    this.live.add(buffer);
    for (const created of this.scopes) created.push(buffer);
    return buffer;
  }

  /** Back to the pool, for the next `take` of its size. */
  give(buffer: GPUBuffer): void {
    const list = this.free.get(buffer.size) ?? [];
    list.push(buffer);
    this.free.set(buffer.size, list);
  }

  has(buffer: GPUBuffer): boolean {
    return this.live.has(buffer);
  }

  destroy(buffer: GPUBuffer): void {
    buffer.destroy();
    this.live.delete(buffer);
    const list = this.free.get(buffer.size);
    const i = list ? list.indexOf(buffer) : -1;
    if (i >= 0) list!.splice(i, 1);
  }

  /** Destroys the pooled (given back, unused) buffers, so their memory counts as free. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) { b.destroy(); this.live.delete(b); }
    this.free.clear();
  }

  get liveCount(): number {
    return this.live.size;
  }

  get liveBytes(): number {
    let n = 0;
    for (const b of this.live) n += b.size;
    return n;
  }

  /** Collects the buffers created from now on; call the returned function to stop and get them. */
  track(): () => GPUBuffer[] {
    const created: GPUBuffer[] = [];
    this.scopes.push(created);
    return () => {
      this.scopes.splice(this.scopes.indexOf(created), 1);
      return created;
    };
  }
}
