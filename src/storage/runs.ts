// Training runs and their checkpoints, in IndexedDB (via idb) under their OWN database name
// ('sft-studio-runs'), so this schema never meets the dataset studio's. Also an in-memory store with the same
// interface (tests, and browsers that refuse IndexedDB).
//
// Stores (schema version 1):
//   runs         RunRecord by id: config, model, dataset version, metric curves, status, final metrics
//   checkpoints  { runId, kind: 'last' | 'best', step, bytes } by [runId, kind] (bytes: src/train/checkpoint.ts)
//   data         { runId, records } by runId: the conversations the run trains and validates on, so a resume
//                after a reload uses exactly the same data even if the dataset was edited since
// The engine worker is the only writer; pages read through the engine, never through idb.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { ChatMessage } from '../data/types';
import type { RunConfig } from '../train/presets';

export const RUNS_DB_NAME = 'sft-studio-runs';
const RUNS_DB_VERSION = 1;

export type RunStatus = 'running' | 'paused' | 'completed' | 'stopped-early' | 'cancelled' | 'failed' | 'interrupted';

export interface MetricPoint {
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
}

export interface RunData { records: { messages: ChatMessage[]; split: 'train' | 'validation' }[] }

export type CheckpointKind = 'last' | 'best';

export interface RunStore {
  list(): Promise<RunRecord[]>;
  get(id: string): Promise<RunRecord | null>;
  put(run: RunRecord): Promise<void>;
  remove(id: string): Promise<void>;
  putCheckpoint(runId: string, kind: CheckpointKind, step: number, bytes: Uint8Array): Promise<void>;
  getCheckpoint(runId: string, kind: CheckpointKind): Promise<{ step: number; bytes: Uint8Array } | null>;
  putData(runId: string, data: RunData): Promise<void>;
  getData(runId: string): Promise<RunData | null>;
}

interface RunsDB extends DBSchema {
  runs: { key: string; value: RunRecord };
  checkpoints: { key: [string, CheckpointKind]; value: { runId: string; kind: CheckpointKind; step: number; bytes: Uint8Array } };
  data: { key: string; value: RunData & { runId: string } };
}

const byNewest = (a: RunRecord, b: RunRecord) => b.createdAt - a.createdAt;

export async function openRunStore(dbName = RUNS_DB_NAME): Promise<RunStore> {
  if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
  const db: IDBPDatabase<RunsDB> = await openDB<RunsDB>(dbName, RUNS_DB_VERSION, {
    upgrade(d, oldVersion) {
      // Migrations by version; v0 → v1 creates everything.
      if (oldVersion < 1) {
        d.createObjectStore('runs', { keyPath: 'id' });
        d.createObjectStore('checkpoints', { keyPath: ['runId', 'kind'] });
        d.createObjectStore('data', { keyPath: 'runId' });
      }
    },
  });
  return {
    list: async () => (await db.getAll('runs')).sort(byNewest),
    get: async (id) => (await db.get('runs', id)) ?? null,
    put: async (run) => { await db.put('runs', run); },
    remove: async (id) => {
      const tx = db.transaction(['runs', 'checkpoints', 'data'], 'readwrite');
      await tx.objectStore('runs').delete(id);
      await tx.objectStore('checkpoints').delete(IDBKeyRange.bound([id, ''], [id, '\uffff']));
      await tx.objectStore('data').delete(id);
      await tx.done;
    },
    putCheckpoint: async (runId, kind, step, bytes) => { await db.put('checkpoints', { runId, kind, step, bytes }); },
    getCheckpoint: async (runId, kind) => {
      const row = await db.get('checkpoints', [runId, kind]);
      return row ? { step: row.step, bytes: row.bytes } : null;
    },
    putData: async (runId, data) => { await db.put('data', { runId, records: data.records }); },
    getData: async (runId) => {
      const row = await db.get('data', runId);
      return row ? { records: row.records } : null;
    },
  };
}

/** Same contract, nothing survives the page (structuredClone keeps callers from sharing mutable state). */
export function createMemoryRunStore(): RunStore {
  const runs = new Map<string, RunRecord>();
  const checkpoints = new Map<string, { step: number; bytes: Uint8Array }>();
  const data = new Map<string, RunData>();
  return {
    list: async () => [...runs.values()].map((r) => structuredClone(r)).sort(byNewest),
    get: async (id) => { const r = runs.get(id); return r ? structuredClone(r) : null; },
    put: async (run) => { runs.set(run.id, structuredClone(run)); },
    remove: async (id) => {
      runs.delete(id); data.delete(id);
      for (const k of ['last', 'best']) checkpoints.delete(`${id}/${k}`);
    },
    putCheckpoint: async (runId, kind, step, bytes) => { checkpoints.set(`${runId}/${kind}`, { step, bytes: bytes.slice() }); },
    getCheckpoint: async (runId, kind) => checkpoints.get(`${runId}/${kind}`) ?? null,
    putData: async (runId, d) => { data.set(runId, structuredClone(d)); },
    getData: async (runId) => data.get(runId) ?? null,
  };
}
