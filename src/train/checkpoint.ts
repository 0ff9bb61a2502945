// Training checkpoints: everything an exact resume needs, as one byte string.
//   the flat trainable table (params [size]), AdamW moments (m [size], v [size]),
//   TrainerState (step, epoch, cursor, data order, RNG state), the train and LoRA configs, a preference run's
//   cached reference log-probs (DPO: float64 in the header's JSON, which round-trips every double), a method's own
//   state (GRPO: the generation batch in use as JSON, the reference adapter as floats), and free metadata.
// Resume contract: build the same model (same base weights, same LoraConfig, same seed), a trainer (the SFT
// Trainer or the PreferenceTrainer) on the same data and TrainConfig, then `applyCheckpoint(ckpt, model, trainer)`;
// the following steps give the same losses, bit for bit, as a run that never stopped
// (tests/node/checkpoint-resume.test.ts, tests/node/preference-resume.test.ts).
//
// Byte layout (little-endian):
//   0  'SFTCKPT1' (8 bytes magic)
//   8  u32 header length H (bytes of UTF-8 JSON)
//   12 header JSON, then zero padding to a multiple of 4
//   …  params, m, v as f32 [size] each, then the method's floats (header.methodFloats of them; absent: none)
// Deliberately not here: where checkpoints are stored (src/storage/runs.ts) or when they are taken.
import type { LoraConfig } from '../model/lora';
import type { Transformer } from '../model/transformer';
import type { ReferenceLogps } from './preference';
import type { TrainConfig, TrainerState } from './trainer';

const MAGIC = 'SFTCKPT1';
export const CHECKPOINT_VERSION = 1;

/** A training method's own resume state: JSON (checked by the trainer that reads it back) and a float block. */
export interface MethodState {
  json: unknown;
  floats: Float32Array | null;
}

/** What a checkpoint reads from a trainer and writes back into it: the SFT Trainer, the PreferenceTrainer, the GrpoTrainer. */
export interface CheckpointedTrainer {
  readonly cfg: TrainConfig;
  readonly data: { readonly length: number };
  readonly state: TrainerState;
  /** DPO's cached reference log-probs; absent or null for a method without a reference. */
  readonly reference?: ReferenceLogps | null;
  /** GRPO's generation batch and reference adapter; absent for a method with nothing more to keep. */
  methodState?(): Promise<MethodState>;
  restore(state: TrainerState, reference: ReferenceLogps | null, method: MethodState | null): void;
}

export interface Checkpoint {
  version: number;
  train: TrainConfig;
  lora: LoraConfig | null;
  state: TrainerState;
  /** The trainer's reference log-probs (DPO), or null. */
  reference: ReferenceLogps | null;
  /** The trainer's own state (GRPO), or null. */
  method: MethodState | null;
  /** Padded element count of the flat table (params, m, v all have this length). */
  size: number;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** Anything the caller wants to keep with it (run id, dataset version, best validation loss). */
  meta: Record<string, unknown>;
}

/** Reads the model's flat table and the trainer's state into a checkpoint (awaits three GPU readbacks). */
export async function captureCheckpoint(model: Transformer, trainer: CheckpointedTrainer, meta: Record<string, unknown> = {}): Promise<Checkpoint> {
  const [params, m, v] = [await model.params.readFlat('params'), await model.params.readFlat('m'), await model.params.readFlat('v')];
  const s = trainer.state;
  return {
    version: CHECKPOINT_VERSION, train: { ...trainer.cfg }, lora: model.mode.kind === 'lora' ? { ...model.mode.lora } : null,
    state: { step: s.step, epoch: s.epoch, cursor: s.cursor, order: [...s.order], rngState: s.rngState },
    reference: trainer.reference ? trainer.reference.map((r) => ({ ...r })) : null,
    method: trainer.methodState ? await trainer.methodState() : null,
    size: params.length, params, m, v, meta,
  };
}

/** Writes a checkpoint back into a model and trainer built as the contract above says. */
export function applyCheckpoint(ckpt: Checkpoint, model: Transformer, trainer: CheckpointedTrainer): void {
  const flat = model.params.flat;
  if (!flat) throw new Error('checkpoint: the model has no trainable parameters');
  if (flat.size !== ckpt.size) throw new Error(`checkpoint: ${ckpt.size} trainable values, the model has ${flat.size} (different LoRA settings or model?)`);
  if (ckpt.state.order.length !== trainer.data.length) {
    throw new Error(`checkpoint: data order covers ${ckpt.state.order.length} examples, the run has ${trainer.data.length} (the dataset changed)`);
  }
  model.params.writeFlat('params', ckpt.params);
  model.params.writeFlat('m', ckpt.m);
  model.params.writeFlat('v', ckpt.v);
  trainer.restore(ckpt.state, ckpt.reference, ckpt.method);
}

