// The model's one memory table: every parameter has a name (Hugging Face's), a shape and a place.
//  - Frozen parameters (the base model under LoRA) each get their own buffer and never a gradient.
//  - Trainable parameters (LoRA A/B, or everything in full mode) are views into ONE flat buffer, with
//    grads, AdamW m and v, and a weight-decay mask in flat buffers of the same layout, so zeroing grads,
//    the global grad norm and the optimizer update are one dispatch each.
// Layout of the flat table: trainable specs in the order given, each padded to VIEW_ALIGN elements.
import { numel, VIEW_ALIGN, type Gpu, type Tensor } from '../gpu/runtime';

export interface ParamSpec {
  name: string;
  shape: number[];
  trainable: boolean;
  /** AdamW weight decay applies (false for biases and norm weights, as TRL/HF group them). */
  decay: boolean;
  init: Float32Array;
}

export interface FlatTable {
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

  constructor(private readonly gpu: Gpu, specs: ParamSpec[]) {
    let size = 0;
    for (const s of specs) {
      if (s.init.length !== numel(s.shape)) throw new Error(`${s.name}: ${s.init.length} values for shape [${s.shape}]`);
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
        init.set(s.init, off);
        if (s.decay) decay.fill(1, off, off + s.init.length);
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
      if (s.trainable) {
        const off = this.offsets.get(s.name)!;
        this.tensors.set(s.name, gpu.view(this.flat!.params, off, s.shape, s.name));
        this.grads.set(s.name, gpu.view(this.flat!.grads, off, s.shape, `d.${s.name}`));
      } else {
        this.tensors.set(s.name, gpu.fromArray(s.shape, s.init, s.name));
      }
    }
    // The CPU copies were only needed to upload.
    for (const s of specs) s.init = new Float32Array(0);
  }

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`no parameter named ${name}`);
    return t;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
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
    for (const [name, t] of this.tensors) if (!this.offsets.has(name)) t.buffer.destroy();
    if (this.flat) for (const t of [this.flat.params, this.flat.grads, this.flat.m, this.flat.v, this.flat.decayMask]) t.buffer.destroy();
  }
}
