// `studio data hub:OWNER/NAME[@revision] [--config C] [--split S] [--endpoint URL] [--json]`
// A Hugging Face Hub dataset by name (src/data/hub.ts): its configs and splits listed through the Hub API, the
// chosen split's files downloaded (progress on stderr; resumable; cached on disk so a second run needs no
// network), then each file imported as `studio data FILE` imports one. The endpoint is --endpoint, else
// HF_ENDPOINT (as the Python tools read it), else https://huggingface.co; the cache is $STUDIO_CACHE, else
// $XDG_CACHE_HOME/sft-studio/hub, else ~/.cache/sft-studio/hub. No token: public datasets only.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { downloadHubDataset, listHubDataset, parseHubDataset, pickSplit } from '../src/data/hub';
import type { DatasetRecord } from '../src/data/record';
import { HF_ENDPOINT } from '../src/io/download';
import { directoryCache } from '../src/io/node-files';
import type { Parsed } from './args';

/** What `studio data` reports of an import (one file's, or a split's files together). */
export interface DataImport {
  records: DatasetRecord[];
  issues: { line: number; message: string }[];
  format: string;
  shape: string | null;
  rows: number;
}

export function hubCacheDir(): string {
  return process.env.STUDIO_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sft-studio', 'hub');
}

/** The split's files imported one by one (`importOne`: the CLI's own file import) and joined; issues name their file. */
export async function readHubRecords(
  spec: string, p: Parsed, importOne: (name: string, bytes: Uint8Array) => Promise<DataImport>,
): Promise<DataImport & { config: string; split: string; files: string[] }> {
  const ref = parseHubDataset(spec);
  const endpoint = p.options.get('endpoint')?.at(-1) ?? process.env.HF_ENDPOINT ?? HF_ENDPOINT;
  const layout = await listHubDataset(ref, { endpoint });
  const { config, split } = pickSplit(layout, ref.repo, p.options.get('config')?.at(-1), p.options.get('split')?.at(-1));
  const total = split.files.reduce((s, f) => s + f.size, 0);
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  process.stderr.write(`${ref.repo}@${ref.revision}: config ${config}, split ${split.name}: ${split.files.length} file${split.files.length > 1 ? 's' : ''}, ${mib(total)} MiB\n`);
  let said = Date.now();
  const downloads = await downloadHubDataset(ref, split.files, {
    endpoint, cache: directoryCache(hubCacheDir()),
    onProgress: ({ file, loaded }) => {
      if (Date.now() - said < 2000) return;
      said = Date.now();
      process.stderr.write(`  ${file}: ${mib(loaded)} of ${mib(total)} MiB\n`);
    },
  });
  const parts: DataImport[] = [];
  for (const d of downloads) {
    const r = await importOne(d.path.split('/').pop()!, d.bytes);
    parts.push({ ...r, issues: r.issues.map((i) => ({ ...i, message: downloads.length > 1 ? `${d.path}: ${i.message}` : i.message })) });
  }
  const shapes = [...new Set(parts.map((x) => x.shape))];
  if (shapes.length > 1) throw new Error(`${ref.repo}: the split's files have different row shapes (${shapes.join(', ')})`);
  return {
    config, split: split.name, files: split.files.map((f) => f.path),
    records: parts.flatMap((x) => x.records), issues: parts.flatMap((x) => x.issues),
    format: [...new Set(parts.map((x) => x.format))].join('+'), shape: shapes[0], rows: parts.reduce((s, x) => s + x.rows, 0),
  };
}
