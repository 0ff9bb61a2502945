// The pipeline cache: every compute pipeline the runtime dispatches, keyed by (code, entryPoint, constants), each
// shader module compiled once per source text.
// Contract: `get` returns the cached pipeline or compiles it now, synchronously (the fallback that always works).
// Before a first step, a dry run `record`s the pipelines it would use (Gpu.recordPipelines) and `prepare` compiles
// those with createComputePipelineAsync, all started at once so the implementation may compile them in parallel,
// into the same cache, so the step's dispatches find them compiled (src/train/trainer.ts prepare).
// Not here: dispatching (runtime.ts), the kernels' sources (src/ops).

/** What identifies a compiled pipeline: the cache key is (code, entryPoint, constants); the label names it. */
export interface PipelineSpec {
  code: string;
  entryPoint: string;
  label: string;
  constants?: Record<string, number>;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  /** While a dry run records: the pipelines dispatched, by cache key. */
  private recorded: Map<string, PipelineSpec> | null = null;

  constructor(private readonly device: GPUDevice, private readonly stats: { pipelinesCreated: number }) {}

  static key(p: PipelineSpec): string {
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

  private descriptor(p: PipelineSpec): GPUComputePipelineDescriptor {
    return { label: `${p.label}.pipeline`, layout: 'auto', compute: { module: this.shaderModule(p.code, p.label), entryPoint: p.entryPoint, constants: p.constants } };
  }

  /** The cached pipeline, compiled now (synchronously) when it is not there yet. */
  get(spec: PipelineSpec): GPUComputePipeline {
    const key = PipelineCache.key(spec);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline(this.descriptor(spec));
      this.pipelines.set(key, p);
      this.stats.pipelinesCreated++;
    }
    return p;
  }

  get recording(): boolean {
    return this.recorded !== null;
  }

  startRecording(): void {
    if (this.recorded) throw new Error('recordPipelines: already recording');
    this.recorded = new Map();
  }

  record(spec: PipelineSpec): void {
    this.recorded!.set(PipelineCache.key(spec), { code: spec.code, entryPoint: spec.entryPoint, label: spec.label, constants: spec.constants });
  }

  stopRecording(): PipelineSpec[] {
    const specs = [...(this.recorded?.values() ?? [])];
    this.recorded = null;
    return specs;
  }

  /** Compiles the pipelines not in the cache yet with createComputePipelineAsync, all at once; resolves with how many it compiled. */
  async prepare(specs: PipelineSpec[]): Promise<number> {
    const todo = new Map(specs.map((p) => [PipelineCache.key(p), p]));
    for (const key of todo.keys()) if (this.pipelines.has(key)) todo.delete(key);
    await Promise.all([...todo].map(async ([key, spec]) => {
      const p = await this.device.createComputePipelineAsync(this.descriptor(spec));
      if (this.pipelines.has(key)) return; // a dispatch compiled it meanwhile
      this.pipelines.set(key, p);
      this.stats.pipelinesCreated++;
    }));
    return todo.size;
  }
}
