// Model downloads over HTTP: the Hugging Face hub by repository id, or any folder served with the same
// file names (the embedded default at /models/default/). Resumable, with byte progress, cached so the
// second open needs no network. `downloadFile` is the same for any one file (a Hub dataset's shards).
//
// URL layout (the hub's): {endpoint}/{repo}/resolve/{revision}/{file}; a plain folder is {base}{file}.
// Files fetched: config.json, tokenizer.json, tokenizer_config.json (required), generation_config.json
// (optional), then model.safetensors.index.json + its shards when the index exists, else model.safetensors.
//
// Resume: large files are fetched in parts with `Range: bytes=a-b`; a connection that drops mid-part is
// picked up at once from the first missing byte (`Range: bytes={n}-b`). Each finished part goes to the cache
// under `{url}#part-{i}`, so a download stopped altogether (closed page, network gone) restarts at the first
// missing part. When every part is
// there the whole file is cached under its URL and the parts are deleted. A server that ignores Range
// (200 instead of 206) is read in one piece. An optional file that is 404 is cached as absent; so is an
// HTML page in its place (static servers of single-page apps answer every unknown path with index.html).
// Cache: any ByteCache; cacheStorageCache() uses Cache Storage (pages and workers), memoryCache() is for
// tests and for environments without it. A cache that can run out of room is told each file's size before its
// bytes are fetched (`expect`: parts and the whole file, which are both stored until the parts are deleted), so it
// can refuse at once (src/storage/model-cache.ts). Deliberately not here: parsing (src/io/hf.ts reads the files).
import { filesFromMap, type ModelFiles } from './model-files';
import { errorMessage } from '../errors';

export interface ByteCache {
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Told before `url`'s bytes are fetched: about `bytes` more will be stored under it (may refuse for want of room). */
  expect?(url: string, bytes: number): Promise<void>;
}

export interface DownloadProgress {
  file: string;
  /** Bytes of all files known so far, done and total (total grows as sizes are learned). */
  loaded: number;
  total: number;
  /** True when this file came from the cache. */
  cached: boolean;
}

export interface DownloadOptions {
  /** Part size for Range requests (default 16 MiB). */
  partBytes?: number;
  cache?: ByteCache;
  fetch?: typeof fetch;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

export const HF_ENDPOINT = 'https://huggingface.co';

/** Well-known small models the picker offers (the families people tune, ≤ ~600M parameters). */
export const KNOWN_MODELS: { repo: string; label: string }[] = [
  { repo: 'HuggingFaceTB/SmolLM2-135M-Instruct', label: 'SmolLM2 135M Instruct' },
  { repo: 'unsloth/gemma-3-270m-it', label: 'Gemma 3 270M Instruct (an ungated copy of google/gemma-3-270m-it)' },
  { repo: 'HuggingFaceTB/SmolLM2-360M-Instruct', label: 'SmolLM2 360M Instruct' },
  { repo: 'Qwen/Qwen2.5-0.5B-Instruct', label: 'Qwen2.5 0.5B Instruct' },
  { repo: 'Qwen/Qwen3-0.6B', label: 'Qwen3 0.6B' },
  { repo: 'openai-community/gpt2', label: 'GPT-2 (124M)' },
];

/** Where a file lives: a function of its path in the model folder. */
type UrlFor = (file: string) => string;

/** A file of a Hub repository: {endpoint}/{repo}/resolve/{revision}/{file}, datasets under {endpoint}/datasets/. */
export function hubUrlFor(repo: string, revision = 'main', endpoint = HF_ENDPOINT, type: 'model' | 'dataset' = 'model'): UrlFor {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo)) throw new Error(`"${repo}" is not a repository id (expected owner/name)`);
  const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  return (file) => `${endpoint.replace(/\/$/, '')}/${type === 'dataset' ? 'datasets/' : ''}${enc(repo)}/resolve/${encodeURIComponent(revision)}/${enc(file)}`;
}

export function folderUrlFor(base: string): UrlFor {
  const b = base.endsWith('/') ? base : `${base}/`;
  return (file) => `${b}${file}`;
}

