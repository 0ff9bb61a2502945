// Reading config.json fields for the descriptors: typed getters that fail with one line naming the file and the
// field, and the pieces several families share (token ids, rope_scaling / rope_parameters, layer_types).
// Every key a getter reads and every key refused is recorded while recordConfigKeys runs: the config-keys test
// (tests/node/config-keys.test.ts) asks the descriptors what they read and refuse rather than keeping its own list.
// Not here: what a key means for one family (the descriptors), size limits (src/io/validate.ts).
import type { RopeScaling } from '../../ops/rope';
import type { LayerType } from '../config';

/** More layers than any open model has (Llama 3.1 405B: 126): a larger num_hidden_layers is a corrupt config, refused
 *  before a descriptor builds a per-layer list from it (src/io/validate.ts checks every other size after mapping). */
export const MAX_LAYERS = 1024;

/** The keys read and refused (with the reason) by every HfConfig made while recordConfigKeys runs. */
export interface ConfigKeys { read: Set<string>; refused: Map<string, string> }
let recording: ConfigKeys | null = null;

/** Runs `fn` (a configFromHf call) and returns what it returned with the keys its descriptors read and refused. */
export function recordConfigKeys<T>(fn: () => T): ConfigKeys & { result: T } {
  const outer = recording;
  const keys: ConfigKeys = { read: new Set(), refused: new Map() };
  recording = keys;
  try {
    return { ...keys, result: fn() };
  } finally {
    recording = outer;
  }
}

/** A value that is absent, null or false: what a refused key may be. */
const unset = (v: unknown): boolean => v == null || v === false;

/**
 * Keys that transformers' shared code (masks, KV cache, per-layer configs, loading) reads from any model's config,
 * whatever its family, each of which would change the maths here: refused when set, by every descriptor.
 */
const SHARED_REFUSALS: [key: string, why: string, allowed?: (v: unknown) => boolean][] = [
  ['is_causal', 'bidirectional attention; a causal language model is tuned here', (v) => v == null || v === true],
  ['quantization_config', 'quantized weights are not read; use the unquantized checkpoint'],
  ['per_layer_config', 'per-layer overrides of the layer sizes are not implemented'],
  ['num_kv_shared_layers', 'layers that reuse another layer\'s KV cache are not implemented', (v) => v == null || v === 0],
  ['attention_chunk_size', 'chunked attention is not implemented'],
  ['text_config', 'a nested model config is not read for this model type'],
  ['decoder', 'a nested model config is not read for this model type'],
  ['generator', 'a nested model config is not read for this model type'],
];

export class HfConfig {
  /**
   * `scope` prefixes the recorded keys of a nested config ('text_config.'); `nested` names the one key holding a
   * nested config the family reads (Gemma 3's text_config), exempt from the shared refusals.
   */
  constructor(private readonly json: Record<string, unknown>, readonly fileName: string, private readonly opts: { scope?: string; nested?: string } = {}) {
    for (const [key, why, allowed] of SHARED_REFUSALS) if (key !== opts.nested) this.refuse(key, why, allowed);
  }

  /** The raw value of a key (recorded as read). */
  value(key: string): unknown {
    recording?.read.add((this.opts.scope ?? '') + key);
    return this.json[key];
  }

  fail(message: string): never {
    throw new Error(`${this.fileName}: ${message}`);
  }

