// `ModelFiles` over a directory on disk, for Node (the command line and tests). Kept apart from
// model-files.ts so the browser bundle never imports node:fs.
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { missingFile, type ModelFiles } from './model-files';

export function filesFromDirectory(dir: string, name = basename(dir)): ModelFiles {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${dir}: not a directory`);
  const paths: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) paths.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  const known = new Set(paths);
  return {
    name,
    list: () => [...paths],
    read: async (path) => {
      if (!known.has(path)) throw missingFile({ name }, path);
      const buf = await readFile(join(dir, ...path.split('/')));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    },
  };
}
