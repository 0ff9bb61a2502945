// Hub downloads against a local server on 127.0.0.1 that serves the hub's URL layout
// ({endpoint}/{repo}/resolve/{revision}/{file}) with Range support; no test reaches the internet.
// Checks: the files arrive byte-identical and load as a model; a connection dropped mid-file is resumed at
// once from the first missing byte; a download stopped altogether resumes at the first missing part (bytes
// already cached are not fetched again); the second open makes no request at all;
// sharded checkpoints follow their index; a missing required file fails naming the file and the status;
// a server that ignores Range still works.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { downloadModel, hubUrlFor, memoryCache, type DownloadProgress } from '../../src/io/download';
import { loadHfModel } from '../../src/io/hf';

const REPO = 'tiny-org/tiny-llama';
const SHARDED = 'tiny-org/tiny-sharded';
const repos = new Map<string, Map<string, Uint8Array>>([
  [REPO, buildTinyModel('llama-small', 1)],
  [SHARDED, buildTinyModel('llama-small', 2, { maxShardBytes: 60_000 })],
]);

interface Log { path: string; range: string | null; bytes: number }
let server: Server;
let endpoint = '';
const log: Log[] = [];
/** When set, the next response for a file with this name is cut after this many bytes (connection dropped). */
let cutAfter: { file: string; bytes: number } | null = null;
let honourRange = true;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/(?:spa\/)?(.+?\/.+?)\/resolve\/([^/]+)\/(.+)$/.exec(decodeURIComponent(url.pathname));
    const body = m && m[2] === 'main' ? repos.get(m[1])?.get(m[3]) : undefined;
    const range = req.headers.range ?? null;
    if (!body) {
      log.push({ path: url.pathname, range, bytes: 0 });
      // Like a single-page app's static server: unknown paths under /spa/ get an HTML page with status 200.
      if (url.pathname.startsWith('/spa/')) res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>app</p>');
      else res.writeHead(404).end('not found');
      return;
    }
    let start = 0, end = body.length - 1, status = 200;
    const r = range && honourRange ? /bytes=(\d+)-(\d+)?/.exec(range) : null;
    if (r) { start = Number(r[1]); end = Math.min(end, r[2] ? Number(r[2]) : end); status = 206; }
    const slice = body.subarray(start, end + 1);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(slice.length) };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
    res.writeHead(status, headers);
    if (cutAfter && m![3] === cutAfter.file && slice.length > cutAfter.bytes) {
      const n = cutAfter.bytes;
      cutAfter = null;
      log.push({ path: url.pathname, range, bytes: n });
      res.write(slice.subarray(0, n), () => res.destroy());
      return;
    }
    log.push({ path: url.pathname, range, bytes: slice.length });
    res.end(slice);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  endpoint = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => { await new Promise((ok) => server.close(ok)); });

