// A run kept in a folder (Node only): the command line's run store. While `train` runs, its output's staging folder
// (src/io/output.ts) holds run.json (the RunRecord: config, curves, checkpoint steps, the data's identity), data.json
// (the config of the adapter it started from; start-adapter.safetensors, that adapter's weights) and the checkpoints
// (src/train/checkpoint.ts bytes), each file written whole; an interrupted run's folder is what `train --resume DIR`
// reads back. The conversations or pairs are not copied there: they are the --data file's, which `--resume` reads
// again and checks against the run's dataset id, then puts here before the engine resumes (getData gives the rows put
// in this process). The committed output holds the adapter, not these files.
// Imported adapters and evaluations are the command's own, kept in memory for its life (it imports its --adapter
// each time it runs).
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RESUME_FILE, writeStaged, type OutputClaim } from '../io/output';
import { createMemoryRunStore, type CheckpointKind, type RunData, type RunRecord, type RunStore } from '../storage/runs';

const RUN_JSON = 'run.json';
const DATA_JSON = 'data.json';
const START_WEIGHTS = 'start-adapter.safetensors';
const CHECKPOINT: Record<CheckpointKind, string> = { last: RESUME_FILE, best: 'checkpoint-best.ckpt' };
const RUN_FILES = [RUN_JSON, DATA_JSON, START_WEIGHTS, ...Object.values(CHECKPOINT)];

/** The run store of one run, in the claim's staging folder. */
export function folderRunStore(claim: OutputClaim): RunStore {
  const memory = createMemoryRunStore();
  const file = (name: string) => join(claim.staging, name);
  let current: RunRecord | null = existsSync(file(RUN_JSON)) ? readRun(claim.staging) : null;
  let written = '';
  let rows: Pick<RunData, 'records' | 'pairs'> = { records: [] };
  const mine = (id: string) => current !== null && current.id === id;
  return {
    ...memory,
    list: async () => (current ? [structuredClone(current)] : []),
    get: async (id) => (mine(id) ? structuredClone(current) : null),
    async put(run) {
      current = structuredClone(run);
      // Rewritten when the status or a checkpoint changes, not every step: the whole curve each step would cost
      // O(steps²) bytes, and a resume starts from the last checkpoint anyway.
      const key = JSON.stringify([run.status, run.checkpoints]);
      if (key === written) return;
      writeStaged(claim, RUN_JSON, JSON.stringify(run));
      written = key;
    },
    async remove(id) {
      if (!mine(id)) return;
      for (const f of RUN_FILES) rmSync(file(f), { force: true });
      current = null;
    },
    async putCheckpoint(_runId, kind, _step, bytes) {
      writeStaged(claim, CHECKPOINT[kind], bytes);
    },
    async getCheckpoint(runId, kind) {
      if (!mine(runId) || !existsSync(file(CHECKPOINT[kind]))) return null;
      return { step: current!.checkpoints[kind] ?? 0, bytes: new Uint8Array(readFileSync(file(CHECKPOINT[kind]))) };
    },
    async putData(_runId, data) {
      rows = { records: data.records, pairs: data.pairs };
      if (data.init) writeStaged(claim, START_WEIGHTS, data.init['adapter_model.safetensors']);
      writeStaged(claim, DATA_JSON, JSON.stringify({ startConfig: data.init?.['adapter_config.json'] ?? null }));
    },
    async getData(runId) {
      if (!mine(runId) || !existsSync(file(DATA_JSON))) return null;
      const d = JSON.parse(readFileSync(file(DATA_JSON), 'utf8')) as { startConfig: string | null };
      const init = d.startConfig === null ? null : { 'adapter_config.json': d.startConfig, 'adapter_model.safetensors': new Uint8Array(readFileSync(file(START_WEIGHTS))) };
      return { ...rows, init };
    },
  };
}

function readRun(dir: string): RunRecord {
  const run: unknown = JSON.parse(readFileSync(join(dir, RUN_JSON), 'utf8'));
  if (!isRun(run)) throw new Error(`--resume ${dir}: ${RUN_JSON} is not a run record`);
  return run;
}

/** The run a folder holds (an interrupted run's `<out>.studio-partial`), refused unless it has a checkpoint to resume from. */
export function readRunFolder(dir: string): RunRecord {
  if (!existsSync(join(dir, RUN_JSON)) || !existsSync(join(dir, CHECKPOINT.last))) throw new Error(`--resume ${dir}: not a run folder with a checkpoint (no ${RUN_JSON} or ${CHECKPOINT.last})`);
  return readRun(dir);
}

/** Enough of a RunRecord to resume: what the session and the CLI read from it. */
function isRun(x: unknown): x is RunRecord {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Partial<Record<keyof RunRecord, unknown>>;
  return typeof r.id === 'string' && typeof r.config === 'object' && r.config !== null && typeof r.model === 'object' && r.model !== null
    && Array.isArray(r.metrics) && Array.isArray(r.evals) && typeof r.checkpoints === 'object' && r.checkpoints !== null;
}

/** Copies a run folder's files into this run's staging folder, so a second stop keeps them too. */
export function copyRunFiles(from: string, claim: OutputClaim): void {
  for (const f of RUN_FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(claim.staging, f));
}

/** Removes the run's files from the staging folder before it is committed: the output is the adapter. */
export function dropRunFiles(claim: OutputClaim): void {
  for (const f of RUN_FILES) rmSync(join(claim.staging, f), { force: true });
}
