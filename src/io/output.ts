// Where `train` and `export` write on disk (Node only), so that an output never destroys an input.
//
// Contract:
//  - claimOutputFolder(out, inputs) is called before any work: it refuses a path on a virtual file system
//    (/proc, /sys, /dev), the model folder, the data file, an input's parent folder, an existing file, and an
//    existing folder that holds anything but what the studio wrote there before (marked by its manifest,
//    MANIFEST below). An empty existing folder is taken. It then makes the staging folder next to `out`, so
//    an unwritable place fails now and not after an hour of training.
//  - commit() writes the files and the manifest into the staging folder, syncs them, and swaps it in with
//    two renames; abandon() removes the staging folder (a failed or interrupted run). All of it is
//    synchronous, so a signal handler never runs between the two renames.
//  - The previous output survives any failure and kill -9: until the first rename it is untouched; between
//    the renames it lives at `<out>.studio-old-<pid>`, and the next claim beside it renames it back.
//  - What a killed run leaves beside its output is cleaned by the next claim of any output in the same folder
//    (not only of the same `out`), once the run's process is gone, and named in the claim's `recovered` lines:
//    a staging folder is removed (or kept as the partial run when it holds a checkpoint), an old output put
//    back or removed. Only folders the studio wrote are touched: a staging folder carries STAGING_MARK from
//    its creation until commit writes the manifest (an empty one is taken too: the run died before marking
//    it), an old output its manifest; anything else with such a name is named and left as it is.
//  - A run that checkpoints (cli train --checkpoint-every) writes its checkpoint into the staging folder
//    (writeStaged: whole files or none). A run that will not commit but holds a checkpoint (RESUME_FILE) keeps
//    its staging folder as `<out>.studio-partial` (keepPartial; the next claim does the same for a killed
//    run's), replacing an older partial and nothing else; `train --resume` continues from it.
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';

export const MANIFEST = '.studio-output.json';
const VIRTUAL = ['/proc', '/sys', '/dev'];

interface OutputInput {
  path: string;
  /** What it is, for the message: 'the model folder', 'the data file'. */
  what: string;
}

export interface OutputClaim {
  /** The folder that will hold the output (absolute). */
  dir: string;
  /** The staging folder the output is written into before the swap. */
  staging: string;
  /** What the claim found and did beside the output (what killed runs left), one sentence each, for the user. */
  recovered: string[];
}

/** Marks a staging folder as the studio's, from its creation until commit writes the manifest. */
export const STAGING_MARK = '.studio-staging.json';

/** The real path of `p`, following symbolic links as far as the path exists. */
function realPath(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : join(realPath(parent), basename(abs));
}

const within = (child: string, parent: string): boolean => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

/** A folder a run leaves beside its output while it writes: `<out>.studio-new-<pid>` (staging) or `…-old-<pid>`. */
interface Leftover { path: string; name: string; out: string; tag: 'new' | 'old'; pid: number }

const LEFTOVER = /^(.+)\.studio-(new|old)-(\d+)$/;

/** The leftovers of runs whose process is gone, in `parent`. */
function deadLeftovers(parent: string): Leftover[] {
  if (!existsSync(parent)) return [];
  return readdirSync(parent, { withFileTypes: true }).flatMap((e) => {
    const m = LEFTOVER.exec(e.name);
    if (!m || !e.isDirectory() || alive(Number(m[3]))) return [];
    return [{ path: join(parent, e.name), name: e.name, out: join(parent, m[1]), tag: m[2] as 'new' | 'old', pid: Number(m[3]) }];
  });
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function isStudioOutput(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as { writtenBy?: unknown }).writtenBy === 'webgpu-sft-studio';
  } catch {
    return false;
  }
}

/** The file whose presence makes a staging folder worth keeping: a checkpoint the run can resume from. */
export const RESUME_FILE = 'checkpoint-last.ckpt';

/** Where an interrupted run of `dir` that holds a checkpoint is kept. */
export const partialOf = (dir: string): string => `${dir}.studio-partial`;

function movePartial(staging: string, dir: string): string {
  const partial = partialOf(dir);
  rmSync(partial, { recursive: true, force: true });
  renameSync(staging, partial);
  return partial;
}

/** A staging folder the studio made: marked, or committed as far as its manifest, or still empty. */
function isStaging(path: string): boolean {
  return existsSync(join(path, STAGING_MARK)) || isStudioOutput(path) || readdirSync(path).length === 0;
}

/**
 * Finishes or undoes what killed runs left in `parent` (beside any output there): a previous output back in place,
 * dead staging folders gone or kept as the partial run. Returns what it did and what it left, for the user.
 */
