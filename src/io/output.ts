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
//    the renames it lives at `<out>.studio-old-<pid>`, and the next claim of `out` renames it back. Staging
//    folders left by a killed run are removed by the next claim once their process is gone.
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
}

/** The real path of `p`, following symbolic links as far as the path exists. */
function realPath(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : join(realPath(parent), basename(abs));
}

const within = (child: string, parent: string): boolean => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

function siblings(dir: string, tag: 'new' | 'old'): { path: string; pid: number }[] {
  const parent = dirname(dir), prefix = `${basename(dir)}.studio-${tag}-`;
  if (!existsSync(parent)) return [];
  return readdirSync(parent).filter((n) => n.startsWith(prefix)).map((n) => ({ path: join(parent, n), pid: Number(n.slice(prefix.length)) }));
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

/** Finish or undo what a killed run left: the previous output back in place, dead staging folders gone (or kept as the partial run). */
function recover(dir: string): void {
  const old = siblings(dir, 'old').filter((s) => !alive(s.pid) && isStudioOutput(s.path));
  if (!existsSync(dir) && old.length > 0) renameSync(old[0].path, dir);
  for (const s of siblings(dir, 'old')) if (!alive(s.pid) && isStudioOutput(s.path)) rmSync(s.path, { recursive: true, force: true });
  for (const s of siblings(dir, 'new')) {
    if (alive(s.pid)) continue;
    if (existsSync(join(s.path, RESUME_FILE))) movePartial(s.path, dir);
    else rmSync(s.path, { recursive: true, force: true });
  }
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
  recover(dir);
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
  } catch (e) {
    throw new Error(`--out ${out}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { dir, staging };
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
