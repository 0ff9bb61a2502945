// A local STAND-IN for the Hugging Face Hub, for tests: no test reaches the real Hub. It answers the endpoints
// that @huggingface/hub and src/io/download.ts really call, the way the Hub answers them (read from the client's
// source, @huggingface/hub 2.17: lib/dataset-info.ts, list-files.ts, create-repo.ts, commit.ts):
//   GET  /api/datasets/{id}/revision/{rev}?expand=...           dataset info with cardData (the card's YAML)
//   GET  /api/{models|datasets}/{id}/tree/{rev}?recursive=true   the files, `pageSize` a page, Link: <…>; rel="next"
//   GET  [/datasets]/{id}/resolve/{rev}/{path}                   the bytes; LFS files (weights, Parquet) by a 302 to
//                                                               /cdn/…; Range → 206 + Content-Range; `dropOnce`
//                                                               breaks the first response for a path off midway,
//                                                               `trickle` sends a path's bytes in timed pieces
//   POST /api/repos/create                                       {name, organization, type} → {url, id}; 409 if it exists
//   POST /api/{models|datasets}/{id}/preupload/{branch}          {files: [{path, size, sample}]} → uploadMode lfs|regular
//   POST /[datasets/]{id}.git/info/lfs/objects/batch             LFS batch: basic PUT, or multipart (chunk_size + part
//                                                               URLs + completion) above `multipartAbove` bytes
//   PUT  /lfs/{oid}, /lfs/{oid}/{part}; POST /lfs/{oid}/complete the object store (parts answer an ETag)
//   POST /api/{models|datasets}/{id}/commit/{branch}             NDJSON: header, file (base64), lfsFile (oid) → commitOid
// Every answer carries CORS headers, as the Hub's do, so a page on another origin can call it (preflights are
// answered and not logged). Writes need `Authorization: Bearer <token>` with a token in `tokens`: none or an unknown one → 401, a read token
// → 403, as the Hub does. Every request is logged (method, path, range, status, whether it carried a token).
// It is not the Hub: one branch per repository, revisions are names, no auth on reads, no xet transfers (the
// client is told "basic", as for a git-lfs client).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinRepo {
  files: Map<string, Uint8Array>;
  /** cardData as the Hub's API gives it (the README's YAML front matter). */
  card?: Record<string, unknown>;
  /** A gated repository: listed to anyone, its files refused (401) to a request without a token. */
  gated?: 'auto' | 'manual';
}

export interface StandinLog {
  method: string;
  path: string;
  range: string | null;
  status: number;
  /** The bytes of a response body sent before it ended or was broken off. */
  sent: number;
  token: boolean;
}

export interface HubStandin {
  endpoint: string;
  /** `${type}/${id}` → repository: datasets/owner/name, models/owner/name. */
  repos: Map<string, StandinRepo>;
  /** token → may it write. */
  tokens: Map<string, 'write' | 'read'>;
  log: StandinLog[];
  /** Paths (within a repository) whose next download is broken off after this many bytes, once. */
  dropOnce: Map<string, number>;
  /** Paths (within a repository) whose bytes are sent in `pieces` writes `ms` apart, so a progress bar can be watched. */
  trickle: Map<string, { pieces: number; ms: number }>;
  /** Tree pages of this many entries (the Hub's are 1000). */
  pageSize: number;
  /** LFS objects above this size are uploaded in parts of `partBytes`. */
  multipartAbove: number;
  partBytes: number;
  close(): Promise<void>;
}

