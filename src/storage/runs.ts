// Training runs and their checkpoints, imported adapters and stored evaluations, in IndexedDB (via idb) under
// their OWN database name ('sft-studio-runs'), so this schema never meets the dataset studio's. Also an
// in-memory store with the same interface (tests, and browsers that refuse IndexedDB).
//
// Stores (schema version 3):
//   runs          RunRecord by id: config (a preference run's: config.preference), model, dataset version, metric
//                 curves (a preference run's points also carry rewards, margins and accuracy), status, final metrics
//   checkpoints   { runId, kind: 'last' | 'best', step, bytes } by [runId, kind] (bytes: src/train/checkpoint.ts)
//   data          { runId, records, pairs, init } by runId: the conversations the run trains and validates on (a
//                 preference run's pairs), and the adapter it started from, so a resume after a reload uses exactly the same data and start
//                 even if the dataset was edited or the adapter deleted since
//   adapters      AdapterRecord by id (v2): a PEFT adapter imported onto a model, without its weights
//   adapterFiles  { adapterId, files } by adapterId (v2): the adapter's PEFT files as imported
//   evaluations   EvaluationRecord by id (v2), indexed by `subjects` (the runs and adapters it evaluated)
//   conversations ConversationRecord by id (v3), indexed by `subjects` (the runs and adapters it compared)
// Deleting a run or an adapter deletes the evaluations and conversations that name it.
// The engine (src/engine, in the page's worker) is the only writer; pages read through the engine, never through idb.
// Of several tabs, only the engine of the tab holding the writer role writes (runs-writer.ts). A write the origin's
// quota refuses is a StorageError naming the space it needed and the space left (quota.ts); a checkpoint of known
// size is checked first.
import { openDB, type DBSchema, type IDBPDatabase, type IDBPObjectStore, type StoreNames } from 'idb';
import { storedBytes, writeWithRoom } from './quota';
import { READ_ONLY } from './repository';
import type { ChatMessage } from '../data/types';
import type { Conversation } from '../eval/conversation';
import type { EvalRow, PreferenceMark } from '../eval/export';
import type { EvalSummary } from '../eval/metrics';
import type { PeftAdapterFiles } from '../export/peft';
import type { GenerateBackend } from '../generate/decoder';
import type { SamplingOptions } from '../generate/sampler';
import type { LoraConfig } from '../model/lora';
import type { GrpoPoint } from '../train/grpo';
import type { PreferenceRewards } from '../train/preference';
import type { PreferencePair } from '../train/preference-pairs';
import type { RunConfig } from '../train/presets';

const RUNS_DB_NAME = 'sft-studio-runs';
const RUNS_DB_VERSION = 3;

export type RunStatus = 'running' | 'paused' | 'completed' | 'stopped-early' | 'cancelled' | 'failed' | 'interrupted';

/** One optimizer step as charted; a preference run's steps also carry their rewards, margins and accuracy. */
export interface MetricPoint extends Partial<PreferenceRewards>, Partial<GrpoPoint> {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Token positions per second over this step. */
  tokensPerSecond: number;
  /** Seconds since the run started (across resumes). */
  elapsed: number;
}

export interface EvalPoint { step: number; valLoss: number }

export interface RunRecord {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  status: RunStatus;
  error: string | null;
  model: { name: string; parameters: number; fingerprint: string };
  dataset: { id: string; name: string; version: number } | null;
  config: RunConfig;
  trainExamples: number;
  validationExamples: number;
  totalSteps: number;
  metrics: MetricPoint[];
  evals: EvalPoint[];
  checkpoints: { last: number | null; best: number | null };
  bestValLoss: number | null;
  final: { trainLoss: number; valLoss: number | null; steps: number; seconds: number } | null;
  /**
   * What the run started from: an imported adapter, or (a preference run) another run's last checkpoint. Absent on
   * runs stored before v2; null on runs from a fresh adapter.
   */
  init?: { adapterId: string; name: string } | { runId: string; name: string } | null;
}

export interface RunData {
  records: { messages: ChatMessage[]; split: 'train' | 'validation' }[];
  /** A preference run's pairs (config.preference set; `records` then empty). */
  pairs?: PreferencePair[];
  /** The PEFT adapter whose values the run starts from, copied at the start (absent: a fresh adapter). */
  init?: PeftAdapterFiles | null;
}

export type CheckpointKind = 'last' | 'best';

