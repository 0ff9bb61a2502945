// The GPU runtime: one GPUDevice, a pipeline cache, pooled f32 tensors, a uniform ring and one command
// encoder per step. Every kernel module dispatches through `Gpu.dispatch`; nothing else creates pipelines.
//
// Contract:
//  - Tensors are dense row-major f32 storage buffers. Shapes are written down at each call site.
//  - `dispatch` records into the current encoder; `flush()` submits it (with the uniforms written for it).
//    Reading a tensor flushes first. Readback happens only for metrics and tests.
//  - Buffers come from a pool keyed by byte size: `release` returns them, so a training step that allocates
//    the same temporaries every step reuses the same buffers (no allocation per step once warm).
//  - Every buffer `tensor` creates is counted in `liveBuffers` until `free` (or `destroy`) destroys it.
//  - Memory: WebGPU reports no total. `probeMemory(bytes)` asks the device for that much, in chunks, and
//    gives it straight back: the measured budget that src/model/memory-estimate.ts memoryVerdict compares with an estimate.
//    `withOomScope(label, f)` turns an allocation the device refuses inside f into one clear error and
//    destroys every buffer f created, so nothing half-allocated stays.
//  - Pipelines: `dispatch` compiles what it has not seen synchronously (the fallback that always works).
//    Before a first step, `recordPipelines(f)` runs f as a dry run (dispatches recorded, not run; clears and
//    copies dropped; reads giving zeros) to learn the pipelines it uses, and
//    `preparePipelines` compiles those with createComputePipelineAsync, all at once, into the same cache, so the
//    step's dispatches find them compiled (src/train/trainer.ts prepare).
// Not here: kernels themselves (src/ops/*), model layout (src/model/*).
import { isSoftwareAdapter } from './adapter';

export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly size: number; // number of 4-byte elements (f32, or u32 for token ids)
  readonly label: string;
  /** Element offset into `buffer` (views into a flat table); a multiple of VIEW_ALIGN. */
  readonly offset: number;
  /** Views share their parent's buffer and are never returned to the pool. */
  readonly isView: boolean;
}

/** Storage-buffer binding offsets must be multiples of 256 bytes: views start on 64-element boundaries. */
export const VIEW_ALIGN = 64;

export type Uniform = { u32?: number[]; f32?: number[] };

/** Byte limits a buffer layout respects (ParamTable's, the optimizer's windows); default: the device's. Tests shrink them. */
export interface BufferLimits {
  /** Largest storage binding (one weight block). */
  maxBindingBytes: number;
  /** Largest buffer: a frozen weight above it gets one buffer per block. */
  maxBufferBytes: number;
}