  /** A positive integer (or the fallback when absent). */
  int(key: string, fallback?: number): number {
    const v = this.value(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(`${key} must be a positive integer (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  /** A whole number ≥ 0 (or the fallback when absent). */
  count(key: string, fallback: number): number {
    const v = this.value(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(`${key} must be a whole number ≥ 0 (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  /** true or false (or the fallback when absent or null). */
  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key) ?? fallback;
    if (typeof v !== 'boolean') this.fail(`${key} must be true or false (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  /** sliding_window (or the fallback when absent), at most 2^31: the attention kernels take it as a u32. */
  slidingWindow(fallback?: number): number {
    const w = this.int('sliding_window', fallback);
    if (w > 2 ** 31) this.fail(`sliding_window must be a whole number from 1 to ${2 ** 31} (got ${w})`);
    return w;
  }

  /** num_hidden_layers (or the key given), at most MAX_LAYERS. */
  layers(key = 'num_hidden_layers'): number {
    const n = this.int(key);
    if (n > MAX_LAYERS) this.fail(`${key} must be a whole number from 1 to ${MAX_LAYERS} (got ${n})`);
    return n;
  }

  /** A finite number (or the fallback when absent). */
  num(key: string, fallback: number): number {
    const v = this.value(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${key} must be a number (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  /** A norm's epsilon (or the fallback when absent): a number above 0 and below 1, refused by its key otherwise. */
  epsilon(key: string, fallback: number): number {
    const v = this.num(key, fallback);
    if (!(v > 0 && v < 1)) this.fail(`${key} must be a number above 0 and below 1 (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  tokenId(key: string): number | null {
    const v = this.value(key);
    return typeof v === 'number' ? v : null;
  }

  /** { padTokenId } when pad_token_id is set (the Llama-style embeddings' padding_idx), else nothing. */
  pad(): { padTokenId?: number } {
    const id = this.tokenId('pad_token_id');
    return id === null ? {} : { padTokenId: id };
  }

  eos(): number | number[] | null {
    const v = this.value('eos_token_id');
    return Array.isArray(v) ? (v as number[]) : this.tokenId('eos_token_id');
  }

  /** A field that would change the maths in a way the descriptor does not implement: refused unless `allowed` (by default: unset). */
  refuse(key: string, why: string, allowed: (v: unknown) => boolean = unset): void {
    recording?.refused.set((this.opts.scope ?? '') + key, why);
    const v = this.json[key];
    if (!allowed(v)) this.fail(`${key} = ${JSON.stringify(v)} is not supported (${why})`);
  }

  /** head_dim, or hidden / heads when absent (which must then divide). */
  headDim(hiddenSize: number, numHeads: number): number {
    if (this.value('head_dim') != null) return this.int('head_dim');
    if (hiddenSize % numHeads !== 0) this.fail(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
    return hiddenSize / numHeads;
  }

  /** num_key_value_heads (default: the query heads), which must divide num_attention_heads. */
  kvHeads(numHeads: number): number {
    const kv = this.int('num_key_value_heads', numHeads);
    if (numHeads % kv !== 0) this.fail(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${kv}`);
    return kv;
  }

  /**
   * The RoPE base and scaling of a layer type: transformers v5's rope_parameters (flat, or per layer type as
   * Gemma 3 writes it: { full_attention: {...}, sliding_attention: {...} }), else the older rope_theta +
   * rope_scaling (and a per-family key for the local base, Gemma 3's rope_local_base_freq).
   */
  rope(layerType: 'full_attention' | 'sliding_attention', fallbacks: { theta: number; thetaKey?: string; scaling: boolean }): { theta: number; scaling: RopeScaling | null } {
    this.refuse('partial_rotary_factor', 'RoPE on part of each head is not implemented', (v) => v == null || v === 1);
    this.refuse('default_rope_type', 'a RoPE kind other than the default is not implemented', (v) => v == null || v === 'default');
    // transformers gives a top-level original_max_position_embeddings (Phi-3's spelling) priority over the one in a
    // flat rope_parameters / rope_scaling (standardize_rope_params); a per-layer-type dict keeps its own.
    const original = this.value('original_max_position_embeddings');
    const flat = (s: unknown): unknown => (original != null && s && typeof s === 'object' ? { ...s, original_max_position_embeddings: original } : s);
    const params = this.value('rope_parameters') as Record<string, unknown> | undefined;
    if (params && typeof params === 'object') {
      const nested = params[layerType];
      const own = (nested ?? (params.rope_type !== undefined || params.rope_theta !== undefined ? params : null)) as Record<string, unknown> | null;
      if (own && typeof own === 'object') {
        const theta = own.rope_theta ?? this.value(fallbacks.thetaKey ?? 'rope_theta') ?? fallbacks.theta;
        if (typeof theta !== 'number' || !(theta > 0)) this.fail(`rope_parameters.${layerType}.rope_theta must be a positive number`);
        return { theta, scaling: ropeScaling(nested ? own : flat(own), `${this.fileName}: rope_parameters`) };
      }
    }
    const theta = this.num(fallbacks.thetaKey ?? 'rope_theta', fallbacks.theta);
    if (!(theta > 0)) this.fail(`${fallbacks.thetaKey ?? 'rope_theta'} must be a positive number (got ${theta})`);
    return { theta, scaling: fallbacks.scaling ? ropeScaling(flat(this.value('rope_scaling')), `${this.fileName}: rope_scaling`) : null };
  }

  /**
   * layer_types (sliding_attention or full_attention per layer), or fallback(l) for each layer when it is absent.
   * What a sliding layer's window is, and when layer_types may name one, is the family's to say.
   */
  layerTypes(numLayers: number, fallback: (l: number) => LayerType): LayerType[] {
    const given = this.value('layer_types');
    if (given == null) return Array.from({ length: numLayers }, (_, l) => fallback(l));
    if (!Array.isArray(given)) this.fail('layer_types must be a list');
    if (given.length !== numLayers) this.fail(`layer_types has ${given.length} entries for ${numLayers} layers`);
    return given.map((t, i) => {
      if (t === 'sliding_attention') return 'sliding';
      if (t === 'full_attention') return 'full';
      return this.fail(`layer_types[${i}] ${JSON.stringify(t)} is not sliding_attention or full_attention`);
    });
  }
}

/** LayerType[] → transformers' layer_types. */
export function layerTypesToHf(types: readonly LayerType[]): string[] {
  return types.map((t) => (t === 'sliding' ? 'sliding_attention' : 'full_attention'));
}

/** rope_scaling (or one rope_parameters entry) → RopeScaling: none/default, linear and llama3; others are refused. */
export function ropeScaling(value: unknown, where: string): RopeScaling | null {
  if (value == null) return null;
  const s = value as Record<string, unknown>;
  const type = (s.rope_type ?? s.type) as string | undefined;
  const n = (key: string): number => {
    const v = s[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${where}.${key} must be a positive number`);
    return v;
  };
  const partial = s.partial_rotary_factor;
  if (partial != null && partial !== 1) throw new Error(`${where}.partial_rotary_factor ${JSON.stringify(partial)} is not supported (RoPE on part of each head is not implemented)`);
  if (!type || type === 'default') return null;
  if (type === 'linear') return { type, factor: n('factor') };
  if (type === 'llama3') {
    return { type, factor: n('factor'), lowFreqFactor: n('low_freq_factor'), highFreqFactor: n('high_freq_factor'), originalMaxPositions: n('original_max_position_embeddings') };
  }
  throw new Error(`${where} type ${type} is not supported (supported: linear, llama3)`);
}

/** RopeScaling → the rope_scaling object transformers reads. */
export function ropeScalingToHf(s: RopeScaling | null | undefined): Record<string, unknown> | null {
  if (!s) return null;
  if (s.type === 'linear') return { rope_type: 'linear', factor: s.factor };
  return {
    rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositions,
  };
}