/** A PEFT LoRA adapter imported onto a model: its config (rank, alpha, targets are fixed by the file). */
export interface AdapterRecord {
  id: string;
  name: string;
  createdAt: number;
  /** What was dropped (a zip's or a folder's name). */
  source: string;
  /** The model it was checked against on import; it answers only on these weights. */
  model: { name: string; parameters: number; fingerprint: string };
  /** base_model_name_or_path from adapter_config.json (informational: the shapes are what is checked). */
  baseModel: string | null;
  lora: LoraConfig;
  /** Trainable values in the adapter. */
  parameters: number;
  /** The settings of the run that made it, when its training_log.json came with it (`studio train`'s): for its card and kit. */
  trainedWith?: RunConfig;
}

/** Which weights answer: the base model alone, a run's adapter (its last or best checkpoint), or an imported adapter. */
export type AdapterRef = { kind: 'base' } | { kind: 'run'; runId: string; checkpoint: CheckpointKind } | { kind: 'imported'; adapterId: string };

/** A finished (or stopped) batch evaluation from the Compare screen, with everything needed to show it again. */
export interface EvaluationRecord {
  id: string;
  createdAt: number;
  model: { name: string; fingerprint: string };
  dataset: { id: string; name: string; version: number } | null;
  /** `backend`: records stored before the WebGPU decoder was called 'webgpu' say 'engine' (read with generateBackend). */
  sampling: SamplingOptions & { maxNewTokens: number; stopStrings: string[]; chatTemplate: boolean; backend?: GenerateBackend };
  columns: { id: string; label: string; adapter: AdapterRef }[];
  /** Ids of the runs and imported adapters among the columns (the base model has none). */
  subjects: string[];
  /** Examples asked for; rows.length < total when it was stopped. */
  total: number;
  rows: EvalRow[];
  summaries: Record<string, EvalSummary>;
  /** Preference marks on the batch rows, by row key. */
  marks: Record<string, PreferenceMark>;
  error: string | null;
}

/**
 * A conversation from the Compare screen (src/eval/conversation.ts), with the runs and adapters it compared and the
 * sampling settings it was answered with; stored after each turn and each mark.
 */
export interface ConversationRecord extends Conversation {
  id: string;
  createdAt: number;
  updatedAt: number;
  /** The first user turn, for lists. */
  title: string;
  model: { name: string; fingerprint: string };
  sampling: EvaluationRecord['sampling'];
  columns: { id: string; label: string; adapter: AdapterRef }[];
  /** Ids of the runs and imported adapters among the columns (the base model has none). */
  subjects: string[];
}

/** The run or adapter id a column stands for, or null for the base model. */
export function subjectOf(a: AdapterRef): string | null {
  return a.kind === 'run' ? a.runId : a.kind === 'imported' ? a.adapterId : null;
}

export interface RunStore {
  list(): Promise<RunRecord[]>;
  get(id: string): Promise<RunRecord | null>;
  put(run: RunRecord): Promise<void>;
  remove(id: string): Promise<void>;
  putCheckpoint(runId: string, kind: CheckpointKind, step: number, bytes: Uint8Array): Promise<void>;
  getCheckpoint(runId: string, kind: CheckpointKind): Promise<{ step: number; bytes: Uint8Array } | null>;
  putData(runId: string, data: RunData): Promise<void>;
  getData(runId: string): Promise<RunData | null>;
  listAdapters(): Promise<AdapterRecord[]>;
  getAdapter(id: string): Promise<AdapterRecord | null>;
  /** Stores the record and, when given, its files, in one transaction (an import is whole or absent). */
  putAdapter(record: AdapterRecord, files?: PeftAdapterFiles): Promise<void>;
  getAdapterFiles(id: string): Promise<PeftAdapterFiles | null>;
  removeAdapter(id: string): Promise<void>;
  putEvaluation(e: EvaluationRecord): Promise<void>;
  /** Newest first; with `subject`, only those that evaluated that run or adapter. */
  listEvaluations(subject?: string): Promise<EvaluationRecord[]>;
  putConversation(c: ConversationRecord): Promise<void>;
  /** Newest first (by the last change); with `subject`, only those that compared that run or adapter. */
  listConversations(subject?: string): Promise<ConversationRecord[]>;
  removeConversation(id: string): Promise<void>;
}

interface RunsDB extends DBSchema {
  runs: { key: string; value: RunRecord };
  checkpoints: { key: [string, CheckpointKind]; value: { runId: string; kind: CheckpointKind; step: number; bytes: Uint8Array } };
  data: { key: string; value: RunData & { runId: string } };
  adapters: { key: string; value: AdapterRecord };
  adapterFiles: { key: string; value: { adapterId: string; files: PeftAdapterFiles } };
  evaluations: { key: string; value: EvaluationRecord; indexes: { subjects: string } };
  conversations: { key: string; value: ConversationRecord; indexes: { subjects: string } };
}

