// The GPU runtime: one GPUDevice, tensors over pooled buffers (buffers.ts), a pipeline cache (pipelines.ts), a
// uniform ring and one command encoder per step. Every kernel module dispatches through `Gpu.dispatch`; nothing else
// creates pipelines.
//
// Contract:
//  - Tensors are dense row-major f32 storage buffers. Shapes are written down at each call site.
//  - `dispatch` records into the current encoder; `flush()` submits it (with the uniforms written for it).
//    Reading a tensor flushes first. Readback happens only for metrics and tests.
//  - Buffers come from a pool keyed by byte size (buffers.ts): `release` returns them. Every buffer `tensor` creates
//    is counted in `liveBuffers` until `free` (or `destroy`) destroys it.
//  - Memory: `probeMemory(bytes)` and `withOomScope(label, f)` (memory.ts) run on this runtime's pool and encoder.
//  - Pipelines: `dispatch` compiles what it has not seen synchronously (pipelines.ts). Before a first step,
//    `recordPipelines(f)` runs f as a dry run (dispatches recorded, not run; clears and copies dropped; reads giving
//    zeros) to learn the pipelines it uses, and `preparePipelines` compiles those up front into the same cache.
//  - Programs: `capture(label, f)` runs f once and keeps its commands (dispatches with their bind groups and
//    uniforms, copies, clears) and the buffers it allocated; `replay(program)` encodes those commands again, so a
//    step whose inputs live on the GPU (a decoding step: src/generate/batch.ts) costs no bind group, uniform write
//    or allocation per step. Writes inside f land once, at capture; reads are refused.
// Not here: kernels themselves (src/ops/*), model layout (src/model/*), size limits and row-block plans (limits.ts).
import { isSoftwareAdapter } from './adapter';
import { BufferPool } from './buffers';
import { VIEW_ALIGN } from './limits';
import { probeDeviceMemory, withOomScope, type MemoryBudget } from './memory';
import { PipelineCache, type PipelineSpec } from './pipelines';
import { KernelTimes, type KernelTime } from './timestamps';

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

export type Uniform = { u32?: number[]; f32?: number[] };

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

/** Commands a Program replays (see Gpu.capture). */
type Command =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; bytes: number };

/** A captured sequence of commands with everything they bind, made once (Gpu.capture, replay, dispose). */
export interface Program {
  readonly label: string;
  readonly commands: readonly Command[];
  /** Every buffer the commands touch. */
  readonly buffers: readonly GPUBuffer[];
  /** The buffers the capture released (its temporaries): the program's until dispose. */
  readonly owned: readonly GPUBuffer[];
  readonly uniforms: GPUBuffer | null;
}