export function serializeCheckpoint(c: Checkpoint): Uint8Array {
  if (c.params.length !== c.size || c.m.length !== c.size || c.v.length !== c.size) throw new Error('checkpoint: params, m and v must all have `size` values');
  const extra = c.method?.floats ?? null;
  const method = c.method ? { method: c.method.json, methodFloats: extra?.length ?? 0 } : {};
  const header = new TextEncoder().encode(JSON.stringify({ version: c.version, train: c.train, lora: c.lora, state: c.state, reference: c.reference, ...method, size: c.size, meta: c.meta }));
  const headerEnd = 12 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const out = new Uint8Array(dataStart + (3 * c.size + (extra?.length ?? 0)) * 4);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  const floats = new Float32Array(out.buffer, dataStart, 3 * c.size + (extra?.length ?? 0));
  floats.set(c.params, 0);
  floats.set(c.m, c.size);
  floats.set(c.v, 2 * c.size);
  if (extra) floats.set(extra, 3 * c.size);
  return out;
}

/** Parses bytes written by serializeCheckpoint; refuses anything truncated, foreign or of another version. */
export function deserializeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes.length < 12) throw new Error(`checkpoint: ${bytes.length} bytes is too short`);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== MAGIC) throw new Error('checkpoint: not a checkpoint file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw new Error('checkpoint: truncated header');
  const header: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  if (!isHeader(header)) throw new Error('checkpoint: malformed header');
  if (header.version !== CHECKPOINT_VERSION) throw new Error(`checkpoint: version ${header.version} is not supported (expected ${CHECKPOINT_VERSION})`);
  const dataStart = Math.ceil((12 + headerLength) / 4) * 4;
  const extra = header.methodFloats ?? 0;
  const need = dataStart + (3 * header.size + extra) * 4;
  if (bytes.length !== need) throw new Error(`checkpoint: ${bytes.length} bytes, expected ${need} (truncated or corrupt)`);
  // Copy into an aligned buffer: the input may sit at any byte offset.
  const floats = new Float32Array(bytes.slice(dataStart).buffer);
  const n = header.size;
  const method = header.method === undefined ? null : { json: header.method, floats: extra > 0 ? floats.slice(3 * n, 3 * n + extra) : null };
  return {
    version: header.version, train: header.train, lora: header.lora, state: header.state, reference: header.reference ?? null, method, size: n, meta: header.meta,
    params: floats.slice(0, n), m: floats.slice(n, 2 * n), v: floats.slice(2 * n, 3 * n),
  };
}

/**
 * `reference` is absent in checkpoints written before preference runs were checkpointed (SFT: null either way);
 * `method` and `methodFloats` in every checkpoint but a GRPO run's.
 */
interface Header {
  version: number; train: TrainConfig; lora: LoraConfig | null; state: TrainerState; reference?: ReferenceLogps | null;
  method?: unknown; methodFloats?: number; size: number; meta: Record<string, unknown>;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isHeader(h: unknown): h is Header {
  if (!isRecord(h) || !isRecord(h.train) || !isRecord(h.state) || !isRecord(h.meta)) return false;
  if (h.lora !== null && !isRecord(h.lora)) return false;
  const ref = h.reference;
  if (ref !== undefined && ref !== null && !(Array.isArray(ref) && ref.every((r) => isRecord(r) && typeof r.chosen === 'number' && typeof r.rejected === 'number'))) return false;
  if (h.methodFloats !== undefined && !(Number.isInteger(h.methodFloats) && (h.methodFloats as number) >= 0)) return false;
  const s = h.state;
  return typeof h.version === 'number' && Number.isInteger(h.size) && typeof h.size === 'number' && h.size >= 0
    && typeof s.step === 'number' && typeof s.epoch === 'number' && typeof s.cursor === 'number'
    && typeof s.rngState === 'number' && Array.isArray(s.order) && s.order.every((i) => Number.isInteger(i));
}
