// Zip packaging of exports (one zip per export, optionally inside one top-level folder) and reading zips back
// (a PEFT adapter zip to import), with fflate.
//
// Contract:
//  - zipExport(files) stores already-compressed or incompressible payloads (.safetensors, .gguf, .onnx, .bin)
//    without deflate (fast, same size) and deflates text; names are the map's keys, '/'-separated.
//  - unzipExport(bytes) refuses what could escape or exhaust: absolute paths, '..' segments, backslashes,
//    more than maxFiles entries, or declared sizes over maxBytes in total (fflate inflates into a buffer of the
//    declared size, so the declaration bounds memory). Directory entries are skipped. A single top-level folder
//    common to every entry is stripped ('my-adapter/adapter_config.json' → 'adapter_config.json').
// Not here: what goes into an export (merged.ts, gguf.ts, trl.ts, peft.ts, card.ts).
import { unzipSync, zipSync, type Zippable } from 'fflate';
import type { ExportFiles } from './merged';

const STORED = /\.(safetensors|gguf|onnx|bin|zip|pt|model)$/i;

/** Files plus a README.md (the model card), as one map. */
export function withReadme(files: ExportFiles, readme: string): ExportFiles {
  return new Map([...files, ['README.md', new TextEncoder().encode(readme)]]);
}

function checkName(name: string): void {
  if (!name || name.startsWith('/') || name.includes('\\') || name.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new Error(`zip: unsafe file name ${JSON.stringify(name)}`);
  }
}

export function zipExport(files: ExportFiles, opts: { folder?: string } = {}): Uint8Array {
  const tree: Zippable = {};
  for (const [name, bytes] of files) {
    checkName(name);
    const path = opts.folder ? `${opts.folder}/${name}` : name;
    tree[path] = [bytes, { level: STORED.test(name) ? 0 : 6 }];
  }
  return zipSync(tree, { mtime: new Date('2026-01-01T00:00:00Z') });
}

interface UnzipLimits {
  /** Sum of the entries' declared uncompressed sizes (default 8 GiB). */
  maxBytes?: number;
  maxFiles?: number;
}

export function unzipExport(bytes: Uint8Array, limits: UnzipLimits = {}, fileName = 'archive.zip'): ExportFiles {
  const maxBytes = limits.maxBytes ?? 8 * 1024 ** 3, maxFiles = limits.maxFiles ?? 10_000;
  let total = 0, count = 0;
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(bytes, {
      filter: (f) => {
        if (f.name.endsWith('/')) return false;
        checkName(f.name);
        if (++count > maxFiles) throw new Error(`zip: more than ${maxFiles} files`);
        total += f.originalSize;
        if (total > maxBytes) throw new Error(`zip: contents exceed ${maxBytes} bytes`);
        return true;
      },
    });
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(`${fileName}: ${msg.startsWith('zip:') ? msg.slice(5) : `not a readable zip (${msg})`}`);
  }
  const names = Object.keys(raw);
  const first = names.map((n) => n.split('/')[0]);
  const common = names.length > 0 && names.every((n, i) => n.includes('/') && first[i] === first[0]) ? `${first[0]}/` : '';
  return new Map(names.map((n) => [n.slice(common.length), raw[n]]));
}