describe('hub download', () => {
  it('downloads byte-identical files that load, resumes an interrupted file, and opens offline the second time', async () => {
    const src = repos.get(REPO)!;
    const weights = src.get('model.safetensors')!;
    const part = 16 * 1024;
    expect(weights.length).toBeGreaterThan(4 * part); // enough parts for the resume to mean something
    const urlFor = hubUrlFor(REPO, 'main', endpoint);

    // 1. The connection drops 100 bytes into the weights' first part: the download picks up at once from
    //    byte 100 of that part and completes.
    cutAfter = { file: 'model.safetensors', bytes: 100 };
    let start = log.length;
    const progress: DownloadProgress[] = [];
    const resumed = await downloadModel(REPO, urlFor, { cache: memoryCache(), partBytes: part, onProgress: (p) => progress.push(p) });
    const firstThree = log.slice(start).filter((l) => l.path.endsWith('model.safetensors')).slice(0, 3);
    expect(firstThree).toEqual([
      { path: expect.any(String), range: `bytes=0-${part - 1}`, bytes: 100 },
      { path: expect.any(String), range: `bytes=100-${part - 1}`, bytes: part - 100 },
      { path: expect.any(String), range: `bytes=${part}-${2 * part - 1}`, bytes: part },
    ]);
    expect(Buffer.from(await resumed.read('model.safetensors')).equals(Buffer.from(weights))).toBe(true);

    // A connection that keeps dropping gives up with a clear error after a few resumes.
    const dropping: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('model.safetensors')) return res;
      const body = new Uint8Array(await res.arrayBuffer()).subarray(0, 10);
      return new Response(new ReadableStream({ start(c) { c.enqueue(body); c.error(new TypeError('connection reset')); } }), { status: res.status, headers: res.headers });
    };
    await expect(downloadModel(REPO, urlFor, { cache: memoryCache(), partBytes: part, fetch: dropping }))
      .rejects.toThrow(new RegExp(`model\\.safetensors: bytes 0-${part - 1} broke off 4 times \\(last: connection reset\\)`));

    // 2. A download stopped altogether keeps its finished parts: the next one fetches only the rest.
    const cache = memoryCache();
    const failOn = 3;
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      const r = new Headers(init?.headers).get('range') ?? '';
      if (String(input).endsWith('model.safetensors') && r.startsWith(`bytes=${failOn * part}-`) && calls++ === 0) throw new TypeError('network down');
      return fetch(input, init);
    };
    await expect(downloadModel(REPO, urlFor, { cache, partBytes: part, fetch: flaky })).rejects.toThrow(/network down/);
    const partsCached = cache.keys().filter((k) => k.includes('model.safetensors#part-')).length;
    expect(partsCached).toBe(failOn);

    start = log.length;
    const files = await downloadModel(REPO, urlFor, { cache, partBytes: part, onProgress: (p) => progress.push(p) });
    const weightRequests = log.slice(start).filter((l) => l.path.endsWith('model.safetensors'));
    expect(weightRequests.map((l) => l.range)).toEqual(
      Array.from({ length: Math.ceil(weights.length / part) - failOn }, (_, i) => `bytes=${(failOn + i) * part}-${Math.min(weights.length, (failOn + i + 1) * part) - 1}`),
    );
    expect(weightRequests.reduce((n, l) => n + l.bytes, 0)).toBe(weights.length - failOn * part);
    // The JSON files finished in the stopped try and come from the cache.
    expect(log.slice(start).filter((l) => l.path.endsWith('.json'))).toEqual([]);
    for (const [name, bytes] of src) expect(Buffer.from(await files.read(name)).equals(Buffer.from(bytes)), name).toBe(true);
    expect(cache.keys().filter((k) => k.includes('#part') || k.includes('#size'))).toEqual([]); // parts were folded into the whole file
    const last = progress.at(-1)!;
    expect(last.loaded).toBe(last.total);
    const m = await loadHfModel(files);
    expect(m.config.numLayers).toBe(2);

    // 3. Offline: the second open makes no request at all.
    start = log.length;
    const again = await downloadModel(REPO, urlFor, { cache, partBytes: part, fetch: async () => { throw new Error('offline'); } });
    expect(log.length).toBe(start);
    expect(Buffer.from(await again.read('model.safetensors')).equals(Buffer.from(weights))).toBe(true);
  });

  it('follows a sharded index, and names the file when a required one is missing', async () => {
    const src = repos.get(SHARDED)!;
    expect(src.has('model.safetensors.index.json')).toBe(true);
    const files = await downloadModel(SHARDED, hubUrlFor(SHARDED, 'main', endpoint), { cache: memoryCache(), partBytes: 8192 });
    expect(files.list().sort()).toEqual([...src.keys()].filter((k) => k !== 'generation_config.json' || src.has(k)).sort());
    expect((await loadHfModel(files)).config.numLayers).toBe(2);
    await expect(downloadModel('tiny-org/missing', hubUrlFor('tiny-org/missing', 'main', endpoint), { cache: memoryCache() }))
      .rejects.toThrow(/tiny-org\/missing\/resolve\/main\/config\.json: HTTP 404/);
    expect(() => hubUrlFor('not a repo id')).toThrow(/not a repository id/);
  });

  it('treats an HTML page in place of a file as missing (single-page-app servers answer 200 with index.html)', async () => {
    const files = await downloadModel(REPO, hubUrlFor(REPO, 'main', `${endpoint}/spa`), { cache: memoryCache() });
    expect(files.list()).not.toContain('model.safetensors.index.json'); // optional: absent, not HTML bytes
    expect((await loadHfModel(files)).config.numLayers).toBe(2);
    await expect(downloadModel('x', hubUrlFor('tiny-org/none', 'main', `${endpoint}/spa`), { cache: memoryCache() })).rejects.toThrow(/config\.json: not found \(the server sent an HTML page\)/);
  });

  it('works with a server that ignores Range (one 200 response per file)', async () => {
    honourRange = false;
    try {
      const files = await downloadModel(REPO, hubUrlFor(REPO, 'main', endpoint), { cache: memoryCache(), partBytes: 4096 });
      expect(Buffer.from(await files.read('model.safetensors')).equals(Buffer.from(repos.get(REPO)!.get('model.safetensors')!))).toBe(true);
    } finally { honourRange = true; }
  });
});