const byNewest = (a: { createdAt: number }, b: { createdAt: number }) => b.createdAt - a.createdAt;
const byLastChange = (a: { updatedAt: number }, b: { updatedAt: number }) => b.updatedAt - a.updatedAt;

/**
 * Marks runs left 'running' or 'paused' (by a page closed or crashed, or an engine that handed the writer role over)
 * as interrupted: resumable from their last checkpoint. `active`: a run this engine is training, left alone. In a
 * read-only tab nothing is marked: the tab that writes does it (runs-writer.ts, when it takes the role).
 */
export async function interruptStaleRuns(store: RunStore, active: string | null, now: number): Promise<void> {
  for (const r of await store.list()) {
    if ((r.status !== 'running' && r.status !== 'paused') || r.id === active) continue;
    try {
      await store.put({ ...r, status: 'interrupted', updatedAt: now });
    } catch (e) {
      if (e instanceof Error && e.name === READ_ONLY) return;
      throw e;
    }
  }
}

/** Deletes, inside the caller's transaction, every evaluation or conversation that names `subject`. */
async function dropRecordsOf<S extends StoreNames<RunsDB>[], N extends 'evaluations' | 'conversations'>(store: IDBPObjectStore<RunsDB, S, N, 'readwrite'>, subject: string): Promise<void> {
  for (const key of await store.index('subjects').getAllKeys(IDBKeyRange.only(subject))) await store.delete(key);
}

export async function openRunStore(dbName = RUNS_DB_NAME): Promise<RunStore> {
  if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
  const db: IDBPDatabase<RunsDB> = await openDB<RunsDB>(dbName, RUNS_DB_VERSION, {
    upgrade(d, oldVersion) {
      // Migrations by version, each adding stores; existing runs, checkpoints and data are untouched.
      if (oldVersion < 1) {
        d.createObjectStore('runs', { keyPath: 'id' });
        d.createObjectStore('checkpoints', { keyPath: ['runId', 'kind'] });
        d.createObjectStore('data', { keyPath: 'runId' });
      }
      if (oldVersion < 2) {
        d.createObjectStore('adapters', { keyPath: 'id' });
        d.createObjectStore('adapterFiles', { keyPath: 'adapterId' });
        d.createObjectStore('evaluations', { keyPath: 'id' }).createIndex('subjects', 'subjects', { multiEntry: true });
      }
      if (oldVersion < 3) d.createObjectStore('conversations', { keyPath: 'id' }).createIndex('subjects', 'subjects', { multiEntry: true });
    },
  });
  return {
    list: async () => (await db.getAll('runs')).sort(byNewest),
    get: async (id) => (await db.get('runs', id)) ?? null,
    put: (run) => writeWithRoom(`saving run "${run.name}"`, () => storedBytes(run), async () => { await db.put('runs', run); }),
    remove: async (id) => {
      const tx = db.transaction(['runs', 'checkpoints', 'data', 'evaluations', 'conversations'], 'readwrite');
      await tx.objectStore('runs').delete(id);
      await tx.objectStore('checkpoints').delete(IDBKeyRange.bound([id, ''], [id, '\uffff']));
      await tx.objectStore('data').delete(id);
      await dropRecordsOf(tx.objectStore('evaluations'), id);
      await dropRecordsOf(tx.objectStore('conversations'), id);
      await tx.done;
    },
    // One put: a refused checkpoint leaves the previous one of its kind in place.
    putCheckpoint: (runId, kind, step, bytes) => writeWithRoom(`saving the ${kind} checkpoint at step ${step}`, bytes.byteLength, async () => {
      await db.put('checkpoints', { runId, kind, step, bytes });
    }),
    getCheckpoint: async (runId, kind) => {
      const row = await db.get('checkpoints', [runId, kind]);
      return row ? { step: row.step, bytes: row.bytes } : null;
    },
    putData: (runId, data) => writeWithRoom('saving the run\'s data', () => storedBytes(data), async () => {
      await db.put('data', { runId, records: data.records, pairs: data.pairs, init: data.init ?? null });
    }),
    getData: async (runId) => {
      const row = await db.get('data', runId);
      return row ? { records: row.records, pairs: row.pairs, init: row.init ?? null } : null;
    },
    listAdapters: async () => (await db.getAll('adapters')).sort(byNewest),
    getAdapter: async (id) => (await db.get('adapters', id)) ?? null,
    putAdapter: (record, files) => writeWithRoom(`saving adapter "${record.name}"`, () => storedBytes(files ?? record), async () => {
      const tx = db.transaction(['adapters', 'adapterFiles'], 'readwrite');
      try {
        await tx.objectStore('adapters').put(record);
        if (files) await tx.objectStore('adapterFiles').put({ adapterId: record.id, files });
        await tx.done;
      } catch (e) {
        throw tx.error ?? e;   // a request of an aborted transaction fails with AbortError; the transaction says why
      }
    }),
    getAdapterFiles: async (id) => (await db.get('adapterFiles', id))?.files ?? null,
    removeAdapter: async (id) => {
      const tx = db.transaction(['adapters', 'adapterFiles', 'evaluations', 'conversations'], 'readwrite');
      await tx.objectStore('adapters').delete(id);
      await tx.objectStore('adapterFiles').delete(id);
      await dropRecordsOf(tx.objectStore('evaluations'), id);
      await dropRecordsOf(tx.objectStore('conversations'), id);
      await tx.done;
    },
    putEvaluation: (e) => writeWithRoom('saving an evaluation', () => storedBytes(e), async () => { await db.put('evaluations', e); }),
    listEvaluations: async (subject) => (subject === undefined ? await db.getAll('evaluations') : await db.getAllFromIndex('evaluations', 'subjects', subject)).sort(byNewest),
    putConversation: (c) => writeWithRoom('saving a conversation', () => storedBytes(c), async () => { await db.put('conversations', c); }),
    listConversations: async (subject) => (subject === undefined ? await db.getAll('conversations') : await db.getAllFromIndex('conversations', 'subjects', subject)).sort(byLastChange),
    removeConversation: async (id) => { await db.delete('conversations', id); },
  };
}

