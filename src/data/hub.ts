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
// Not here: reading the files (import.ts); the data tools (tools.ts) run this for the page's Data step.
import { datasetInfo, listFiles } from '@huggingface/hub';
import { downloadFile, HF_ENDPOINT, hubUrlFor, type ByteCache } from '../io/download';
import { errorMessage, oneLine } from '../errors';
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
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo) || revision === '' || /[\s\p{Cc}]/u.test(revision)) {
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
  try {
    return new RegExp(`^${re}$`);
  } catch {
    // A class the pattern spells but RegExp refuses ([z-a]): the card's fault, said as the card wrote it.
    throw new Error(`the file pattern ${JSON.stringify(pattern)} is not a glob the studio can read`);
  }
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

const noDataFiles = (what: string) => `${what} has no data files we read (Parquet, JSON Lines, JSON, CSV, TSV)`;

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
  if (nonEmpty.length === 0) throw new Error(noDataFiles(`${repo}${c.name === 'default' ? '' : ` (config ${c.name})`}`));
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

/** A failure of the request itself (the network, an abort), told apart from the client's failure to read an answer. */
class RequestFailure extends Error {}

/** `fetch` whose own failures are RequestFailures: what else the client throws is about the answer it got. */
function requests(f: typeof fetch = fetch): typeof fetch {
  return async (...args) => {
    try {
      return await f(...args);
    } catch (e) {
      throw new RequestFailure(errorMessage(e));
    }
  };
}

/** A Hub failure as one line: what was asked, and the status, the network's error, or an answer that is not the API's. */
function hubFailure(repo: string, what: string, endpoint: string, e: unknown): Error {
  const status = (e as { statusCode?: number } | null)?.statusCode;
  const why = status === 401 || status === 404 ? 'not found (or private or gated: this asks without a token)'
    : status ? `HTTP ${status}`
    : e instanceof RequestFailure ? `no answer from ${endpoint} (${e.message})`
    // The client read JSON of another shape (or HTML): the endpoint answers, but not as the Hub's API does.
    : e instanceof TypeError || e instanceof SyntaxError ? 'the answer is not what the Hub API gives (is the endpoint a Hub?)'
    : errorMessage(e);
  return new Error(oneLine(`${repo}: could not ${what}: ${why}`));
}

/** A value of the card as its error names it: 'a number', 'a list', 'null'. */
const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : `${typeof v === 'object' ? 'an' : 'a'} ${typeof v}`);

/** What a file pattern or list of patterns in a card may be. */
const isPatterns = (x: unknown): x is string | string[] => typeof x === 'string' || (Array.isArray(x) && x.every((p) => typeof p === 'string'));

/**
 * The card's `configs:` as the API gave them (the card's YAML, written by anyone): null when there is none, the
 * list when every entry has the shape CardConfig says, and otherwise an error naming the first entry that does not.
 */
export function cardConfigsOf(value: unknown): CardConfig[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new Error(`the dataset card's configs is ${describe(value)}, not a list`);
  value.forEach((c: unknown, i) => {
    const bad = (why: string) => new Error(`the dataset card's configs[${i}]: ${why}`);
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad(`${describe(c)}, not a mapping`);
    const { config_name: name, data_dir: dir, data_files: files } = c as Record<string, unknown>;
    if (name !== undefined && typeof name !== 'string') throw bad(`config_name is ${describe(name)}, not a string`);
    if (dir !== undefined && typeof dir !== 'string') throw bad(`data_dir is ${describe(dir)}, not a string`);
    const entry = (x: unknown) => typeof x === 'object' && x !== null && typeof (x as { split?: unknown }).split === 'string' && isPatterns((x as { path?: unknown }).path);
    if (files !== undefined && !isPatterns(files) && !(Array.isArray(files) && files.every(entry))) {
      throw bad('data_files must be a pattern, a list of patterns, or a list of {split, path}');
    }
  });
  return value as CardConfig[];
}

/** The repository's configs and splits, read through the Hub API. */
export async function listHubDataset(ref: HubDatasetRef, opts: HubOptions = {}): Promise<DatasetLayout> {
  const hubUrl = (opts.endpoint ?? HF_ENDPOINT).replace(/\/$/, '');
  const hubFetch = requests(opts.fetch);
  let card: { configs?: unknown } | undefined;
  let gated: false | 'auto' | 'manual' = false;
  try {
    const info = await datasetInfo({ name: ref.repo, revision: ref.revision, hubUrl, fetch: hubFetch, additionalFields: ['cardData'] });
    card = typeof info.cardData === 'object' && info.cardData !== null ? info.cardData as { configs?: unknown } : undefined;
    gated = info.gated;
  } catch (e) {
    throw hubFailure(ref.repo, `read the dataset at ${ref.revision}`, hubUrl, e);
  }
  // A gated dataset lists its files to anyone but serves them only to a signed-in user who accepted its terms.
  if (gated) throw new Error(`${ref.repo} is gated (its files need a signed-in account that accepted its conditions): the studio downloads public datasets only, without a token`);
  const files: DatasetFile[] = [];
  try {
    for await (const f of listFiles({ repo: { type: 'dataset', name: ref.repo }, revision: ref.revision, recursive: true, hubUrl, fetch: hubFetch })) {
      if (f.type !== 'file') continue;
      // The listing is the server's word (a mirror's too): a file without a path and a size is not one we can fetch.
      if (typeof f.path !== 'string' || !Number.isSafeInteger(f.size) || f.size < 0) throw new Error(`an entry of type file has no path and size (${oneLine(JSON.stringify(f), 120)})`);
      files.push({ path: f.path, size: f.size });
    }
  } catch (e) {
    throw hubFailure(ref.repo, 'list its files', hubUrl, e);
  }
  let layout: DatasetLayout;
  try {
    layout = datasetLayout(files, cardConfigsOf(card?.configs));
  } catch (e) {
    throw new Error(`${ref.repo}: ${errorMessage(e)}`);
  }
  if (!layout.configs.some((c) => c.splits.some((sp) => sp.files.length > 0))) throw new Error(noDataFiles(ref.repo));
  return layout;
}

export interface HubDownloadProgress {
  file: string;
  /** Bytes of the split's files, done and total (the listing gives every size up front). */
  loaded: number;
  total: number;
}

/**
 * A file's download failure as one line. HTTP errors keep download.ts's line (its URL and status; 401 and 403 said
 * as the Hub means them); a fetch that got no answer (the network gone) says so, and that the parts already
 * downloaded are kept (download.ts caches each finished part) so the next try resumes. A cancel stays as it is.
 */
function downloadFailure(repo: string, path: string, e: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return e;
  const status = (e as { status?: number }).status;
  if (status === 401 || status === 403) return new Error(oneLine(`${repo}/${path}: refused (HTTP ${status}: private or gated; the studio downloads without a token)`));
  if (status !== undefined) return e;
  return new Error(oneLine(`${repo}/${path}: the download stopped, the network failed (${errorMessage(e)}); download again to resume (finished parts are kept)`));
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
    }).catch((e: unknown) => { throw downloadFailure(ref.repo, f.path, e, opts.signal); });
    if (bytes.length !== f.size) throw new Error(`${ref.repo}/${f.path}: got ${bytes.length} bytes, the listing says ${f.size}`);
    out.push({ path: f.path, bytes });
    before += f.size;
  }
  return out;
}
