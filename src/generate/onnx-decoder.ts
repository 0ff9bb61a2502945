// A Decoder (decoder.ts) over an onnxruntime session of our ONNX graph (onnx-graph.ts, what the export writes), so the same
// generation loop runs on onnxruntime-web's wasm backend (CPU) where that is faster than our WebGPU engine,
// e.g. on a software adapter. The `ort` module is passed in: the worker imports onnxruntime-web/wasm (with its
// wasm path set for the built app), Node tests pass onnxruntime-web (whose Node build runs the same wasm).
// KV cache: each step feeds the previous step's present.{l}.key/value as past_key_values.{l}.*, with
// attention_mask all ones over past + new tokens and position_ids continuing from the cache length.
// With the 'inputs' export one session serves every adapter: withAdapter(lora) feeds other A/B/scale tensors,
// withAdapter(null) the base model (rank-1 zeros). Batch 1, float32 only.
import type * as OrtWeb from 'onnxruntime-web';
import { ONNX_LORA_SCALE, onnxGraph, type OnnxLora } from './onnx-graph';
import type { ModelConfig } from '../model/config';
import type { Transformer } from '../model/transformer';
import type { Decoder, DecoderSequence } from './decoder';

/** What we use of an onnxruntime module (onnxruntime-web and onnxruntime-node share this API). */
export type Ort = Pick<typeof OrtWeb, 'InferenceSession' | 'Tensor'>;
type Session = OrtWeb.InferenceSession;
type Tensor = OrtWeb.Tensor;

export interface OnnxDecoderOptions {
  /** Default ['wasm']. */
  executionProviders?: OrtWeb.InferenceSession.ExecutionProviderConfig[];
  /** The adapter to feed an 'inputs' export (default: none, i.e. the base model). */
  lora?: OnnxLora | null;
}

const isLoraInput = (name: string): boolean => name === ONNX_LORA_SCALE || /\.lora_[AB]\.weight$/.test(name);

export class OnnxDecoder implements Decoder {
  private constructor(
    private readonly ort: Ort,
    readonly session: Session,
    readonly config: ModelConfig,
    /** Constant feeds of every step: the adapter's tensors, or none for a merged export. */
    private readonly loraFeeds: Record<string, Tensor>,
  ) {}

  static async create(ort: Ort, modelBytes: Uint8Array, config: ModelConfig, opts: OnnxDecoderOptions = {}): Promise<OnnxDecoder> {
    const session = await ort.InferenceSession.create(modelBytes, { executionProviders: opts.executionProviders ?? ['wasm'] });
    const missing = ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key'].filter((n) => !session.inputNames.includes(n));
    if (missing.length > 0 || !session.outputNames.includes('logits')) {
      await session.release();
      throw new Error(`ONNX model is not a text-generation export with a KV cache (missing ${missing.length > 0 ? missing.join(', ') : 'logits'})`);
    }
    try {
      const layers = session.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
      if (layers !== config.numLayers) throw new Error(`ONNX model has ${layers} layers but the model config has ${config.numLayers}: not an export of this model`);
      return new OnnxDecoder(ort, session, config, loraFeedsFor(ort, session, opts.lora ?? null));
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Whether the graph takes LoRA tensors as inputs (the 'inputs' export). */
  get takesLora(): boolean {
    return this.session.inputNames.some(isLoraInput);
  }

  /** The same session with another adapter (null: the base model). Only for the 'inputs' export. */
  withAdapter(lora: OnnxLora | null): OnnxDecoder {
    return new OnnxDecoder(this.ort, this.session, this.config, loraFeedsFor(this.ort, this.session, lora));
  }

  open(capacity: number): DecoderSequence {
    const { ort, session, config: c } = this;
    const i64 = (values: number[]): Tensor => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, values.length]);
    let past: Record<string, Tensor> = {};
    for (let l = 0; l < c.numLayers; l++) for (const kv of ['key', 'value']) {
      past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, c.numKvHeads, 0, c.headDim]);
    }
    let length = 0;
    const disposePast = (): void => Object.values(past).forEach((t) => t.dispose());
    return {
      get length() { return length; },
      capacity,
      append: async (ids) => {
        if (length + ids.length > capacity) throw new Error(`ONNX decoder: ${length + ids.length} tokens exceed the sequence's ${capacity}`);
        const total = length + ids.length;
        const out = await session.run({
          input_ids: i64(ids),
          attention_mask: i64(new Array<number>(total).fill(1)),
          position_ids: i64(ids.map((_, i) => length + i)),
          ...past,
          ...this.loraFeeds,
        });
        disposePast();
        past = {};
        for (let l = 0; l < c.numLayers; l++) for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`];
        length = total;
        const logits = out.logits;
        const V = c.vocabSize;
        const row = (logits.data as Float32Array).slice((ids.length - 1) * V, ids.length * V);  // [1, S, V] → last row
        logits.dispose();
        return row;
      },
      close: disposePast,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * `net` (base, or tuned with its LoRA merged) on onnxruntime: its ONNX graph built in memory, as a Decoder for
 * generate(). Building the graph reads the weights back from the GPU; keep the decoder while the adapter stays.
 */
export async function onnxDecoderOf(ort: Ort, net: Transformer, opts: Omit<OnnxDecoderOptions, 'lora'> = {}): Promise<OnnxDecoder> {
  return OnnxDecoder.create(ort, await onnxGraph(net), net.config, opts);
}

/** The constant LoRA feeds for `session`: the adapter's tensors, or the base model (B = 0) when lora is null. */
function loraFeedsFor(ort: Ort, session: Session, lora: OnnxLora | null): Record<string, Tensor> {
  const inputs = session.inputMetadata.filter((m) => isLoraInput(m.name));
  if (inputs.length === 0) {
    if (lora) throw new Error('ONNX decoder: this export has the LoRA merged in (no LoRA inputs); export with lora: \'inputs\' to feed adapters');
    return {};
  }
  const feeds: Record<string, Tensor> = {};
  if (!lora) {
    // rank-1 zeros: (x·0ᵀ)·0ᵀ adds nothing, so this is the base model
    for (const m of inputs) {
      if (m.name === ONNX_LORA_SCALE) { feeds[m.name] = new ort.Tensor('float32', Float32Array.of(0), []); continue; }
      const shape = (m as OrtWeb.InferenceSession.TensorValueMetadata).shape.map((d) => (typeof d === 'number' ? d : 1));
      feeds[m.name] = new ort.Tensor('float32', new Float32Array(shape[0] * shape[1]), shape);
    }
    return feeds;
  }
  const wanted = new Set(inputs.map((m) => m.name));
  const extra = [...lora.tensors.keys()].filter((n) => !wanted.has(n));
  if (extra.length > 0) throw new Error(`ONNX decoder: the adapter has tensors the export does not take (other target modules?): ${extra.slice(0, 3).join(', ')}`);
  for (const name of wanted) {
    if (name === ONNX_LORA_SCALE) { feeds[name] = new ort.Tensor('float32', Float32Array.of(lora.scale), []); continue; }
    const t = lora.tensors.get(name);
    if (!t) throw new Error(`ONNX decoder: the adapter lacks ${name}`);
    feeds[name] = new ort.Tensor('float32', t.data, t.shape);
  }
  return feeds;
}
