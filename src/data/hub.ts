// Hugging Face Hub datasets by name: `hub:OWNER/NAME[@revision]` → its configs and splits → the data files of
// one split, downloaded (resumable, cached, with progress: src/io/download.ts), for the usual import.
//
// Listing goes through the maintained client (@huggingface/hub): datasetInfo for the card's YAML
// (GET {endpoint}/api/datasets/{id}/revision/{rev}?expand=cardData) and listFiles for every file
// (GET {endpoint}/api/datasets/{id}/tree/{rev}?recursive=true, paged by Link headers). Files come from
// {endpoint}/datasets/{id}/resolve/{rev}/{path}, the same "Hub endpoint" a mirror answers for models.
//
// Configs and splits, as the `datasets` library maps files (datasets/data_files.py), over the files our readers
// take (formats/: Parquet, JSON Lines, JSON, CSV, TSV); hidden paths (a segment starting with '.' or '__') never:
//  1. the card's `configs:` list: each config's `data_files` (a pattern or list of patterns: split "train"; or
//     [{split, path}]), relative to its `data_dir`; without data_files, its data_dir's files as in 3. The default
//     config is the one marked `default: true`, else the one named "default", else the only one.
//  2. without a card list, the sharded layout push_to_hub writes: `data/{split}-NNNNN-of-NNNNN*.*` is one config
//     with those splits; `{config}/{split}-NNNNN-of-NNNNN*.*` (push_to_hub's config_name, whose card was lost) a
//     config per folder.
//  3. otherwise one config "default": the first of these that matches any file decides the splits: split
//     keywords in a folder name (train/, validation/ or dev/, test/ ...), then in a file name (train.jsonl,
//     my-test-1.csv), else every file is "train".
// Not here: reading the files (import.ts), the page's picker (wave 2).
import { datasetInfo, listFiles } from '@huggingface/hub';
import { downloadFile, HF_ENDPOINT, hubUrlFor, type ByteCache } from '../io/download';
import { errorMessage } from '../errors';
import { READERS } from './formats';

export interface HubDatasetRef {
  repo: string;
  revision: string;
}

export interface DatasetFile {
  path: string;
  size: number;
}

export interface DatasetSplit {
  name: string;
  files: DatasetFile[];
}

export interface DatasetConfig {
  name: string;
  splits: DatasetSplit[];
}

export interface DatasetLayout {
  configs: DatasetConfig[];
  /** The config picked when none is asked for; null when several and none is marked. */
  defaultConfig: string | null;
}

/** A config of the card's YAML `configs:` list, as the Hub's API gives it (cardData.configs). */
export interface CardConfig {
  config_name?: string;
  data_files?: string | string[] | { split: string; path: string | string[] }[];
  data_dir?: string;
  default?: boolean;
}

export const HUB_PREFIX = 'hub:';

/** `hub:OWNER/NAME[@revision]` (the prefix optional) → the repository and revision (default main). */
export function parseHubDataset(spec: string): HubDatasetRef {
  const s = spec.startsWith(HUB_PREFIX) ? spec.slice(HUB_PREFIX.length) : spec;
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at), revision = at < 0 ? 'main' : s.slice(at + 1);
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo) || revision === '' || /[\s]/.test(revision)) {
    throw new Error(`"${spec}" is not a Hub dataset (expected hub:OWNER/NAME or hub:OWNER/NAME@REVISION)`);
  }
  return { repo, revision };
}

const DATA_EXTENSIONS = new Set(Object.values(READERS).flatMap((r) => r.extensions));

const isDataFile = (path: string): boolean => !path.split('/').some((s) => s.startsWith('.') || s.startsWith('__'))
  && DATA_EXTENSIONS.has(path.toLowerCase().split('.').pop() ?? '');