class DownloadError extends Error {
  constructor(readonly url: string, readonly status: number, message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

export function memoryCache(): ByteCache & { keys(): string[] } {
  const m = new Map<string, Uint8Array>();
  return {
    get: async (k) => m.get(k) ?? null,
    put: async (k, b) => { m.set(k, b.slice()); },
    delete: async (k) => { m.delete(k); },
    keys: () => [...m.keys()],
  };
}

/** Cache Storage (window or worker). Keys are URLs; parts use a fragment-free query so they are distinct requests. */
export async function cacheStorageCache(name = 'sft-studio-models'): Promise<ByteCache> {
  const cache = await caches.open(name);
  const req = (k: string) => new Request(k.replace('#', k.includes('?') ? '&' : '?'));
  return {
    get: async (k) => {
      const r = await cache.match(req(k));
      return r ? new Uint8Array(await r.arrayBuffer()) : null;
    },
    put: async (k, b) => { await cache.put(req(k), new Response(b.slice().buffer)); },
    delete: async (k) => { await cache.delete(req(k)); },
  };
}

const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL = ['generation_config.json'];

/**
 * Downloads (or reads from the cache) a model folder and returns it as ModelFiles. Errors name the file
 * and the HTTP status ("…/config.json: HTTP 404").
 */
export async function downloadModel(name: string, urlFor: UrlFor, opts: DownloadOptions = {}): Promise<ModelFiles> {
  const files = new Map<string, Uint8Array>();
  const sizes = new Map<string, { loaded: number; total: number }>();
  const report = (file: string, cached: boolean) => {
    let loaded = 0, total = 0;
    for (const s of sizes.values()) { loaded += s.loaded; total += s.total; }
    opts.onProgress?.({ file, loaded, total, cached });
  };
  const get = async (file: string, optional: boolean): Promise<Uint8Array | null> => {
    const bytes = await fetchFile(urlFor(file), { ...opts, optional, onBytes: (loaded, total) => { sizes.set(file, { loaded, total }); report(file, false); } });
    return bytes;
  };
  for (const f of REQUIRED) files.set(f, (await get(f, false))!);
  for (const f of OPTIONAL) { const b = await get(f, true); if (b) files.set(f, b); }
  const index = await get('model.safetensors.index.json', true);
  if (index) {
    files.set('model.safetensors.index.json', index);
    let map: unknown;
    try { map = JSON.parse(new TextDecoder().decode(index)); } catch { throw new Error(`${name}/model.safetensors.index.json: not valid JSON`); }
    const weightMap = typeof map === 'object' && map !== null && 'weight_map' in map ? map.weight_map : null;
    if (typeof weightMap !== 'object' || weightMap === null) throw new Error(`${name}/model.safetensors.index.json: no weight_map`);
    const shards = [...new Set(Object.values(weightMap).filter((v): v is string => typeof v === 'string'))];
    for (const s of shards) files.set(s, (await get(s, false))!);
  } else {
    files.set('model.safetensors', (await get('model.safetensors', false))!);
  }
  return filesFromMap(name, files);
}

/** One file (a dataset's shard), resumable and cached like a model's files; `onBytes` reports its bytes done and total. */
export async function downloadFile(url: string, opts: DownloadOptions & { onBytes?: (loaded: number, total: number) => void } = {}): Promise<Uint8Array> {
  return (await fetchFile(url, { ...opts, optional: false, onBytes: opts.onBytes ?? (() => {}) }))!;
}

interface FetchFileOptions extends DownloadOptions {
  optional: boolean;
  onBytes: (loaded: number, total: number) => void;
}

/** One file: from the cache, or over HTTP in Range parts that are cached as they finish. */
async function fetchFile(url: string, opts: FetchFileOptions): Promise<Uint8Array | null> {
  const f = opts.fetch ?? fetch;
  const cache = opts.cache;
  const whole = await cache?.get(url);
  if (whole) { opts.onBytes(whole.length, whole.length); return whole; }
  // An optional file the server did not have is remembered as absent, so an offline open does not ask again.
  if (opts.optional && await cache?.get(`${url}#absent`)) return null;
  const partBytes = opts.partBytes ?? 16 * 2 ** 20;

  // First part: learns the size (Content-Range) and whether Range is honoured.
  const first = await cache?.get(`${url}#part-0`);
  let total: number;
  const parts: Uint8Array[] = [];
  if (first) {
    const meta = await cache?.get(`${url}#size`);
    total = meta ? Number(new TextDecoder().decode(meta)) : NaN;
    if (!Number.isFinite(total)) return restart();
    parts.push(first);
    await cache?.expect?.(url, 2 * total - first.length);
  } else {
    const res = await f(url, { headers: { Range: `bytes=0-${partBytes - 1}` }, signal: opts.signal });
    // Single-page-app servers answer unknown paths with index.html (200): none of our files is HTML.
    const html = res.ok && /^text\/html/i.test(res.headers.get('content-type') ?? '');
    if ((res.status === 404 || html) && opts.optional) { await res.body?.cancel(); await cache?.put(`${url}#absent`, new Uint8Array(1)); return null; }
    if (html) throw new DownloadError(url, 404, `${url}: not found (the server sent an HTML page)`);
    if (!res.ok) throw new DownloadError(url, res.status, `${url}: HTTP ${res.status}`);
    if (res.status !== 206) {
      const length = Number(res.headers.get('content-length'));
      if (length > 0) await cache?.expect?.(url, length).catch(async (e: unknown) => { await res.body?.cancel(); throw e; });
      const body = await readBody(res, (n) => opts.onBytes(n, length || n));
      await cache?.put(url, body);
      opts.onBytes(body.length, body.length);
      return body;
    }
    const range = contentRange(res.headers.get('content-range'), url);
    if (range.start !== 0) throw new DownloadError(url, 206, `${url}: asked for bytes from 0, the server sent ${range.start}-${range.end}`);
    total = range.total;
    if (range.end + 1 !== Math.min(total, partBytes)) throw new DownloadError(url, 206, `${url}: asked for bytes 0-${partBytes - 1}, the server sent 0-${range.end}`);
    // Its parts, then the whole file, are stored (a file in one part: only the whole).
    await cache?.expect?.(url, total > partBytes ? 2 * total : total).catch(async (e: unknown) => { await res.body?.cancel(); throw e; });
    const body = await readPart(res, url, 0, range.end, opts, (n) => opts.onBytes(n, total));
    parts.push(body);
    if (total > body.length && cache) {
      await cache.put(`${url}#size`, new TextEncoder().encode(String(total)));
      await cache.put(`${url}#part-0`, body);
    }
  }
  const count = Math.ceil(total / partBytes);
  for (let i = 1; i < count; i++) {
    const done = parts.reduce((s, p) => s + p.length, 0);
    opts.onBytes(done, total);
    const key = `${url}#part-${i}`;
    const cached = await cache?.get(key);
    if (cached) { parts.push(cached); continue; }
    const start = i * partBytes, end = Math.min(total, start + partBytes) - 1;
    const res = await f(url, { headers: { Range: `bytes=${start}-${end}` }, signal: opts.signal });
    if (res.status !== 206) throw new DownloadError(url, res.status, `${url}: HTTP ${res.status} for bytes ${start}-${end} (expected 206)`);
    const body = await readPart(res, url, start, end, opts, (n) => opts.onBytes(done + n, total));
    parts.push(body);
    await cache?.put(key, body);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  if (off !== total) throw new DownloadError(url, 206, `${url}: assembled ${off} of ${total} bytes`);
  opts.onBytes(total, total);
  if (cache) {
    await cache.put(url, out);
    for (let i = 0; i < count; i++) await cache.delete(`${url}#part-${i}`);
    await cache.delete(`${url}#size`);
  }
  return out;

  async function restart(): Promise<Uint8Array | null> {
    await cache?.delete(`${url}#part-0`);
    return fetchFile(url, opts);
  }
}

/** `bytes a-b/total` → its numbers. */
function contentRange(h: string | null, url: string): { start: number; end: number; total: number } {
  const m = h ? /^bytes\s+(\d+)-(\d+)\/(\d+)\s*$/.exec(h) : null;
  if (!m) throw new DownloadError(url, 206, `${url}: 206 without a usable Content-Range (${h ?? 'none'})`);
  return { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) };
}

/** Resumes of one part in a row before giving up (each after the connection dropped mid-body). */
const RESUMES = 3;

/**
 * The body of a 206 for bytes [start, end]. When the connection drops mid-body, the rest is asked for again
 * with `Range: bytes={first missing}-{end}` (up to RESUMES times), so a flaky network costs only what was lost.
 */
async function readPart(first: Response, url: string, start: number, end: number, opts: FetchFileOptions, onBytes: (n: number) => void): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  let res = first;
  for (let resumes = 0; ; resumes++) {
    let why = 'the body ended early';
    try {
      await readChunks(res, (c) => { chunks.push(c); got += c.length; onBytes(got); });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      why = errorMessage(e);
    }
    if (got === end - start + 1) return concat(chunks, got);
    if (got > end - start + 1) throw new DownloadError(url, res.status, `${url}: got ${got} bytes for ${start}-${end}`);
    if (resumes === RESUMES) throw new DownloadError(url, res.status, `${url}: bytes ${start}-${end} broke off ${RESUMES + 1} times (last: ${why})`);
    const from = start + got;
    res = await (opts.fetch ?? fetch)(url, { headers: { Range: `bytes=${from}-${end}` }, signal: opts.signal });
    if (res.status !== 206) throw new DownloadError(url, res.status, `${url}: HTTP ${res.status} when resuming at byte ${from} (expected 206)`);
    const r = contentRange(res.headers.get('content-range'), url);
    if (r.start !== from) throw new DownloadError(url, 206, `${url}: resumed at byte ${from}, the server sent ${r.start}-${r.end}`);
  }
}

async function readBody(res: Response, onBytes: (n: number) => void): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  await readChunks(res, (c) => { chunks.push(c); n += c.length; onBytes(n); });
  return concat(chunks, n);
}

async function readChunks(res: Response, onChunk: (c: Uint8Array) => void): Promise<void> {
  if (!res.body) { onChunk(new Uint8Array(await res.arrayBuffer())); return; }
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onChunk(value);
  }
}

function concat(chunks: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  return out;
}
