// GPU time per kernel, from timestamp queries: while a KernelTimes is attached (Gpu.timeKernels), every dispatch runs
// in a compute pass of its own whose beginning and end write timestamps; each submit resolves its queries and reads
// them back, and the durations add up per dispatch label ('attention.backward.dkdv', 'matmul', ...).
// Contract: needs a device with 'timestamp-query' (createGpu({ timestampQuery: true })). A pass per dispatch adds
// the cost of pass boundaries, so the total is a profile's, not a plain step's time; browsers may quantise the
// timestamps (Chrome rounds them unless its WebGPU developer features are on). `settle()` waits for every read.
// Not here: which dispatches run (the runtime), what the labels mean (the kernels).

/** Time and dispatch count of one label. */
export interface KernelTime {
  label: string;
  ms: number;
  dispatches: number;
}

/** Dispatches timed per submit at most: the runtime submits early when a submit has this many. */
const CAPACITY = 2048;

export class KernelTimes {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  /** Labels of the current submit's passes, in order. */
  private labels: string[] = [];
  private readonly reads: Promise<void>[] = [];
  private readonly totals = new Map<string, { ns: number; dispatches: number }>();

  constructor(private readonly device: GPUDevice) {
    if (!device.features.has('timestamp-query')) throw new Error('KernelTimes: this device was created without timestamp-query');
    this.querySet = device.createQuerySet({ label: 'KernelTimes.queries', type: 'timestamp', count: 2 * CAPACITY });
    this.resolveBuffer = device.createBuffer({ label: 'KernelTimes.resolve', size: 16 * CAPACITY, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  /** The timestamp writes of the next dispatch's pass, or null when this submit is full (submit, then ask again). */
  next(label: string): GPUComputePassTimestampWrites | null {
    if (this.labels.length === CAPACITY) return null;
    const i = this.labels.push(label) - 1;
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Before the encoder finishes: resolves this submit's timestamps into a buffer read once the submit completes. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const labels = this.labels;
    if (labels.length === 0) return null;
    this.labels = [];
    const bytes = 16 * labels.length;
    const read = this.device.createBuffer({ label: 'KernelTimes.read', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * labels.length, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, read, 0, bytes);
    // Called after the submit: the map waits for the work.
    return () => {
      this.reads.push(read.mapAsync(GPUMapMode.READ).then(() => {
        const t = new BigUint64Array(read.getMappedRange());
        labels.forEach((label, i) => {
          const entry = this.totals.get(label) ?? { ns: 0, dispatches: 0 };
          // A pair the implementation left unwritten or out of order counts zero time.
          entry.ns += t[2 * i + 1] > t[2 * i] ? Number(t[2 * i + 1] - t[2 * i]) : 0;
          entry.dispatches++;
          this.totals.set(label, entry);
        });
        read.unmap();
        read.destroy();
      }));
    };
  }

  /** Every label's time so far, longest first (after every submitted read has landed). */
  async settle(): Promise<KernelTime[]> {
    await Promise.all(this.reads.splice(0));
    return [...this.totals].map(([label, t]) => ({ label, ms: t.ns / 1e6, dispatches: t.dispatches })).sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}