/** A `datasets` glob (fsspec's: `*` within a path segment, `**` across segments, `?`, `[...]`) as a RegExp. */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[' && pattern.indexOf(']', i + 2) > 0) {
      const end = pattern.indexOf(']', i + 2);
      re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\/[\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// datasets/data_files.py: the split keywords and where they may stand.
const SPLIT_KEYWORDS: Record<string, string[]> = {
  train: ['train', 'training'], validation: ['validation', 'valid', 'dev', 'val'], test: ['test', 'testing', 'eval', 'evaluation'],
};
const SEP = '[-._ 0-9]';
const IN_DIR_NAME = ['{k}/**', `{k}${SEP}*/**`, `**[-._ 0-9/]{k}/**`, `**[-._ 0-9/]{k}${SEP}*/**`];
const IN_FILE_NAME = [`**[-._ 0-9/]{k}${SEP}*`, `{k}${SEP}*`];
const SHARDED = /^(?<folder>[^/]+)\/(?<split>[^/]+?)-\d{5}-of-\d{5}[^/]*\.[^/]*$/;

/** Splits by keyword (folder names first, then file names, else all "train"), for files relative to their root. */
function splitsByKeyword(files: DatasetFile[], rel: (path: string) => string): DatasetSplit[] {
  for (const where of [IN_DIR_NAME, IN_FILE_NAME]) {
    const splits = Object.entries(SPLIT_KEYWORDS).map(([name, keywords]) => {
      const res = keywords.flatMap((k) => where.map((p) => globRegExp(p.replaceAll('{k}', k))));
      return { name, files: files.filter((f) => res.some((r) => r.test(rel(f.path)))) };
    }).filter((s) => s.files.length > 0);
    if (splits.length) return splits;
  }
  return files.length ? [{ name: 'train', files }] : [];
}

function byName<T extends { name: string }>(items: T[]): T[] {
  return items.sort((a, b) => a.name.localeCompare(b.name));
}

/** The configs and splits of a repository's files (every path it holds), from its card's `configs:` when given. */
export function datasetLayout(allFiles: DatasetFile[], cardConfigs?: CardConfig[] | null): DatasetLayout {
  const files = allFiles.filter((f) => isDataFile(f.path)).sort((a, b) => a.path.localeCompare(b.path));
  if (cardConfigs?.length) {
    const configs = cardConfigs.map((c, i): DatasetConfig => {
      const dir = (c.data_dir ?? '').replace(/^\/+|\/+$/g, '');
      const under = (p: string) => (dir ? `${dir}/${p}` : p);
      const within = dir ? files.filter((f) => f.path.startsWith(`${dir}/`)) : files;
      const name = c.config_name ?? (cardConfigs.length === 1 ? 'default' : `config ${i + 1}`);
      if (c.data_files === undefined) return { name, splits: splitsByKeyword(within, (p) => (dir ? p.slice(dir.length + 1) : p)) };
      const declared = typeof c.data_files === 'string' || (Array.isArray(c.data_files) && c.data_files.every((x) => typeof x === 'string'))
        ? [{ split: 'train', path: c.data_files as string | string[] }]
        : c.data_files as { split: string; path: string | string[] }[];
      const splits = declared.map((d) => {
        const res = [d.path].flat().map((p) => globRegExp(under(p)));
        return { name: d.split, files: files.filter((f) => res.some((r) => r.test(f.path))) };
      });
      return { name, splits };
    });
    const marked = cardConfigs.findIndex((c) => c.default === true);
    const fallback = configs.find((c) => c.name === 'default')?.name ?? (configs.length === 1 ? configs[0].name : null);
    return { configs, defaultConfig: marked >= 0 ? configs[marked].name : fallback };
  }
  const sharded = files.map((f) => ({ f, m: SHARDED.exec(f.path)?.groups })).filter((x) => x.m);
  if (sharded.length) {
    const folders = new Map<string, Map<string, DatasetFile[]>>();
    for (const { f, m } of sharded) {
      const splits = folders.get(m!.folder) ?? new Map<string, DatasetFile[]>();
      splits.set(m!.split, [...(splits.get(m!.split) ?? []), f]);
      folders.set(m!.folder, splits);
    }
    const configs = byName([...folders].map(([folder, splits]) => ({
      name: folder === 'data' ? 'default' : folder,
      splits: byName([...splits].map(([name, fs]) => ({ name, files: fs }))),
    })));
    return { configs, defaultConfig: configs.find((c) => c.name === 'default')?.name ?? (configs.length === 1 ? configs[0].name : null) };
  }
  return { configs: [{ name: 'default', splits: splitsByKeyword(files, (p) => p) }], defaultConfig: 'default' };
}

/** The config and split asked for (or the defaults: the default config, its "train" split or its only one). */
export function pickSplit(layout: DatasetLayout, repo: string, config?: string, split?: string): { config: string; split: DatasetSplit } {
  const names = (xs: { name: string }[]) => xs.map((x) => x.name).join(', ');
  const c = config === undefined
    ? layout.configs.find((x) => x.name === layout.defaultConfig)
    : layout.configs.find((x) => x.name === config);
  if (!c) {
    throw new Error(config === undefined
      ? `${repo} has ${layout.configs.length} configs (${names(layout.configs)}); choose one with --config`
      : `${repo} has no config "${config}" (its configs: ${names(layout.configs)})`);
  }
  const nonEmpty = c.splits.filter((s) => s.files.length > 0);
  if (nonEmpty.length === 0) throw new Error(`${repo}${c.name === 'default' ? '' : ` (config ${c.name})`} has no data files we read (Parquet, JSON Lines, JSON, CSV, TSV)`);
  const s = split === undefined
    ? nonEmpty.find((x) => x.name === 'train') ?? (nonEmpty.length === 1 ? nonEmpty[0] : undefined)
    : c.splits.find((x) => x.name === split);
  if (!s) {
    throw new Error(split === undefined
      ? `${repo} (config ${c.name}) has splits ${names(nonEmpty)} and none is "train"; choose one with --split`
      : `${repo} (config ${c.name}) has no split "${split}" (its splits: ${names(nonEmpty)})`);
  }
  if (s.files.length === 0) throw new Error(`${repo} (config ${c.name}): the card's files for split "${s.name}" match no file in the repository`);
  return { config: c.name, split: s };
}

export interface HubOptions {
  /** The Hub or a mirror (default https://huggingface.co). */
  endpoint?: string;
  fetch?: typeof fetch;
}

/** A Hub failure as one line: what was asked, and the status or network error. */
function hubFailure(repo: string, what: string, e: unknown): Error {
  const status = (e as { statusCode?: number }).statusCode;
  const why = status === 401 || status === 404 ? 'not found (or private or gated: this asks without a token)' : status ? `HTTP ${status}` : errorMessage(e);
  return new Error(`${repo}: could not ${what}: ${why}`);
}

/** The repository's configs and splits, read through the Hub API. */
export async function listHubDataset(ref: HubDatasetRef, opts: HubOptions = {}): Promise<DatasetLayout> {
  const hubUrl = (opts.endpoint ?? HF_ENDPOINT).replace(/\/$/, '');
  let card: { configs?: CardConfig[] } | undefined;
  try {
    const info = await datasetInfo({ name: ref.repo, revision: ref.revision, hubUrl, fetch: opts.fetch, additionalFields: ['cardData'] });
    card = info.cardData as { configs?: CardConfig[] } | undefined;
  } catch (e) {
    throw hubFailure(ref.repo, `read the dataset at ${ref.revision}`, e);
  }
  const files: DatasetFile[] = [];
  try {
    for await (const f of listFiles({ repo: { type: 'dataset', name: ref.repo }, revision: ref.revision, recursive: true, hubUrl, fetch: opts.fetch })) {
      if (f.type === 'file') files.push({ path: f.path, size: f.size });
    }
  } catch (e) {
    throw hubFailure(ref.repo, 'list its files', e);
  }
  return datasetLayout(files, card?.configs);
}

export interface HubDownloadProgress {
  file: string;
  /** Bytes of the split's files, done and total (the listing gives every size up front). */
  loaded: number;
  total: number;
}

/** The split's files, each resumable and cached (`cache`) as model files are; bytes in the order given. */
export async function downloadHubDataset(
  ref: HubDatasetRef, files: DatasetFile[],
  opts: HubOptions & { cache?: ByteCache; partBytes?: number; signal?: AbortSignal; onProgress?: (p: HubDownloadProgress) => void } = {},
): Promise<{ path: string; bytes: Uint8Array }[]> {
  const urlFor = hubUrlFor(ref.repo, ref.revision, opts.endpoint ?? HF_ENDPOINT, 'dataset');
  const total = files.reduce((s, f) => s + f.size, 0);
  const out: { path: string; bytes: Uint8Array }[] = [];
  let before = 0;
  for (const f of files) {
    const bytes = await downloadFile(urlFor(f.path), {
      cache: opts.cache, fetch: opts.fetch, partBytes: opts.partBytes, signal: opts.signal,
      onBytes: (loaded) => opts.onProgress?.({ file: f.path, loaded: before + loaded, total }),
    });
    if (bytes.length !== f.size) throw new Error(`${ref.repo}/${f.path}: got ${bytes.length} bytes, the listing says ${f.size}`);
    out.push({ path: f.path, bytes });
    before += f.size;
  }
  return out;
}
