// `ModelFiles` over a directory on disk, for Node (the command line and tests). Kept apart from
// model-files.ts so the browser bundle never imports node:fs.
//
// Contract:
//  - The folder must hold config.json at its top (a cache folder: its snapshot) before anything is walked: `/` or a
//    home folder given by mistake is refused as not a model folder, not walked file by file.
//  - Symbolic links are followed (files and folders; a folder reached twice is walked once, so link loops end);
//    dangling links are left out of the listing, so a half-downloaded shard reads as a missing file.
//  - A Hugging Face cache folder is accepted as it is: the repository folder `models--org--name` (its
//    snapshot is the one refs/main names, else the only one) or one of its `snapshots/<hash>` folders, whose
//    files are links into ../../blobs/. The folder is then named `org/name`.
//  - `open` reads byte ranges through a file handle (no 2 GiB limit, nothing read but what is asked for);
//    `read` reads a whole file (configs, tokenizers).
//  - `directoryCache` is download.ts's ByteCache on disk (the command line's Hub downloads): one file per key,
//    named by the key's SHA-256, written whole to a temporary name and renamed, so a stop never leaves half a file.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { ByteCache } from './download';
import { missingFile, type ByteSource, type ModelFiles } from './model-files';

/** The largest single read (Node refuses reads of 2 GiB and more into one call). */
const MAX_READ_BYTES = 1 << 30;

export function filesFromDirectory(dir: string, name?: string): ModelFiles {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${dir}: not a directory`);
  const cache = hfCacheFolder(dir);
  const root = cache?.snapshot ?? dir;
  const folder = name ?? cache?.repo ?? basename(dir);
  if (!statSync(join(root, 'config.json'), { throwIfNoEntry: false })?.isFile()) throw new Error(`${dir} is not a model folder: it has no config.json`);
  const paths: string[] = [];
  const walked = new Set<string>();
  const walk = (d: string): void => {
    const real = realpathSync(d);
    if (walked.has(real)) return;
    walked.add(real);
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      const stat = entry.isSymbolicLink() ? statSync(full, { throwIfNoEntry: false }) : entry;
      if (stat?.isDirectory()) walk(full);
      else if (stat?.isFile()) paths.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(root);
  const known = new Set(paths);
  const pathOf = (path: string): string => {
    if (!known.has(path)) throw missingFile({ name: folder }, path);
    return join(root, ...path.split('/'));
  };
  return {
    name: folder,
    list: () => [...paths],
    read: async (path) => {
      const buf = await readFile(pathOf(path));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    },
    open: async (path) => fileSource(pathOf(path)),
  };
}

/** One file through an open handle; each read fills a fresh buffer from the given position. */
async function fileSource(path: string): Promise<ByteSource> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > size) throw new Error(`${path}: read of [${offset}, ${offset + length}) outside the file's ${size} bytes`);
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const { bytesRead } = await handle.read(out, done, Math.min(length - done, MAX_READ_BYTES), offset + done);
        if (bytesRead === 0) throw new Error(`${path}: ended at byte ${offset + done} (changed while reading?)`);
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}

/**
 * When `dir` is a Hugging Face cache repository folder (models--org--name with snapshots/) or one of its
 * snapshots, the snapshot to read and the repository id; otherwise null.
 */
function hfCacheFolder(dir: string): { snapshot: string; repo: string } | null {
  const repoId = (repoDir: string): string => basename(repoDir).replace(/^(models|datasets|spaces)--/, '').split('--').join('/');
  const parent = dirname(dir);
  if (basename(parent) === 'snapshots' && /^(models|datasets|spaces)--/.test(basename(dirname(parent)))) {
    return { snapshot: dir, repo: repoId(dirname(parent)) };
  }
  const snapshots = join(dir, 'snapshots');
  if (!statSync(snapshots, { throwIfNoEntry: false })?.isDirectory()) return null;
  const hashes = readdirSync(snapshots, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const ref = join(dir, 'refs', 'main');
  const main = statSync(ref, { throwIfNoEntry: false })?.isFile() ? readFileSync(ref, 'utf8').trim() : null;
  const hash = main !== null && hashes.includes(main) ? main : hashes.length === 1 ? hashes[0] : null;
  if (hash === null) {
    const found = hashes.length === 0 ? 'no snapshots' : `${hashes.length} snapshots (${hashes.slice(0, 4).join(', ')}${hashes.length > 4 ? ', …' : ''})`;
    throw new Error(`${dir}: a Hugging Face cache folder with ${found} and no refs/main naming one of them; pass the snapshots/<hash> folder to use`);
  }
  return { snapshot: join(snapshots, hash), repo: repoId(dir) };
}

/** A ByteCache in a folder (created when first written). */
export function directoryCache(dir: string): ByteCache {
  const pathOf = (key: string) => join(dir, createHash('sha256').update(key).digest('hex'));
  return {
    get: async (key) => {
      try {
        const buf = await readFile(pathOf(key));
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    put: async (key, bytes) => {
      await mkdir(dir, { recursive: true });
      const tmp = `${pathOf(key)}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, pathOf(key));
    },
    delete: async (key) => { await rm(pathOf(key), { force: true }); },
  };
}