/** Same contract, nothing survives the page (structuredClone keeps callers from sharing mutable state). */
export function createMemoryRunStore(): RunStore {
  const runs = new Map<string, RunRecord>();
  const checkpoints = new Map<string, { step: number; bytes: Uint8Array }>();
  const data = new Map<string, RunData>();
  const adapters = new Map<string, AdapterRecord>();
  const adapterFiles = new Map<string, PeftAdapterFiles>();
  const evaluations = new Map<string, EvaluationRecord>();
  const conversations = new Map<string, ConversationRecord>();
  const dropNaming = (subject: string) => {
    for (const records of [evaluations, conversations]) for (const [k, e] of records) if (e.subjects.includes(subject)) records.delete(k);
  };
  return {
    list: async () => [...runs.values()].map((r) => structuredClone(r)).sort(byNewest),
    get: async (id) => { const r = runs.get(id); return r ? structuredClone(r) : null; },
    put: async (run) => { runs.set(run.id, structuredClone(run)); },
    remove: async (id) => {
      runs.delete(id); data.delete(id);
      for (const k of ['last', 'best']) checkpoints.delete(`${id}/${k}`);
      dropNaming(id);
    },
    putCheckpoint: async (runId, kind, step, bytes) => { checkpoints.set(`${runId}/${kind}`, { step, bytes: bytes.slice() }); },
    getCheckpoint: async (runId, kind) => checkpoints.get(`${runId}/${kind}`) ?? null,
    putData: async (runId, d) => { data.set(runId, structuredClone(d)); },
    getData: async (runId) => data.get(runId) ?? null,
    listAdapters: async () => [...adapters.values()].map((a) => structuredClone(a)).sort(byNewest),
    getAdapter: async (id) => { const a = adapters.get(id); return a ? structuredClone(a) : null; },
    putAdapter: async (record, files) => {
      adapters.set(record.id, structuredClone(record));
      if (files) adapterFiles.set(record.id, structuredClone(files));
    },
    getAdapterFiles: async (id) => { const f = adapterFiles.get(id); return f ? structuredClone(f) : null; },
    removeAdapter: async (id) => { adapters.delete(id); adapterFiles.delete(id); dropNaming(id); },
    putEvaluation: async (e) => { evaluations.set(e.id, structuredClone(e)); },
    listEvaluations: async (subject) => [...evaluations.values()].filter((e) => subject === undefined || e.subjects.includes(subject)).map((e) => structuredClone(e)).sort(byNewest),
    putConversation: async (c) => { conversations.set(c.id, structuredClone(c)); },
    listConversations: async (subject) => [...conversations.values()].filter((c) => subject === undefined || c.subjects.includes(subject)).map((c) => structuredClone(c)).sort(byLastChange),
    removeConversation: async (id) => { conversations.delete(id); },
  };
}
