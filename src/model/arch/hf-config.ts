// Reading config.json fields for the descriptors: typed getters that fail with one line naming the file and the
// field, and the pieces several families share (token ids, rope_scaling / rope_parameters).
import type { RopeScaling } from '../../ops/rope';

/** More layers than any open model has (Llama 3.1 405B: 126): a larger num_hidden_layers is a corrupt config, refused
 *  before a descriptor builds a per-layer list from it (src/io/validate.ts checks every other size after mapping). */
export const MAX_LAYERS = 1024;

export class HfConfig {
  constructor(readonly json: Record<string, unknown>, readonly fileName: string) {}

  fail(message: string): never {
    throw new Error(`${this.fileName}: ${message}`);
  }

  /** A positive integer (or the fallback when absent). */
  int(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(`${key} must be a positive integer (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  /** num_hidden_layers (or the key given), at most MAX_LAYERS. */
  layers(key = 'num_hidden_layers'): number {
    const n = this.int(key);
    if (n > MAX_LAYERS) this.fail(`${key} must be a whole number from 1 to ${MAX_LAYERS} (got ${n})`);
    return n;
  }

  /** A finite number (or the fallback when absent). */
  num(key: string, fallback: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${key} must be a number (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  tokenId(key: string): number | null {
    return typeof this.json[key] === 'number' ? (this.json[key] as number) : null;
  }

  /** { padTokenId } when pad_token_id is set (the Llama-style embeddings' padding_idx), else nothing. */
  pad(): { padTokenId?: number } {
    const id = this.tokenId('pad_token_id');
    return id === null ? {} : { padTokenId: id };
  }

  eos(): number | number[] | null {
    return Array.isArray(this.json.eos_token_id) ? (this.json.eos_token_id as number[]) : this.tokenId('eos_token_id');
  }

  /** A field that would change the maths in a way the descriptor does not implement: refused when set. */
  refuse(key: string, why: string): void {
    if (this.json[key] != null && this.json[key] !== false) this.fail(`${key} = ${JSON.stringify(this.json[key])} is not supported (${why})`);
  }

  /** head_dim, or hidden / heads when absent (which must then divide). */
  headDim(hiddenSize: number, numHeads: number): number {
    if (this.json.head_dim != null) return this.int('head_dim');
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
    const params = this.json.rope_parameters as Record<string, unknown> | undefined;
    if (params && typeof params === 'object') {
      const own = (params[layerType] ?? (params.rope_type !== undefined || params.rope_theta !== undefined ? params : null)) as Record<string, unknown> | null;
      if (own && typeof own === 'object') {
        const theta = own.rope_theta ?? this.json[fallbacks.thetaKey ?? 'rope_theta'] ?? fallbacks.theta;
        if (typeof theta !== 'number' || !(theta > 0)) this.fail(`rope_parameters.${layerType}.rope_theta must be a positive number`);
        return { theta, scaling: ropeScaling(own, `${this.fileName}: rope_parameters`) };
      }
    }
    const theta = this.num(fallbacks.thetaKey ?? 'rope_theta', fallbacks.theta);
    if (!(theta > 0)) this.fail(`${fallbacks.thetaKey ?? 'rope_theta'} must be a positive number (got ${theta})`);
    return { theta, scaling: fallbacks.scaling ? ropeScaling(this.json.rope_scaling, `${this.fileName}: rope_scaling`) : null };
  }
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
