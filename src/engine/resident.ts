// The engine's hold on the GPU: one device (made by the host; again after a loss), the loaded model, and ONE resident
// Transformer at a time. The loaded model's files stay open: its base weights stream from them whenever a model is
// built (src/io/load.ts: the host never holds the model as f32; a rebuild reads the files again). Base and tuned
// answers share the resident model: a LoRA model with a run's values written into its flat table is that run's
// tuned model, with an imported PEFT file written into its views that adapter, and with the table zeroed (B = 0
// adds exactly 0) the base model (weights.ts writes them and puts the resident values back).
//
// Contract: a run holds the model while it runs or is paused (`active`): generation, exports and loads wait for no
// one, they are refused while it steps. Memory admission: a run starts only when the device gives what its estimate
// needs (the resident model dropped first: the run rebuilds it), with both numbers in the refusal.
import type { Gpu } from '../gpu/runtime';
import type { OnnxDecoder } from '../generate/onnx-decoder';
import type { ModelMeta } from '../io/hf';
import { memoryVerdict } from '../model/memory-estimate';
import { loadTransformer } from '../io/load';
import type { ModelFiles } from '../io/model-files';
import type { LoraConfig } from '../model/lora';
import type { Transformer } from '../model/transformer';
import { activationCheckpointingFor, runMemoryEstimate, type RunConfig } from '../train/presets';
import type { ModelInfo } from './api';
import type { EngineHost } from './host';
import type { RunControl } from './session';

/** The loaded model: what the engine reports of it, its config and tokenizer, and its files. */
export interface LoadedModel { info: ModelInfo; model: ModelMeta; files: ModelFiles }

export class Resident {
  private gpu: Gpu | null = null;
  private resident: { net: Transformer; key: string } | null = null;
  loaded: LoadedModel | null = null;
  /** The run holding the model, running or paused. */
  active: RunControl | null = null;
  /** One ONNX decoder (the merged export of one choice's weights, in onnxruntime's memory), by the weights' key (weights.ts choiceKey). */
  onnx: { key: string; decoder: OnnxDecoder } | null = null;

  /** `onLost`: told when the device is lost (a run in progress also stops at its next step). */
  constructor(private readonly host: EngineHost, private readonly onLost: (message: string) => void) {}

  async device(): Promise<Gpu> {
    if (this.gpu) return this.gpu;
    const g = await this.host.createGpu();
    this.gpu = g;
    void g.device.lost.then((info) => {
      if (this.gpu !== g) return;
      this.gpu = null;
      this.resident = null;
      const message = `The GPU device was lost (${info.reason}: ${info.message}).`;
      if (this.active) this.active.lost = message;
      this.onLost(message);
    });
    return g;
  }

  /** Settles when the device is lost or after a moment: a failed step may be the first sign of a loss, which settles just after. */
  async lossSettled(): Promise<void> {
    if (this.gpu) await Promise.race([this.gpu.device.lost, new Promise((ok) => setTimeout(ok, 200))]);
  }

  model(): LoadedModel {
    if (!this.loaded) throw new Error('Load a model first.');
    return this.loaded;
  }

  refuseWhileStepping(what: string): void {
    if (this.active && !this.active.paused) throw new Error(`A training run is in progress; pause or cancel it before ${what}.`);
  }

  /** Frees the resident model (its memory then counts as free for a probe). */
  drop(): void {
    this.resident?.net.destroy();
    this.resident = null;
  }

  /** Keeps `net` resident under `key` ('none' for the base model, lora:<config> for a LoRA model). */
  keep(net: Transformer, key: string): void {
    this.drop();
    this.resident = { net, key };
  }

  /** The resident model, whatever it is (the base model's answers zero its LoRA table). */
  get current(): Transformer | null {
    return this.resident?.net ?? null;
  }

  /** A LoRA model with this config on the loaded weights: a fresh one for a run, else the resident one when it matches. */
  async lora(lora: LoraConfig, seed: number, forRun: boolean): Promise<Transformer> {
    const key = `lora:${JSON.stringify(lora)}`;
    if (!forRun && this.resident?.key === key) return this.resident.net;
    if (!forRun && this.active) throw new Error('A paused run holds the model; finish or cancel it first.');
    const m = this.model();
    const g = await this.device();
    this.drop();
    const net = await g.withOomScope(`Loading ${m.info.name} onto the GPU`, () => loadTransformer(g, m.files, m.model.config, { kind: 'lora', lora }, { seed, weights: m.info.weights }));
    this.resident = { net, key };
    return net;
  }

  /** The base model alone, built when nothing is resident. */
  async base(): Promise<Transformer> {
    if (this.resident) return this.resident.net;
    const m = this.model();
    const g = await this.device();
    const net = await g.withOomScope(`Loading ${m.info.name} onto the GPU`, () => loadTransformer(g, m.files, m.model.config, { kind: 'none' }, { weights: m.info.weights }));
    this.resident = { net, key: 'none' };
    return net;
  }

  /**
   * Refuses a run the GPU cannot hold: asks the device for the run's estimated memory (the resident model dropped
   * first: the run rebuilds it). Returns whether the run checkpoints activations ('auto': when it would not fit
   * without; the verdict then judges the checkpointed estimate).
   */
  async admitRun(config: RunConfig): Promise<boolean> {
    const g = await this.device();
    this.drop();
    const m = this.model();
    const model = m.model.config;
    const run = { ...config, train: { ...config.train, weights: m.info.weights } };   // the base as it is kept
    const budget = await g.probeMemory(runMemoryEstimate(run, model).trainingBytes);
    const checkpointing = activationCheckpointingFor(run, model, budget);
    const refusal = memoryVerdict('training', runMemoryEstimate(run, model, checkpointing), budget);
    if (refusal) throw new Error(refusal);
    return checkpointing;
  }

  dropOnnx(): void {
    void this.onnx?.decoder.release();
    this.onnx = null;
  }

  dispose(): void {
    this.drop();
    this.dropOnnx();
    this.gpu?.destroy();
    this.gpu = null;
  }
}