/** A capture in progress: bind groups wait for the uniform buffer, made once the slots are counted. */
interface Capture {
  label: string;
  commands: (Exclude<Command, { kind: 'dispatch' }> | { kind: 'pending-dispatch'; label: string; pipeline: GPUComputePipeline; entries: GPUBindGroupEntry[]; slot: number | null; workgroups: [number, number, number] })[];
  buffers: Set<GPUBuffer>;
  /** What f released, by size: its later tensors take from here first. */
  free: Map<number, GPUBuffer[]>;
  /** Buffers taken back from `free`, with the label of the tensor that took each. */
  reused: Map<GPUBuffer, string>;
  params: ArrayBuffer[];
}

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
  /** The device has `shader-f16`: frozen 16-bit weights take the f16 kernels (src/ops/matmul.ts). */
  readonly f16: boolean;
  /** The device has `subgroups`: the subgroup kernel variants exist (autotune chooses among them). */
  readonly subgroups: boolean;
  /** The adapter's subgroup size range (null without `subgroups`); kernels never assume a size within it. */
  readonly subgroupSizes: { min: number; max: number } | null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniformBuffer: GPUBuffer;
  private readonly uniformData = new ArrayBuffer(UNIFORM_SLOT * UNIFORM_SLOTS);
  private uniformSlot = 0;
  /** Buffers the unsubmitted encoder touches: a write to one of them must submit first (queue order). */
  private readonly pending = new Set<GPUBuffer>();
  /** Counters for tests and benchmarks: how much the runtime allocates and dispatches. */
  readonly stats = { buffersCreated: 0, pipelinesCreated: 0, dispatches: 0, submits: 0 };
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private absent_: [Tensor, Tensor] | null = null;
  /** While attached (timeKernels): every dispatch's GPU time, by label. */
  private kernelTimes: KernelTimes | null = null;
  /** While capture runs: what it has recorded. */
  private capturing: Capture | null = null;

  constructor(device: GPUDevice, adapterInfo?: Partial<GPUAdapterInfo>) {
    this.device = device;
    this.adapterInfo = {
      vendor: adapterInfo?.vendor ?? '',
      architecture: adapterInfo?.architecture ?? '',
      description: adapterInfo?.description ?? '',
      isFallbackAdapter: adapterInfo?.isFallbackAdapter === true,
    };
    this.f16 = device.features.has('shader-f16');
    this.subgroups = device.features.has('subgroups');
    const sg = adapterInfo as { subgroupMinSize?: number; subgroupMaxSize?: number } | undefined;
    this.subgroupSizes = this.subgroups ? { min: sg?.subgroupMinSize ?? 4, max: sg?.subgroupMaxSize ?? 128 } : null;
    this.pool = new BufferPool(device, this.stats);
    this.pipelines = new PipelineCache(device, this.stats);
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
    let buffer = this.capturing?.free.get(bytes)?.pop();
    if (buffer) this.capturing!.reused.set(buffer, label);
    buffer ??= this.pool.take(bytes, label);
    return { buffer, shape: [...shape], size, label, offset: 0, isView: false };
  }

  /**
   * A one-element tensor for a binding the kernel will not touch this time (a bias RMSNorm lacks, AdamW without
   * clipping): a WGSL layout is fixed and WebGPU wants a buffer in every slot. Each `slot` is its own range of
   * one shared table, so two absent read_write bindings of one dispatch do not alias.
   */
  absent(slot: 0 | 1): Tensor {
    // Made again if a failed withOomScope destroyed it with everything else it allocated.
    if (!this.absent_ || !this.pool.has(this.absent_[0].buffer)) {
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
    if (this.pipelines.recording) return;
    if (value === 0 && this.capturing) {
      this.capturing.commands.push({ kind: 'clear', buffer: t.buffer, offset: t.offset * 4, bytes: t.size * 4 });
      this.capturing.buffers.add(t.buffer);
      return;
    }
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
    if (this.pipelines.recording) return;
    if (this.capturing) {
      this.capturing.commands.push({ kind: 'copy', src: src.buffer, srcOffset: (src.offset + srcOffset) * 4, dst: dst.buffer, dstOffset: (dst.offset + dstOffset) * 4, bytes: count * 4 });
      this.capturing.buffers.add(src.buffer).add(dst.buffer);
      return;
    }
    this.pending.add(src.buffer).add(dst.buffer);
    this.commandEncoder().copyBufferToBuffer(src.buffer, (src.offset + srcOffset) * 4, dst.buffer, (dst.offset + dstOffset) * 4, count * 4);
  }

  /** Returns the buffer to the pool; the tensor must not be used afterwards. Views are not released. */
  release(...ts: (Tensor | null | undefined)[]): void {
    for (const t of ts) {
      if (!t || t.isView) continue;
      // Inside a capture a released buffer becomes the program's: it serves the capture's later tensors, and
      // the next replays, until dispose.
      if (!this.capturing) {
        this.pool.give(t.buffer);
        continue;
      }
      const list = this.capturing.free.get(t.buffer.size) ?? [];
      list.push(t.buffer);
      this.capturing.free.set(t.buffer.size, list);
    }
  }

  /** Destroys the tensors' buffers (not views): for what lives as long as a model (weights, flat tables). */
  free(...ts: (Tensor | null | undefined)[]): void {
    for (const t of ts) if (t && !t.isView) this.destroyBuffer(t.buffer);
  }

  /** Buffers created by `tensor` and not yet destroyed through the runtime (pooled ones included). */
  get liveBuffers(): number {
    return this.pool.liveCount;
  }

  /** Bytes of those buffers: what this runtime holds on the device (the uniform ring and readback staging aside). */
  get liveBytes(): number {
    return this.pool.liveBytes;
  }

  /** Destroys the pooled (released, unused) buffers, so their memory counts as free. */
  trimPool(): void {
    this.pool.trim();
  }

  private destroyBuffer(buffer: GPUBuffer): void {
    // Work recorded against it (a fresh model's zeroing, say) must be submitted before it goes, or the
    // submit fails validation; submitted work still completes after destroy().
    if (this.pending.has(buffer)) this.flush();
    this.pool.destroy(buffer);
  }

  // ---- memory ------------------------------------------------------------------------------------

  /** What the device gives when asked for `bytes` (memory.ts), after trimming the pool, whose buffers would be reused anyway. */
  async probeMemory(bytes: number): Promise<MemoryBudget> {
    this.flush();
    this.trimPool();
    return probeDeviceMemory(this.device, bytes, this.isSoftware);
  }

  /** `f` inside the device's error scopes; on a refusal every buffer it created is destroyed (memory.ts withOomScope). */
  async withOomScope<T>(label: string, f: () => T | Promise<T>): Promise<T> {
    return withOomScope({
      device: this.device, flush: () => this.flush(), trackBuffers: () => this.pool.track(), destroyBuffer: (b) => this.destroyBuffer(b),
    }, label, f);
  }

  async read(t: Tensor, count = t.size, elementOffset = 0): Promise<Float32Array> {
    if (this.pipelines.recording) return new Float32Array(count);
    if (this.capturing) throw new Error(`read(${t.label}) inside capture(${this.capturing.label}): a program cannot read back`);
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

  /** The cached pipeline, compiled now (synchronously) when it is not there yet. */
  pipeline(code: string, entryPoint: string, label: string, constants?: Record<string, number>): GPUComputePipeline {
    return this.pipelines.get({ code, entryPoint, label, constants });
  }

  /**
   * Runs `f` as a dry run and returns the pipelines its dispatches would use. Meanwhile dispatches, clears and
   * copies are dropped and reads give zeros; writes still land: they are f's inputs and the tables it builds once
   * (RoPE frequencies), which the real run writes alike. So only buffers f writes from the CPU change (and the
   * pool). Nothing else may use this Gpu until it resolves.
   */
  async recordPipelines(f: () => unknown): Promise<PipelineSpec[]> {
    this.pipelines.startRecording();
    this.flush();
    let specs: PipelineSpec[] = [];
    try {
      await f();
    } finally {
      specs = this.pipelines.stopRecording();
    }
    return specs;
  }

  /** Compiles `specs` not in the cache yet, all started at once (pipelines.ts prepare); resolves with how many it compiled. */
  async preparePipelines(specs: PipelineSpec[]): Promise<number> {
    return this.pipelines.prepare(specs);
  }

  dispatch(o: DispatchOptions): void {
    if (this.pipelines.recording) {
      this.pipelines.record(o);
      return;
    }
    const pipeline = this.pipeline(o.code, o.entryPoint, o.label, o.constants);
    const entries: GPUBindGroupEntry[] = o.bindings.map((b, i) => ({
      binding: i,
      resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset * 4, size: Math.max(4, b.size * 4) } : { buffer: b },
    }));
    if (this.capturing) {
      this.captureDispatch(this.capturing, o, pipeline, entries);
      return;
    }
    for (const b of o.bindings) this.pending.add('buffer' in b ? b.buffer : b);
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
    const pass = this.kernelTimes ? this.timedPass(o.label) : this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = o.workgroups;
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
  }

  // ---- captured programs -------------------------------------------------------------------------

  /**
   * Runs `f` once, recording its dispatches, copies and clears instead of encoding them, and returns them as a
   * Program whose bind groups and uniforms are made now: `replay` encodes the same commands on the same buffers.
   * The buffers f releases (its temporaries) belong to the program until `dispose`, reused only by f's later
   * tensors; what f allocates and keeps (its outputs, a table a kernel caches) stays the caller's, as outside a
   * capture. So what f computes must depend on nothing but buffer contents. Writes land once, now. A kept tensor
   * that would take a buffer f released is refused: make such tables before (a recordPipelines dry run of f does).
   */
  capture(label: string, f: () => void): Program {
    if (this.capturing || this.pipelines.recording) throw new Error(`capture(${label}): already capturing or recording`);
    const c: Capture = { label, commands: [], buffers: new Set(), free: new Map(), reused: new Map(), params: [] };
    this.capturing = c;
    try {
      f();
      const released = new Set([...c.free.values()].flat());
      const kept = [...c.reused].find(([b]) => !released.has(b));
      // Replays would keep using it as the temporary it was before: the holder's contents would change under it.
      if (kept) throw new Error(`capture(${label}): ${kept[1]} takes a buffer released earlier in the capture and keeps it; allocate what outlives the program before capturing`);
    } catch (e) {
      this.capturing = null;
      for (const buffer of [...c.free.values()].flat()) this.pool.give(buffer);
      throw e;
    } finally {
      this.capturing = null;
    }
    let uniforms: GPUBuffer | null = null;
    if (c.params.length > 0) {
      uniforms = this.device.createBuffer({ label: `${label}.uniforms`, size: c.params.length * UNIFORM_SLOT, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      const data = new ArrayBuffer(c.params.length * UNIFORM_SLOT);
      c.params.forEach((slot, i) => new Uint8Array(data, i * UNIFORM_SLOT, UNIFORM_SLOT).set(new Uint8Array(slot)));
      this.device.queue.writeBuffer(uniforms, 0, data);
    }
    const commands: Command[] = c.commands.map((cmd) => {
      if (cmd.kind !== 'pending-dispatch') return cmd;
      const entries = cmd.slot === null ? cmd.entries
        : [...cmd.entries, { binding: cmd.entries.length, resource: { buffer: uniforms!, offset: cmd.slot * UNIFORM_SLOT, size: UNIFORM_SLOT } }];
      const bindGroup = this.device.createBindGroup({ label: `${label}.${cmd.label}.bindGroup`, layout: cmd.pipeline.getBindGroupLayout(0), entries });
      return { kind: 'dispatch', pipeline: cmd.pipeline, bindGroup, workgroups: cmd.workgroups };
    });
    return { label, commands, buffers: [...c.buffers], owned: [...c.free.values()].flat(), uniforms };
  }

  private captureDispatch(c: Capture, o: DispatchOptions, pipeline: GPUComputePipeline, entries: GPUBindGroupEntry[]): void {
    for (const b of o.bindings) c.buffers.add('buffer' in b ? b.buffer : b);
    let slot: number | null = null;
    if (o.params) {
      slot = c.params.length;
      const data = new ArrayBuffer(UNIFORM_SLOT);
      const u32 = Array.isArray(o.params) ? o.params : o.params.u32;
      const f32 = Array.isArray(o.params) ? [] : (o.params.f32 ?? []);
      const view = new DataView(data);
      u32.forEach((v, i) => view.setUint32(i * 4, v >>> 0, true));
      f32.forEach((v, i) => view.setFloat32((u32.length + i) * 4, v, true));
      c.params.push(data);
    }
    const [x, y = 1, z = 1] = o.workgroups;
    c.commands.push({ kind: 'pending-dispatch', label: o.label, pipeline, entries, slot, workgroups: [x, y, z] });
  }

  /** Encodes a captured program's commands into the current step (submitted by the next flush). */
  replay(p: Program): void {
    if (this.capturing || this.pipelines.recording) throw new Error(`replay(${p.label}) inside a capture or recording`);
    for (const b of p.buffers) this.pending.add(b);
    for (const cmd of p.commands) {
      if (cmd.kind === 'dispatch') {
        const pass = this.computePass();
        pass.setPipeline(cmd.pipeline);
        pass.setBindGroup(0, cmd.bindGroup);
        const [x, y, z] = cmd.workgroups;
        if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
        this.stats.dispatches++;
      } else if (cmd.kind === 'copy') {
        this.commandEncoder().copyBufferToBuffer(cmd.src, cmd.srcOffset, cmd.dst, cmd.dstOffset, cmd.bytes);
      } else {
        this.commandEncoder().clearBuffer(cmd.buffer, cmd.offset, cmd.bytes);
      }
    }
  }

  /** Gives a program's buffers back to the pool and destroys its uniforms; the program must not be replayed again. */
  dispose(p: Program): void {
    for (const buffer of p.owned) this.pool.give(buffer);
    if (p.uniforms) {
      if (this.pending.has(p.uniforms)) this.flush();
      p.uniforms.destroy();
    }
  }

  /**
   * Times every dispatch from now on with timestamp queries (timestamps.ts: a pass per dispatch) until `stop` is
   * called; `stop` resolves with the GPU time per dispatch label. The device needs 'timestamp-query'.
   */
  timeKernels(): { stop: () => Promise<KernelTime[]> } {
    if (this.kernelTimes) throw new Error('timeKernels: already timing');
    this.flush();
    const times = new KernelTimes(this.device);
    this.kernelTimes = times;
    return {
      stop: async () => {
        this.flush();
        this.kernelTimes = null;
        const result = await times.settle();
        times.destroy();
        return result;
      },
    };
  }

  /** A compute pass of its own for one timed dispatch (the timestamps bracket the pass). */
  private timedPass(label: string): GPUComputePassEncoder {
    let writes = this.kernelTimes!.next(label);
    if (!writes) { this.flush(); writes = this.kernelTimes!.next(label)!; }
    const encoder = this.commandEncoder(); // ends the pass before
    this.pass = encoder.beginComputePass({ label: `${label}.pass`, timestampWrites: writes });
    return this.pass;
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
    const readTimes = this.kernelTimes?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    readTimes?.();
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

/**
 * Optional device features. `shader-f16` and `subgroups` are requested when the adapter has them (`false` leaves
 * one off: tests of the fallback); 'timestamp-query', for Gpu.timeKernels (profiles, benchmarks), only when asked.
 */
export interface GpuOptions { f16?: boolean; subgroups?: boolean; timestampQuery?: boolean }

/** Requests an adapter and device from `navigator.gpu` (the page, a worker, or Node after installNodeWebGPU). */
export async function createGpu(opts: GpuOptions = {}): Promise<Gpu> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new Error('WebGPU is not available here (navigator.gpu is missing).');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('WebGPU is present but no GPU adapter was found.');
  const limits = adapter.limits;
  const wanted: [GPUFeatureName, boolean][] = [
    ['shader-f16', opts.f16 !== false], ['subgroups', opts.subgroups !== false], ['timestamp-query', opts.timestampQuery === true],
  ];
  const device = await adapter.requestDevice({
    label: 'studio',
    requiredFeatures: wanted.filter(([name, on]) => on && adapter.features.has(name)).map(([name]) => name),
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