function recoverBeside(parent: string): string[] {
  const said: string[] = [];
  for (const s of deadLeftovers(parent)) {
    if (!(s.tag === 'old' ? isStudioOutput(s.path) : isStaging(s.path))) {
      said.push(`left ${s.name} as it is: named like a studio folder, but the studio did not write it`);
    } else if (s.tag === 'old' && !existsSync(s.out)) {
      renameSync(s.path, s.out);
      said.push(`${basename(s.out)} put back from ${s.name}: a run (process ${s.pid}) was killed while replacing it`);
    } else if (s.tag === 'old') {
      rmSync(s.path, { recursive: true, force: true });
      said.push(`removed ${s.name}, the previous ${basename(s.out)} of a run (process ${s.pid}) killed as it replaced it`);
    } else if (existsSync(join(s.path, RESUME_FILE))) {
      const partial = movePartial(s.path, s.out);
      said.push(`${s.name}, the staging folder of a killed run (process ${s.pid}), holds a checkpoint: kept as ${basename(partial)}; continue it with --resume ${partial}`);
    } else {
      rmSync(s.path, { recursive: true, force: true });
      said.push(`removed ${s.name}, the staging folder of a killed run (process ${s.pid}); ${basename(s.out)} is as it was`);
    }
  }
  return said;
}

export function claimOutputFolder(out: string, inputs: readonly OutputInput[]): OutputClaim {
  if (!out.trim()) throw new Error('--out is empty');
  const dir = realPath(out);
  if (VIRTUAL.some((v) => within(dir, v))) throw new Error(`--out ${out}: ${dir} is on a virtual file system; choose a folder on disk`);
  for (const input of inputs) {
    if (!existsSync(input.path)) continue;
    const real = realpathSync(input.path);
    if (real === dir) throw new Error(`--out ${out} is ${input.what}; choose a new folder`);
    if (within(real, dir)) throw new Error(`--out ${out} contains ${input.what} (${input.path}); choose a new folder`);
  }
  const recovered = recoverBeside(dirname(dir));
  if (existsSync(dir)) {
    const st = lstatSync(dir);
    if (!st.isDirectory()) throw new Error(`--out ${out} exists and is not a folder; choose a new folder`);
    if (readdirSync(dir).length > 0 && !isStudioOutput(dir)) {
      throw new Error(`--out ${out} is a folder the studio did not write (no ${MANIFEST}); choose a new or empty folder`);
    }
  }
  const staging = `${dir}.studio-new-${process.pid}`;
  try {
    mkdirSync(staging, { recursive: true });
    writeSynced(join(staging, STAGING_MARK), JSON.stringify({ writtenBy: 'webgpu-sft-studio', out: dir, pid: process.pid }));
  } catch (e) {
    throw new Error(`--out ${out}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { dir, staging, recovered };
}

function writeSynced(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });   // exports nest files (onnx/model.onnx)
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `files` (name → bytes or text) and the manifest, then puts them in place of the previous output. */
export function commit(claim: OutputClaim, kind: string, files: Record<string, Uint8Array | string>): void {
  for (const [name, data] of Object.entries(files)) writeSynced(join(claim.staging, name), data);
  writeSynced(join(claim.staging, MANIFEST), JSON.stringify({ writtenBy: 'webgpu-sft-studio', kind, files: Object.keys(files), at: new Date().toISOString() }, null, 2));
  rmSync(join(claim.staging, STAGING_MARK), { force: true }); // the manifest says whose it is from here on
  const old = `${claim.dir}.studio-old-${process.pid}`;
  const hadPrevious = existsSync(claim.dir);
  if (hadPrevious) renameSync(claim.dir, old);
  renameSync(claim.staging, claim.dir);
  if (hadPrevious) rmSync(old, { recursive: true, force: true });
}

/** Writes one file into the staging folder whole: a kill leaves the previous version or the new one, never half. */
export function writeStaged(claim: OutputClaim, name: string, data: Uint8Array | string): void {
  const path = join(claim.staging, name), partial = `${path}.part`;
  writeSynced(partial, data);
  renameSync(partial, path);
}

/**
 * For a run that will not commit: keeps the staging folder as `<out>.studio-partial` when it holds a checkpoint
 * (returns that path), else removes it (returns null).
 */
export function keepPartial(claim: OutputClaim): string | null {
  if (existsSync(join(claim.staging, RESUME_FILE))) return movePartial(claim.staging, claim.dir);
  abandon(claim);
  return null;
}

/** Removes the staging folder of a run that will not commit. */
export function abandon(claim: OutputClaim): void {
  rmSync(claim.staging, { recursive: true, force: true });
}
