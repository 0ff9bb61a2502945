// The model's one memory table: every parameter has a name (Hugging Face's), a shape and a place.
//  - Frozen parameters (the base model under LoRA) each get their own buffer and never a gradient.
//  - Trainable parameters (LoRA A/B, or everything in full mode) are views into ONE flat buffer, with
//    grads, AdamW m and v, and a weight-decay mask in flat buffers of the same layout, so zeroing grads,
//    the global grad norm and the optimizer update are one dispatch each.
//  - A 2-D parameter larger than one storage binding is also described as row blocks (chunks.ts), each within
//    the limit: views of its one buffer (or of the flat table), or, for a frozen weight over maxBufferSize,
//    separate buffers (then there is no whole tensor: `get` refuses, `read`/`write` go block by block).
//  - A frozen matrix may be stored 16-bit or quantised (spec.storage; src/ops/weight-storage.ts): one buffer per row block,
//    each block encoded on its own; only chunks.ts's products read it, `read`/`write` decode and encode on the host,
//    and `writeHalf` uploads a checkpoint's 16-bit bits unchanged when they are the storage. On a device with
//    shader-f16 a 16-bit matrix is held as f16 for the matmul's f16 kernels when it fits them (bf16 converted:
//    halvesForF16Kernels; each upload decides for the whole matrix), else as its storage on the f32 kernels.
// Layout of the flat table: trainable specs in the order given, each padded to VIEW_ALIGN elements.
import { numel, type Gpu, type Tensor } from '../gpu/runtime';
import { deviceLimits, planRowBlocks, VIEW_ALIGN, type BufferLimits } from '../gpu/limits';
import type { RowChunked } from './chunks';
import { f32ToBf16, f32ToF16 } from '../ops/half';
import { decodeWeights, encodeWeights, halvesForF16Kernels, packHalves, storageWords, type WeightStorage } from '../ops/weight-storage';

export interface ParamSpec {
  name: string;
  shape: number[];
  trainable: boolean;
  /** AdamW weight decay applies (false for biases and norm weights, as TRL/HF group them). */
  decay: boolean;
  /** Initial values; null: allocated only, the values written later with `write` (weights streamed from a checkpoint). */
  init: Float32Array | null;
  /** How a frozen matrix is kept on the GPU (default f32); anything but f32 is only for frozen 2-D specs. */
  storage?: WeightStorage;
}

interface FlatTable {
  size: number;       // padded element count
  params: Tensor;     // [size]
  grads: Tensor;      // [size]
  m: Tensor;          // [size] AdamW first moment
  v: Tensor;          // [size] AdamW second moment
  decayMask: Tensor;  // [size] 1 where weight decay applies
}

export class ParamTable {
  readonly tensors = new Map<string, Tensor>();
  readonly grads = new Map<string, Tensor>();
  readonly specs = new Map<string, ParamSpec>();
  /** Element offset of each trainable parameter in the flat table. */
  readonly offsets = new Map<string, number>();
  readonly flat: FlatTable | null;
  /** Every parameter as row blocks (one block unless it is over the binding limit). */
  private readonly chunkedMap = new Map<string, RowChunked>();