const LFS = /\.(safetensors|gguf|bin|parquet|onnx|zip)$/;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function body(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

export async function startHubStandin(opts: Partial<Pick<HubStandin, 'pageSize' | 'multipartAbove' | 'partBytes'>> = {}): Promise<HubStandin> {
  const repos = new Map<string, StandinRepo>();
  const tokens = new Map<string, 'write' | 'read'>();
  const log: StandinLog[] = [];
  const dropOnce = new Map<string, number>();
  const trickle = new Map<string, { pieces: number; ms: number }>();
  const objects = new Map<string, Uint8Array>();
  const parts = new Map<string, Map<number, Uint8Array>>();
  let commits = 0;
  const hub: HubStandin = {
    endpoint: '', repos, tokens, log, dropOnce, trickle,
    pageSize: opts.pageSize ?? 1000, multipartAbove: opts.multipartAbove ?? 5 * 2 ** 30, partBytes: opts.partBytes ?? 2 ** 20,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, entry: StandinLog): Promise<void> => {
    const url = new URL(req.url ?? '/', hub.endpoint);
    const path = decodeURIComponent(url.pathname);
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
    };
    const canWrite = (namespace: string): boolean => {
      const right = auth ? tokens.get(auth) : undefined;
      if (right === undefined) { json(401, { error: 'Invalid credentials in Authorization header' }); return false; }
      if (right !== 'write') { json(403, { error: `You don't have the rights to create a repository under the namespace "${namespace}"` }); return false; }
      return true;
    };
    const repoOf = (type: string, id: string) => repos.get(`${type}/${id}`);

    let m: RegExpExecArray | null;
    if (req.method === 'GET' && (m = /^\/api\/datasets\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path))) {
      const repo = repoOf('datasets', m[1]);
      if (!repo) return json(404, { error: 'Repository not found' });
      return json(200, {
        _id: `standin-${m[1]}`, id: m[1], private: false, gated: repo.gated ?? false, downloads: 0, likes: 0,
        lastModified: '2026-12-07T00:00:00.000Z', sha: 'standin', ...(repo.card ? { cardData: repo.card } : {}),
      });
    }
    if (req.method === 'GET' && (m = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(path))) {
      const repo = repoOf(m[1], m[2]);
      if (!repo) return json(404, { error: 'Repository not found' });
      const prefix = m[4] ? `${m[4]}/` : '';
      const recursive = url.searchParams.get('recursive') === 'true';
      const entries = new Map<string, unknown>();
      for (const [p, bytes] of [...repo.files].sort(([a], [b]) => a.localeCompare(b))) {
        if (!p.startsWith(prefix)) continue;
        const rest = p.slice(prefix.length).split('/');
        // The Hub lists each folder on the way as its own entry.
        for (let d = 1; d < rest.length && (recursive || d === 1); d++) {
          const dir = prefix + rest.slice(0, d).join('/');
          entries.set(dir, { type: 'directory', oid: sha256(new TextEncoder().encode(dir)).slice(0, 40), size: 0, path: dir });
        }
        if (!recursive && rest.length > 1) continue;
        const lfs = LFS.test(p) ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {};
        entries.set(p, { type: 'file', oid: sha256(bytes).slice(0, 40), size: bytes.length, path: p, ...lfs });
      }
      const all = [...entries.values()];
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = all.slice(cursor, cursor + hub.pageSize);
      const next = cursor + hub.pageSize < all.length ? new URL(url) : null;
      next?.searchParams.set('cursor', String(cursor + hub.pageSize));
      return json(200, page, next ? { link: `<${next.href}>; rel="next"` } : {});
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && (m = /^\/(?:(datasets)\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path))) {
      const type = m[1] ?? 'models';
      if (repoOf(type, m[2])?.gated && !auth) return json(401, { error: `Access to ${type.slice(0, -1)} ${m[2]} is restricted. You must have access to it and be authenticated to access it. Please log in.` });
      const bytes = repoOf(type, m[2])?.files.get(m[4]);
      if (!bytes) { entry.status = 404; res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found'); return; }
      // The Hub answers for LFS files with a redirect to its CDN.
      if (LFS.test(m[4])) { entry.status = 302; res.writeHead(302, { location: `/cdn/${type}/${m[2]}/${m[4]}` }).end(); return; }
      return sendBytes(req, res, entry, bytes, m[4]);
    }
    if (req.method === 'GET' && (m = /^\/cdn\/(models|datasets)\/([^/]+\/[^/]+)\/(.+)$/.exec(path))) {
      const bytes = repoOf(m[1], m[2])?.files.get(m[3]);
      if (!bytes) { entry.status = 404; res.writeHead(404).end(); return; }
      return sendBytes(req, res, entry, bytes, m[3]);
    }
    if (req.method === 'POST' && path === '/api/repos/create') {
      const b = JSON.parse(new TextDecoder().decode(await body(req))) as { name: string; organization: string; type: string };
      if (!canWrite(b.organization)) return;
      const key = `${b.type}s/${b.organization}/${b.name}`;
      if (repos.has(key)) return json(409, { error: 'You already created this model repo', url: `${hub.endpoint}/${b.organization}/${b.name}` });
      repos.set(key, { files: new Map() });
      return json(200, { url: `${hub.endpoint}/${b.type === 'model' ? '' : `${b.type}s/`}${b.organization}/${b.name}`, id: `standin-${key}` });
    }
    if (req.method === 'POST' && (m = /^\/api\/(models|datasets)\/([^/]+)\/([^/]+)\/preupload\/([^/]+)$/.exec(path))) {
      if (!canWrite(m[2])) return;
      if (!repoOf(m[1], `${m[2]}/${m[3]}`)) return json(404, { error: 'Repository not found' });
      const b = JSON.parse(new TextDecoder().decode(await body(req))) as { files: { path: string; size: number }[] };
      return json(200, { files: b.files.map((f) => ({ path: f.path, uploadMode: LFS.test(f.path) || f.size > 10 * 2 ** 20 ? 'lfs' : 'regular', shouldIgnore: false })) });
    }
    if (req.method === 'POST' && (m = /^\/(?:datasets\/)?([^/]+)\/([^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path))) {
      if (!canWrite(m[1])) return;
      const b = JSON.parse(new TextDecoder().decode(await body(req))) as { transfers: string[]; objects: { oid: string; size: number }[] };
      return json(200, {
        transfer: 'basic',
        objects: b.objects.map((o) => {
          if (objects.has(o.oid)) return { oid: o.oid, size: o.size };
          if (o.size <= hub.multipartAbove || !b.transfers.includes('multipart')) return { oid: o.oid, size: o.size, authenticated: true, actions: { upload: { href: `${hub.endpoint}/lfs/${o.oid}` } } };
          const count = Math.ceil(o.size / hub.partBytes);
          const header: Record<string, string> = { chunk_size: String(hub.partBytes) };
          for (let i = 1; i <= count; i++) header[String(i).padStart(5, '0')] = `${hub.endpoint}/lfs/${o.oid}/${i}`;
          return { oid: o.oid, size: o.size, authenticated: true, actions: { upload: { href: `${hub.endpoint}/lfs/${o.oid}/complete`, header } } };
        }),
      }, { 'content-type': 'application/vnd.git-lfs+json' });
    }
    if (req.method === 'PUT' && (m = /^\/lfs\/([0-9a-f]{64})(?:\/(\d+))?$/.exec(path))) {
      const bytes = await body(req);
      // Answered as S3 answers a PUT: an ETag and a Content-Length. (The browser client rebuilds the XHR's response
      // from the headers CORS lets it read, and a response with none of them never settles its upload.)
      const stored = { etag: `"${sha256(bytes).slice(0, 32)}"`, 'content-length': '0' };
      if (m[2] === undefined) {
        if (sha256(bytes) !== m[1]) return json(400, { error: 'sha256 does not match the object id' });
        objects.set(m[1], bytes);
        entry.status = 200; res.writeHead(200, stored).end(); return;
      }
      const got = parts.get(m[1]) ?? new Map<number, Uint8Array>();
      got.set(Number(m[2]), bytes);
      parts.set(m[1], got);
      entry.status = 200; res.writeHead(200, stored).end(); return;
    }
    if (req.method === 'POST' && (m = /^\/lfs\/([0-9a-f]{64})\/complete$/.exec(path))) {
      const b = JSON.parse(new TextDecoder().decode(await body(req))) as { oid: string; parts: { partNumber: number; etag: string }[] };
      const got = parts.get(m[1]);
      const chunks = b.parts.map((p) => got?.get(p.partNumber));
      if (!got || chunks.some((c, i) => !c || b.parts[i].etag !== `"${sha256(c).slice(0, 32)}"`)) return json(400, { error: 'missing or mismatched parts' });
      const whole = new Uint8Array(Buffer.concat(chunks as Uint8Array[]));
      if (sha256(whole) !== m[1]) return json(400, { error: 'sha256 does not match the object id' });
      objects.set(m[1], whole);
      return json(200, {});
    }
    if (req.method === 'POST' && (m = /^\/api\/(models|datasets)\/([^/]+)\/([^/]+)\/commit\/([^/]+)$/.exec(path))) {
      if (!canWrite(m[2])) return;
      const repo = repoOf(m[1], `${m[2]}/${m[3]}`);
      if (!repo) return json(404, { error: 'Repository not found' });
      const lines = new TextDecoder().decode(await body(req)).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
      const staged = new Map<string, Uint8Array>();
      for (const { key, value } of lines) {
        if (key === 'file') staged.set(value.path as string, new Uint8Array(Buffer.from(value.content as string, 'base64')));
        else if (key === 'lfsFile') {
          const bytes = objects.get(value.oid as string);
          if (!bytes || bytes.length !== value.size) return json(422, { error: `LFS object ${value.oid as string} for ${value.path as string} was not uploaded` });
          staged.set(value.path as string, bytes);
        } else if (key !== 'header') return json(400, { error: `unknown operation ${key}` });
      }
      for (const [p, b] of staged) repo.files.set(p, b);
      const oid = sha256(new TextEncoder().encode(`commit ${++commits}`)).slice(0, 40);
      return json(200, { commitOid: oid, commitUrl: `${hub.endpoint}/${m[2]}/${m[3]}/commit/${oid}`, hookOutput: '' });
    }
    entry.status = 404;
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`stand-in: no route for ${req.method} ${path}`);
  };

  /** The bytes (or the Range asked for), broken off midway once when the path is in dropOnce, in pieces when in trickle. */
  const sendBytes = (req: IncomingMessage, res: ServerResponse, entry: StandinLog, bytes: Uint8Array, file: string): void => {
    const r = req.headers.range ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range) : null;
    const start = r ? Number(r[1]) : 0;
    const end = r && r[2] ? Math.min(Number(r[2]), bytes.length - 1) : bytes.length - 1;
    const slice = bytes.subarray(start, end + 1);
    entry.status = r ? 206 : 200;
    res.writeHead(entry.status, {
      'content-type': 'application/octet-stream', 'content-length': String(slice.length), 'accept-ranges': 'bytes',
      ...(r ? { 'content-range': `bytes ${start}-${end}/${bytes.length}` } : {}),
    });
    if (req.method === 'HEAD') { res.end(); return; }
    const drop = dropOnce.get(file);
    dropOnce.delete(file);
    const cut = drop === undefined ? slice.length : Math.min(drop, slice.length - 1);
    const { pieces, ms } = trickle.get(file) ?? { pieces: 1, ms: 0 };
    const step = Math.max(1, Math.ceil(slice.length / pieces));
    const next = (): void => {
      const n = Math.min(step, cut - entry.sent);
      const last = entry.sent + n >= cut;
      const piece = slice.subarray(entry.sent, entry.sent + n);
      entry.sent += n;
      if (!last) { res.write(piece, () => setTimeout(next, ms)); return; }
      // Broken off: the bytes so far, then the connection closed with Content-Length unmet.
      if (drop !== undefined) res.write(piece, () => setTimeout(() => res.destroy(), 20));
      else res.end(piece);
    };
    next();
  };

  const server: Server = createServer((req, res) => {
    // Pages on another origin (the studio's) may call it, as they may call the Hub: the headers the client reads
    // (Link for the tree's pages, Content-Range for resumes, ETag for LFS parts) exposed, preflights answered.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'Link, Content-Range, Accept-Ranges, Content-Length, ETag, X-Error-Code, X-Error-Message');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, HEAD, POST, PUT',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
        'access-control-max-age': '600',
      }).end();
      return;
    }
    const entry: StandinLog = {
      method: req.method ?? '', path: decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname), range: req.headers.range ?? null,
      status: 0, sent: 0, token: req.headers.authorization !== undefined,
    };
    log.push(entry);
    handle(req, res, entry).catch((e: unknown) => { entry.status = 500; res.writeHead(500).end(String(e)); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hub.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return hub;
}
