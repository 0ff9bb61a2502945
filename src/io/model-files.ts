// `ModelFiles`: a model folder as a flat list of relative paths, wherever its bytes live. The browser
// adapters (a FileList from <input webkitdirectory>, a drop of files or of a folder) and an in-memory one
// live here; the Node directory adapter is in node-files.ts so the browser bundle never imports node:fs.
//
// Contract: paths are relative to the model folder, '/'-separated, without a leading folder name
// ('config.json', not 'SmolLM2-135M/config.json'). `read` rejects with an error naming the folder and path
// when the file is not there. `read` gives a whole file (configs, tokenizers); weights go through
// `openFile`, which reads byte ranges where the adapter can (`open`: a file handle, File.slice), so a
// checkpoint never has to fit in one buffer.
import { bytesSource, type ByteSource } from './safetensors';

export type { ByteSource } from './safetensors';

export interface ModelFiles {
  /** What to call the folder in messages (its name, or a repository id). */
  name: string;
  list(): string[];
  read(path: string): Promise<Uint8Array>;
  /** Random access to one file, for adapters that can read ranges; without it `openFile` reads the whole file. */
  open?(path: string): Promise<ByteSource>;
  /** The file as a Blob, where the adapter holds one (picked or dropped files): a page hands it to the worker unread. */
  blob?(path: string): Blob | undefined;
}

/** A file for reading by ranges: the adapter's `open`, else its whole bytes in memory. */
export function openFile(files: ModelFiles, path: string): Promise<ByteSource> {
  return files.open ? files.open(path) : files.read(path).then(bytesSource);
}

export function missingFile(files: Pick<ModelFiles, 'name'>, path: string): Error {
  return new Error(`${files.name}: missing file ${path}`);
}

/** In-memory files (downloads, generated models, tests). */
export function filesFromMap(name: string, map: Map<string, Uint8Array>): ModelFiles {
  return {
    name,
    list: () => [...map.keys()],
    read: async (path) => {
      const bytes = map.get(path);
      if (!bytes) throw missingFile({ name }, path);
      return bytes;
    },
  };
}

/** Minimal view of a DOM Blob: what we use of it (so Node's Blob and File work in tests too). */
interface BlobLike {
  size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** Minimal view of a DOM File. */
interface FileLike extends BlobLike {
  name: string;
  webkitRelativePath?: string;
}

/** A Blob or File as a ByteSource: each read is one slice, so only that range is ever in memory. */
export function blobSource(file: BlobLike): ByteSource {
  return {
    size: file.size,
    read: async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()),
    close: async () => {},
  };
}

/** Files already in hand as Blobs (what a page hands the engine worker), read by slices. */
export function filesFromBlobs(name: string, list: { path: string; file: Blob }[]): ModelFiles {
  return filesFromEntries(list, name, false);
}

/**
 * Files picked with <input type=file multiple webkitdirectory> (paths 'Folder/config.json': the common first
 * folder is dropped) or dropped loose (plain names).
 */
export function filesFromFileList(list: ArrayLike<FileLike>, name?: string): ModelFiles {
  const entries = Array.from(list).map((f) => ({ path: f.webkitRelativePath || f.name, file: f }));
  return filesFromEntries(entries, name);
}

/** The name of loose dropped files that came without a folder: no model name at all. */
export const UNNAMED_FILES = 'dropped files';

/** `stripFolder`: drop the first path segment when every path shares it (a picked folder's own name). */
function filesFromEntries(entries: { path: string; file: BlobLike }[], name?: string, stripFolder = true): ModelFiles {
  const first = entries.map((e) => e.path.split('/')[0]);
  const common = stripFolder && entries.length > 0 && entries.every((e, i) => e.path.includes('/') && first[i] === first[0]) ? first[0] : null;
  const map = new Map<string, BlobLike>();
  for (const e of entries) map.set(common ? e.path.slice(common.length + 1) : e.path, e.file);
  const folder = name ?? common ?? UNNAMED_FILES;
  return {
    name: folder,
    list: () => [...map.keys()],
    read: async (path) => {
      const file = map.get(path);
      if (!file) throw missingFile({ name: folder }, path);
      return new Uint8Array(await file.arrayBuffer());
    },
    open: async (path) => {
      const file = map.get(path);
      if (!file) throw missingFile({ name: folder }, path);
      return blobSource(file);
    },
    blob: (path) => map.get(path) as Blob | undefined, // DOM and Node Files are Blobs; BlobLike only narrows the type
  };
}

/** A drop event's DataTransfer: loose files, or one folder walked recursively (webkitGetAsEntry). */
export async function filesFromDataTransfer(dt: DataTransfer, name?: string): Promise<ModelFiles> {
  const roots = Array.from(dt.items).map((item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const entries: { path: string; file: FileLike }[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      entries.push({ path: prefix + entry.name, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries returns at most ~100 entries per call: read until it returns none.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const root of roots) await walk(root, '');
  return filesFromEntries(entries, name);
}
