// A training session's run kept in a folder (Node only): the CLI's RunSink. While `train` runs, its output's
// staging folder (src/io/output.ts) holds run.json (the RunRecord: config, curves, checkpoint steps) and the
// checkpoints (src/train/checkpoint.ts bytes), each file written whole; an interrupted run's folder is what
// `train --resume DIR` reads back. The committed output holds the adapter, not these files.
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RESUME_FILE, writeStaged, type OutputClaim } from '../io/output';
import type { CheckpointKind, RunRecord } from '../storage/runs';
import type { RunSink } from './session';

const RUN_JSON = 'run.json';
const CHECKPOINT: Record<CheckpointKind, string> = { last: RESUME_FILE, best: 'checkpoint-best.ckpt' };
const RUN_FILES = [RUN_JSON, ...Object.values(CHECKPOINT)];

export function folderRunSink(claim: OutputClaim): RunSink {
  let written = '';
  return {
    async put(run) {
      // Rewritten when the status or a checkpoint changes, not every step: the whole curve each step would cost
      // O(steps²) bytes, and a resume starts from the last checkpoint anyway.
      const key = JSON.stringify([run.status, run.checkpoints]);
      if (key === written) return;
      writeStaged(claim, RUN_JSON, JSON.stringify(run));
      written = key;
    },
    async putCheckpoint(_runId, kind, _step, bytes) {
      writeStaged(claim, CHECKPOINT[kind], bytes);
    },
  };
}

/** The run and its last checkpoint from a folder a run left (an interrupted run's `<out>.studio-partial`). */
export function readRunFolder(dir: string): { run: RunRecord; last: Uint8Array } {
  const runFile = join(dir, RUN_JSON), last = join(dir, CHECKPOINT.last);
  if (!existsSync(runFile) || !existsSync(last)) throw new Error(`--resume ${dir}: not a run folder with a checkpoint (no ${RUN_JSON} or ${CHECKPOINT.last})`);
  const run: unknown = JSON.parse(readFileSync(runFile, 'utf8'));
  if (!isRun(run)) throw new Error(`--resume ${dir}: ${RUN_JSON} is not a run record`);
  return { run, last: new Uint8Array(readFileSync(last)) };
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