  constructor(private readonly gpu: Gpu, specs: ParamSpec[], readonly limits: BufferLimits = deviceLimits(gpu)) {
    let size = 0;
    for (const s of specs) {
      if (s.init && s.init.length !== numel(s.shape)) throw new Error(`${s.name}: ${s.init.length} values for shape [${s.shape}]`);
      if ((s.storage ?? 'f32') !== 'f32' && (s.trainable || s.shape.length !== 2)) {
        throw new Error(`${s.name}: ${s.storage} storage is for frozen matrices; a trained or 1-D parameter stays f32`);
      }
      this.specs.set(s.name, s);
      if (!s.trainable) continue;
      this.offsets.set(s.name, size);
      size += Math.ceil(numel(s.shape) / VIEW_ALIGN) * VIEW_ALIGN;
    }
    if (size > 0) {
      const params = gpu.zeros([size], 'params.flat');
      const init = new Float32Array(size);
      const decay = new Float32Array(size);
      for (const s of specs) {
        if (!s.trainable) continue;
        const off = this.offsets.get(s.name)!;
        if (s.init) init.set(s.init, off);
        if (s.decay) decay.fill(1, off, off + numel(s.shape));
      }
      gpu.write(params, init);
      this.flat = {
        size, params,
        grads: gpu.zeros([size], 'grads.flat'),
        m: gpu.zeros([size], 'adam.m.flat'),
        v: gpu.zeros([size], 'adam.v.flat'),
        decayMask: gpu.fromArray([size], decay, 'decayMask.flat'),
      };
    } else {
      this.flat = null;
    }
    for (const s of specs) {
      const [rows, cols = 1] = s.shape.length === 2 ? s.shape : [numel(s.shape)];
      const plan = s.shape.length === 2 ? planRowBlocks(s.name, rows, cols, limits.maxBindingBytes) : [{ first: 0, rows }];
      if (s.shape.length !== 2 && rows * 4 > limits.maxBindingBytes) {
        throw new Error(`${s.name} [${s.shape}] is over the binding limit of ${limits.maxBindingBytes} bytes and is not a matrix to split by rows`);
      }
      const blockOf = (whole: Tensor, label: string, first: number, n: number) =>
        plan.length === 1 ? whole : gpu.view(whole, first * cols, [n, cols], `${label}.rows${first}`);
      const storage = s.storage ?? 'f32';
      let chunked: RowChunked;
      if (storage !== 'f32') {
        chunked = {
          name: s.name, rows, cols, storage, f16Math: false,
          blocks: plan.map((b) => {
            const w = gpu.tensor([storageWords(storage, b.rows * cols)], `${s.name}.${storage}.rows${b.first}`);
            if (s.init && !isHalf(storage)) gpu.writeU32(w, encodeWeights(storage, s.init.subarray(b.first * cols, (b.first + b.rows) * cols)));
            return { ...b, w, dw: null };
          }),
        };
        if (s.init && isHalf(storage)) this.writeHalves(chunked, storage, halves(storage, s.init));
      } else if (s.trainable) {
        const off = this.offsets.get(s.name)!;
        const w = gpu.view(this.flat!.params, off, s.shape, s.name);
        const dw = gpu.view(this.flat!.grads, off, s.shape, `d.${s.name}`);
        this.tensors.set(s.name, w);
        this.grads.set(s.name, dw);
        chunked = { name: s.name, rows, cols, storage, f16Math: false, blocks: plan.map((b) => ({ ...b, w: blockOf(w, s.name, b.first, b.rows), dw: blockOf(dw, `d.${s.name}`, b.first, b.rows) })) };
      } else if (numel(s.shape) * 4 <= limits.maxBufferBytes) {
        const w = s.init ? gpu.fromArray(s.shape, s.init, s.name) : gpu.tensor(s.shape, s.name);
        this.tensors.set(s.name, w);
        chunked = { name: s.name, rows, cols, storage, f16Math: false, blocks: plan.map((b) => ({ ...b, w: blockOf(w, s.name, b.first, b.rows), dw: null })) };
      } else {
        chunked = {
          name: s.name, rows, cols, storage, f16Math: false,
          blocks: plan.map((b) => ({
            ...b, dw: null,
            w: s.init ? gpu.fromArray([b.rows, cols], s.init.subarray(b.first * cols, (b.first + b.rows) * cols), `${s.name}.rows${b.first}`) : gpu.tensor([b.rows, cols], `${s.name}.rows${b.first}`),
          })),
        };
      }
      this.chunkedMap.set(s.name, chunked);
    }
    // The CPU copies were only needed to upload.
    for (const s of specs) s.init = new Float32Array(0);
  }