export function deviceLimits(gpu: Gpu): BufferLimits {
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

/** What identifies a compiled pipeline: the cache key is (code, entryPoint, constants); the label names it. */
interface PipelineSpec {
  code: string;
  entryPoint: string;
  label: string;
  constants?: Record<string, number>;
}

export interface DispatchOptions {
  /** WGSL source; the pipeline cache keys on (code, entryPoint, constants). */
  code: string;
  entryPoint: string;
  label: string;
  /** Storage buffers at @group(0) @binding(0..n-1), in order. */
  bindings: (Tensor | GPUBuffer)[];
  /** Optional params: written to a 256-byte uniform slot bound at @binding(n) after the storage buffers.
   * Layout: the u32 words first, then the f32 words, each 4 bytes, in the order given. */
  params?: number[] | { u32: number[]; f32?: number[] };
  workgroups: [number, number?, number?];
  /** Pipeline-overridable constants (workgroup size, tile sizes). */
  constants?: Record<string, number>;
}

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

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment is at most 256 on every adapter
const UNIFORM_SLOTS = 1024;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Gpu {
  readonly device: GPUDevice;
  readonly adapterInfo: { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean };
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniformBuffer: GPUBuffer;
  private readonly uniformData = new ArrayBuffer(UNIFORM_SLOT * UNIFORM_SLOTS);
  private uniformSlot = 0;
  /** Buffers the unsubmitted encoder touches: a write to one of them must submit first (queue order). */
  private readonly pending = new Set<GPUBuffer>();
  /** Counters for tests and benchmarks: how much the runtime allocates and dispatches. */
  readonly stats = { buffersCreated: 0, pipelinesCreated: 0, dispatches: 0, submits: 0 };
  /** Buffers `tensor` created that no `free`/`destroy`/failed scope has destroyed (in use or pooled). */
  private readonly live = new Set<GPUBuffer>();
  private absent_: [Tensor, Tensor] | null = null;
  /** One list per open withOomScope (innermost last): the buffers created inside it. */
  private readonly scopes: GPUBuffer[][] = [];
  /** While recordPipelines runs: the pipelines dispatched, by cache key. */
  private recording: Map<string, PipelineSpec> | null = null;

  constructor(device: GPUDevice, adapterInfo?: Partial<GPUAdapterInfo>) {
    this.device = device;
    this.adapterInfo = {
      vendor: adapterInfo?.vendor ?? '',
      architecture: adapterInfo?.architecture ?? '',
      description: adapterInfo?.description ?? '',
      isFallbackAdapter: adapterInfo?.isFallbackAdapter === true,
    };
    this.uniformBuffer = device.createBuffer({
      label: 'Gpu.uniformRing',
      size: this.uniformData.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** True on a software rasteriser (SwiftShader, lavapipe: adapter.ts's rule), where kernel choices differ from real GPUs. */
  get isSoftware(): boolean {
    return isSoftwareAdapter(this.adapterInfo);
  }

  // ---- tensors ---------------------------------------------------------------------------------

  tensor(shape: readonly number[], label: string): Tensor {
    const size = numel(shape);
    const bytes = Math.max(16, Math.ceil((size * 4) / 16) * 16);
    const free = this.pool.get(bytes);
    let buffer = free?.pop();
    if (!buffer) {
      const max = this.device.limits.maxBufferSize;
      if (bytes > max) throw new GpuMemoryError(label, `${label}: a buffer of ${mib(bytes)} is larger than this GPU allows for one buffer (maxBufferSize ${mib(max)}).`);
      buffer = this.device.createBuffer({
        label,
        size: bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      this.stats.buffersCreated++;
      this.live.add(buffer);
      for (const created of this.scopes) created.push(buffer);
    }
    return { buffer, shape: [...shape], size, label, offset: 0, isView: false };
  }

  /**
   * A one-element tensor for a binding the kernel will not touch this time (a bias RMSNorm lacks, AdamW without
   * clipping): a WGSL layout is fixed and WebGPU wants a buffer in every slot. Each `slot` is its own range of
   * one shared table, so two absent read_write bindings of one dispatch do not alias.
   */
  absent(slot: 0 | 1): Tensor {
    // Made again if a failed withOomScope destroyed it with everything else it allocated.
    if (!this.absent_ || !this.live.has(this.absent_[0].buffer)) {
      const table = this.zeros([2 * VIEW_ALIGN], 'absent');
      this.absent_ = [this.view(table, 0, [1], 'absent0'), this.view(table, VIEW_ALIGN, [1], 'absent1')];
    }
    return this.absent_[slot];
  }

  /** A view of `size(shape)` elements of `parent` starting at element `offset` (a multiple of VIEW_ALIGN). */
  view(parent: Tensor, offset: number, shape: readonly number[], label: string): Tensor {
    const size = numel(shape);
    if (offset % VIEW_ALIGN !== 0) throw new Error(`view(${label}): offset ${offset} is not a multiple of ${VIEW_ALIGN}`);
    if (offset + size > parent.size) throw new Error(`view(${label}): [${offset}, ${offset + size}) past ${parent.label} size ${parent.size}`);
    return { buffer: parent.buffer, shape: [...shape], size, label, offset: parent.offset + offset, isView: true };
  }

  /** A tensor of u32 values (token ids, targets) in the same pooled storage. */
  fromU32(shape: readonly number[], data: ArrayLike<number>, label: string): Tensor {
    const t = this.tensor(shape, label);
    this.writeU32(t, data);
    return t;
  }

  writeU32(t: Tensor, data: ArrayLike<number>, elementOffset = 0): void {
    const arr = data instanceof Uint32Array ? data : Uint32Array.from(data as ArrayLike<number>);
    if (elementOffset + arr.length > t.size) throw new Error(`writeU32(${t.label}): ${arr.length} values past size ${t.size}`);
    this.beforeWrite(t.buffer);
    this.device.queue.writeBuffer(t.buffer, (t.offset + elementOffset) * 4, arr.buffer, arr.byteOffset, arr.byteLength);
  }

  async readU32(t: Tensor): Promise<Uint32Array> {
    const f = await this.read(t);
    return new Uint32Array(f.buffer, f.byteOffset, f.length);
  }

  /** A tensor filled with `data` (length must equal numel(shape)). */
  fromArray(shape: readonly number[], data: ArrayLike<number>, label: string): Tensor {
    const t = this.tensor(shape, label);
    this.write(t, data);
    return t;
  }

  zeros(shape: readonly number[], label: string): Tensor {
    const t = this.tensor(shape, label);
    this.fill(t, 0);
    return t;
  }

  write(t: Tensor, data: ArrayLike<number>, elementOffset = 0): void {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    if (elementOffset + arr.length > t.size) throw new Error(`write(${t.label}): ${arr.length} values past size ${t.size}`);
    this.beforeWrite(t.buffer);
    this.device.queue.writeBuffer(t.buffer, (t.offset + elementOffset) * 4, arr.buffer, arr.byteOffset, arr.byteLength);
  }

  fill(t: Tensor, value: number): void {
    if (this.recording) return;
    if (value === 0) {
      this.pending.add(t.buffer);
      this.commandEncoder().clearBuffer(t.buffer, t.offset * 4, t.size * 4);
      return;
    }
    this.write(t, new Float32Array(t.size).fill(value));
  }

  /**
   * queue.writeBuffer lands before any later submit, so a write to a buffer that recorded-but-unsubmitted work
   * uses would be seen by that earlier work: submit it first. Writes to untouched buffers need no submit,
   * which keeps a training step (ids, targets, mask uploads between dispatches) in one command buffer.
   */
  private beforeWrite(buffer: GPUBuffer): void {
    if (this.pending.has(buffer)) this.flush();
  }

  copy(src: Tensor, dst: Tensor, count = src.size, srcOffset = 0, dstOffset = 0): void {
    if (this.recording) return;
    this.pending.add(src.buffer).add(dst.buffer);
    this.commandEncoder().copyBufferToBuffer(src.buffer, (src.offset + srcOffset) * 4, dst.buffer, (dst.offset + dstOffset) * 4, count * 4);
  }

  /** Returns the buffer to the pool; the tensor must not be used afterwards. Views are not released. */
  release(...ts: (Tensor | null | undefined)[]): void {
    for (const t of ts) {
      if (!t || t.isView) continue;
      const list = this.pool.get(t.buffer.size) ?? [];
      list.push(t.buffer);
      this.pool.set(t.buffer.size, list);
    }
  }

  /** Destroys the tensors' buffers (not views): for what lives as long as a model (weights, flat tables). */
  free(...ts: (Tensor | null | undefined)[]): void {
    for (const t of ts) if (t && !t.isView) this.destroyBuffer(t.buffer);
  }

  /** Buffers created by `tensor` and not yet destroyed through the runtime (pooled ones included). */
  get liveBuffers(): number {
    return this.live.size;
  }

  /** Bytes of those buffers: what this runtime holds on the device (the uniform ring and readback staging aside). */
  get liveBytes(): number {
    let n = 0;
    for (const b of this.live) n += b.size;
    return n;
  }

  /** Destroys the pooled (released, unused) buffers, so their memory counts as free. */
  trimPool(): void {
    for (const list of this.pool.values()) for (const b of list) { b.destroy(); this.live.delete(b); }
    this.pool.clear();
  }

  private destroyBuffer(buffer: GPUBuffer): void {
    // Work recorded against it (a fresh model's zeroing, say) must be submitted before it goes, or the
    // submit fails validation; submitted work still completes after destroy().
    if (this.pending.has(buffer)) this.flush();
    buffer.destroy();
    this.live.delete(buffer);
    const list = this.pool.get(buffer.size);
    const i = list ? list.indexOf(buffer) : -1;
    if (i >= 0) list!.splice(i, 1);
  }

  // ---- memory ------------------------------------------------------------------------------------

  /**
   * Asks the device for `bytes` (after trimming the pool, whose buffers would be reused anyway), in chunks,
   * each in its own out-of-memory scope, and destroys them again. A software adapter (SwiftShader) takes
   * system RAM and the OS may promise more than it has: there the probe stops at navigator.deviceMemory
   * when the browser reports it. Drivers that page GPU memory out may give more than fits at full speed.
   */
  async probeMemory(bytes: number): Promise<MemoryBudget> {
    this.flush();
    this.trimPool();
    const chunk = Math.max(4, Math.min(PROBE_CHUNK, Math.floor(this.device.limits.maxBufferSize / 2 / 4) * 4)); // 4-byte multiples
    let cap = bytes;
    let limitedBy: string | null = null;
    const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
    if (this.isSoftware && typeof gib === 'number' && gib > 0 && gib * 2 ** 30 < bytes) {
      cap = gib * 2 ** 30;
      limitedBy = `this software adapter uses system memory, and this computer reports about ${gib} GiB`;
    }
    const held: GPUBuffer[] = [];
    let obtained = 0;
    try {
      while (obtained < cap) {
        const size = Math.ceil(Math.min(chunk, cap - obtained) / 4) * 4;
        this.device.pushErrorScope('out-of-memory');
        held.push(this.device.createBuffer({ label: 'Gpu.probeMemory', size, usage: GPUBufferUsage.STORAGE }));
        const error = await this.device.popErrorScope();
        if (error) { limitedBy = `out of memory (${error.message.split('\n')[0]})`; break; }
        obtained += size;
      }
    } finally {
      for (const b of held) b.destroy();
    }
    return { requestedBytes: bytes, obtainedBytes: Math.min(obtained, bytes), limitedBy };
  }

  /**
   * Runs `f` (building a model, a trainer, a first step) inside out-of-memory and validation error scopes,
   * with the recorded work submitted before they close. If the device refused anything, or f threw, every
   * buffer created inside is destroyed (pooled ones too) and a GpuMemoryError names `label` and the
   * device's reason (a buffer over maxBufferSize included); f's other errors are rethrown as they are. The scopes are the device's: work from
   * elsewhere that interleaves with an async f reports into them too.
   */
  async withOomScope<T>(label: string, f: () => T | Promise<T>): Promise<T> {
    const created: GPUBuffer[] = [];
    this.scopes.push(created);
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T | undefined;
    let failure: { error: unknown } | null = null;
    try {
      result = await f();
    } catch (error) {
      failure = { error };
    } finally {
      this.scopes.splice(this.scopes.indexOf(created), 1);
      this.flush(); // recorded work reports its errors into these scopes, and runs before any buffer is destroyed
    }
    const invalid = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    if (!failure && !invalid && !oom) return result as T;
    for (const b of created) this.destroyBuffer(b);
    if (failure && !(failure.error instanceof GpuMemoryError)) throw failure.error;
    const reason = failure ? (failure.error as GpuMemoryError).message
      : oom ? `the GPU ran out of memory (${oom.message.split('\n')[0]})` : `the GPU refused it (${invalid!.message.split('\n')[0]})`;
    throw new GpuMemoryError(label, `${label}: ${reason}; everything it had allocated was freed.`);
  }

  async read(t: Tensor, count = t.size, elementOffset = 0): Promise<Float32Array> {
    if (this.recording) return new Float32Array(count);
    const bytes = count * 4;
    const staging = this.device.createBuffer({
      label: `read(${t.label})`,
      size: Math.ceil(bytes / 4) * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.commandEncoder().copyBufferToBuffer(t.buffer, (t.offset + elementOffset) * 4, staging, 0, bytes);
    this.flush();
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return out;
  }

  // ---- pipelines and dispatch --------------------------------------------------------------------

  private static pipelineKey(p: PipelineSpec): string {
    return `${p.entryPoint}|${JSON.stringify(p.constants ?? {})}|${p.code}`;
  }

  private shaderModule(code: string, label: string): GPUShaderModule {
    let module = this.modules.get(code);
    if (!module) {
      module = this.device.createShaderModule({ label: `${label}.module`, code });
      this.modules.set(code, module);
    }
    return module;
  }

  private pipelineDescriptor(p: PipelineSpec): GPUComputePipelineDescriptor {
    return { label: `${p.label}.pipeline`, layout: 'auto', compute: { module: this.shaderModule(p.code, p.label), entryPoint: p.entryPoint, constants: p.constants } };
  }

  /** The cached pipeline, compiled now (synchronously) when it is not there yet. */
  pipeline(code: string, entryPoint: string, label: string, constants?: Record<string, number>): GPUComputePipeline {
    const spec = { code, entryPoint, label, constants };
    const key = Gpu.pipelineKey(spec);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline(this.pipelineDescriptor(spec));
      this.pipelines.set(key, p);
      this.stats.pipelinesCreated++;
    }
    return p;
  }

  /**
   * Runs `f` as a dry run and returns the pipelines its dispatches would use. Meanwhile dispatches, clears and
   * copies are dropped and reads give zeros; writes still land: they are f's inputs and the tables it builds once
   * (RoPE frequencies), which the real run writes alike. So only buffers f writes from the CPU change (and the
   * pool). Nothing else may use this Gpu until it resolves.
   */
  async recordPipelines(f: () => unknown): Promise<PipelineSpec[]> {
    if (this.recording) throw new Error('recordPipelines: already recording');
    this.flush();
    const recorded = new Map<string, PipelineSpec>();
    this.recording = recorded;
    try {
      await f();
    } finally {
      this.recording = null;
    }
    return [...recorded.values()];
  }

  /**
   * Compiles the pipelines not in the cache yet with createComputePipelineAsync, all started at once so the
   * implementation may compile them in parallel, and caches them for `dispatch`. Resolves with how many it compiled.
   */
  async preparePipelines(specs: PipelineSpec[]): Promise<number> {
    const todo = new Map(specs.map((p) => [Gpu.pipelineKey(p), p]));
    for (const key of todo.keys()) if (this.pipelines.has(key)) todo.delete(key);
    await Promise.all([...todo].map(async ([key, spec]) => {
      const p = await this.device.createComputePipelineAsync(this.pipelineDescriptor(spec));
      if (this.pipelines.has(key)) return; // a dispatch compiled it meanwhile
      this.pipelines.set(key, p);
      this.stats.pipelinesCreated++;
    }));
    return todo.size;
  }

  dispatch(o: DispatchOptions): void {
    if (this.recording) {
      this.recording.set(Gpu.pipelineKey(o), { code: o.code, entryPoint: o.entryPoint, label: o.label, constants: o.constants });
      return;
    }
    const pipeline = this.pipeline(o.code, o.entryPoint, o.label, o.constants);
    for (const b of o.bindings) this.pending.add('buffer' in b ? b.buffer : b);
    const entries: GPUBindGroupEntry[] = o.bindings.map((b, i) => ({
      binding: i,
      resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset * 4, size: Math.max(4, b.size * 4) } : { buffer: b },
    }));
    if (o.params) {
      if (this.uniformSlot === UNIFORM_SLOTS) this.flush();
      const slot = this.uniformSlot++;
      const u32 = Array.isArray(o.params) ? o.params : o.params.u32;
      const f32 = Array.isArray(o.params) ? [] : (o.params.f32 ?? []);
      const view = new DataView(this.uniformData, slot * UNIFORM_SLOT, UNIFORM_SLOT);
      u32.forEach((v, i) => view.setUint32(i * 4, v >>> 0, true));
      f32.forEach((v, i) => view.setFloat32((u32.length + i) * 4, v, true));
      entries.push({
        binding: o.bindings.length,
        resource: { buffer: this.uniformBuffer, offset: slot * UNIFORM_SLOT, size: UNIFORM_SLOT },
      });
    }
    const bindGroup = this.device.createBindGroup({
      label: `${o.label}.bindGroup`,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = o.workgroups;
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
  }

  /** Submits everything recorded so far, uniforms first. */
  flush(): void {
    if (!this.encoder) return;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (this.uniformSlot > 0) {
      this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformData, 0, this.uniformSlot * UNIFORM_SLOT);
      this.uniformSlot = 0;
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending.clear();
    this.stats.submits++;
  }

  /** Waits until the GPU has finished everything submitted (flushes first). */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  private commandEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder ??= this.device.createCommandEncoder({ label: 'Gpu.step' });
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.pass = this.commandEncoder().beginComputePass({ label: 'Gpu.step.pass' });
    }
    return this.pass;
  }

  destroy(): void {
    this.flush();
    this.trimPool();
    this.uniformBuffer.destroy();
  }
}

/** Requests an adapter and device from `navigator.gpu` (the page, a worker, or Node after installNodeWebGPU). */
export async function createGpu(): Promise<Gpu> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new Error('WebGPU is not available here (navigator.gpu is missing).');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('WebGPU is present but no GPU adapter was found.');
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    label: 'studio',
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  return new Gpu(device, adapter.info);
}