  /** The whole tensor of a parameter (every parameter but a frozen one stored in separate block buffers). */
  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (t) return t;
    const c = this.chunkedMap.get(name);
    if (c && c.storage !== 'f32') throw new Error(`${name} is stored as ${c.storage}; use chunked(), read() or write()`);
    if (c) throw new Error(`${name} is stored in ${c.blocks.length} buffers (over maxBufferSize); use chunked(), read() or write()`);
    throw new Error(`no parameter named ${name}`);
  }

  /** A parameter as row blocks, each within the binding limit (one block when it fits). */
  chunked(name: string): RowChunked {
    const c = this.chunkedMap.get(name);
    if (!c) throw new Error(`no parameter named ${name}`);
    return c;
  }

  has(name: string): boolean {
    return this.chunkedMap.has(name);
  }

  /** The values of any parameter, whole (export, tests), however it is stored. */
  async read(name: string): Promise<Float32Array> {
    const c = this.chunked(name);
    const out = new Float32Array(c.rows * c.cols);
    for (const b of c.blocks) {
      const words = await this.gpu.readU32(b.w);
      out.set(decodeWeights(c.storage, words, b.rows * c.cols), b.first * c.cols);
    }
    return out;
  }

  /** Overwrites any parameter's values (numel of its shape), however it is stored. */
  write(name: string, data: Float32Array): void {
    const c = this.chunked(name);
    if (data.length !== c.rows * c.cols) throw new Error(`write(${name}): ${data.length} values for [${this.specs.get(name)!.shape}]`);
    const storage = this.specs.get(name)!.storage ?? 'f32';
    if (isHalf(storage)) {
      this.writeHalves(c, storage, halves(storage, data));
      return;
    }
    for (const b of c.blocks) {
      const part = data.subarray(b.first * c.cols, (b.first + b.rows) * c.cols);
      if (c.storage === 'f32') this.gpu.write(b.w, part);
      else this.gpu.writeU32(b.w, encodeWeights(c.storage, part));
    }
  }

  /**
   * Writes a checkpoint's 16-bit tensor: its bits go to the GPU as they are when they are the parameter's storage
   * (no f32 copy on the host), else they are widened and stored as `write` stores them.
   */
  writeHalf(name: string, dtype: 'BF16' | 'F16', bits: Uint16Array, widen: () => Float32Array): void {
    const c = this.chunked(name);
    if (bits.length !== c.rows * c.cols) throw new Error(`writeHalf(${name}): ${bits.length} values for [${this.specs.get(name)!.shape}]`);
    const storage = this.specs.get(name)!.storage;
    if (storage !== dtype.toLowerCase()) {
      this.write(name, widen());
      return;
    }
    this.writeHalves(c, storage as 'bf16' | 'f16', bits);
  }

  /** A 16-bit matrix's bits in `storage`, or as f16 for the f16 kernels where the device and the values allow. */
  private writeHalves(c: RowChunked, storage: 'bf16' | 'f16', bits: Uint16Array): void {
    const f16 = this.gpu.f16 ? halvesForF16Kernels(storage, bits) : null;
    c.storage = f16 ? 'f16' : storage;
    c.f16Math = f16 !== null;
    const held = f16 ?? bits;
    for (const b of c.blocks) this.gpu.writeU32(b.w, packHalves(held.subarray(b.first * c.cols, (b.first + b.rows) * c.cols)));
  }

  /** The gradient view of a trainable parameter, or null when it is frozen. */
  grad(name: string): Tensor | null {
    return this.grads.get(name) ?? null;
  }

  trainableNames(): string[] {
    return [...this.offsets.keys()];
  }

  /** Reads trainable parameters back (checkpoints, export): name → values. */
  async readTrainable(which: 'params' | 'grads' | 'm' | 'v' = 'params'): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    if (!this.flat) return out;
    const all = await this.gpu.read(this.flat[which]);
    for (const [name, off] of this.offsets) out.set(name, all.slice(off, off + numel(this.specs.get(name)!.shape)));
    return out;
  }

  /** Restores the whole flat state (params, m, v) from a checkpoint. */
  writeFlat(which: 'params' | 'm' | 'v', data: Float32Array): void {
    if (!this.flat || data.length !== this.flat.size) throw new Error(`writeFlat(${which}): size mismatch`);
    this.gpu.write(this.flat[which], data);
  }

  async readFlat(which: 'params' | 'm' | 'v'): Promise<Float32Array> {
    if (!this.flat) return new Float32Array(0);
    return this.gpu.read(this.flat[which]);
  }

  destroy(): void {
    for (const [name, c] of this.chunkedMap) {
      if (this.offsets.has(name)) continue;
      const whole = this.tensors.get(name);
      if (whole) this.gpu.free(whole);
      else this.gpu.free(...c.blocks.map((b) => b.w));
    }
    if (this.flat) this.gpu.free(this.flat.params, this.flat.grads, this.flat.m, this.flat.v, this.flat.decayMask);
  }
}

const isHalf = (s: WeightStorage): s is 'bf16' | 'f16' => s === 'bf16' || s === 'f16';

/** f32 values rounded to 16-bit `storage` (nearest even), as encodeWeights packs them. */
const halves = (storage: 'bf16' | 'f16', x: Float32Array): Uint16Array => (storage === 'bf16' ? f32ToBf16(x) : f32ToF16(x));
