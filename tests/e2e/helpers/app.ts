// End-to-end harness, reusable by every feature's e2e test: build the app once (vite's build API, to a
// temporary folder), serve it on 127.0.0.1 from a tiny static server on a free port (a secure context,
// so navigator.gpu and IndexedDB work), and drive Debian's Chromium through playwright-core with a fresh
// profile. One `startApp()` per test file; `close()` tears everything down.
//
//   const app = await startApp();
//   const page = await app.newPage();      // console errors and page errors are collected
//   ...
//   await app.close();
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.map': 'application/json', '.txt': 'text/plain; charset=utf-8',
};

const ROOT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');

/** Builds the app into a fresh temporary folder and returns its path. */
export async function buildApp(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'studio-e2e-dist-'));
  // vitest sets NODE_ENV=test, which would make Vite and the React plugin build React's development
  // bundle (jsxDEV, several times slower): build what users get.
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      root: ROOT, configFile: join(ROOT, 'vite.config.ts'), logLevel: 'warn', mode: 'production',
      build: { outDir, emptyOutDir: true, sourcemap: false },
    });
  } finally {
    process.env.NODE_ENV = env;
  }
  return outDir;
}

/** Serves dir on 127.0.0.1 at a free port; unknown paths get index.html (single-page app). */
export async function serveStatic(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      let file = normalize(join(dir, path));
      if (!file.startsWith(dir)) { res.writeHead(403).end(); return; }
      if (!(await stat(file).catch(() => null))?.isFile()) file = join(dir, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('server has no port');
  return { url: `http://127.0.0.1:${addr.port}/`, server };
}

export interface RunningApp {
  url: string;
  context: BrowserContext;
  /** A new page on the app's URL; errors on it are collected into `errors`. */
  newPage(): Promise<Page>;
  errors: string[];
  close(): Promise<void>;
}

/**
 * Builds (or reuses `dist`), serves, and launches Chromium with a fresh profile (and `args`, if given). Pages open
 * with `?first-run=off` (an empty studio) unless `firstRun` is set: then the built-in sample and model load.
 */
export async function startApp(opts: { dist?: string; firstRun?: boolean; args?: string[] } = {}): Promise<RunningApp> {
  const dist = opts.dist ?? await buildApp();
  const served = await serveStatic(dist);
  const server = served.server;
  const url = opts.firstRun ? served.url : `${served.url}?first-run=off`;
  const profile = await mkdtemp(join(tmpdir(), 'studio-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, ...opts.args ?? []], acceptDownloads: true,
  });
  const errors: string[] = [];
  return {
    url, context, errors,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
      await page.goto(url);
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      await new Promise((ok) => server.close(ok));
      await rm(profile, { recursive: true, force: true });
      if (!opts.dist) await rm(dist, { recursive: true, force: true });
    },
  };
}

/** Drops one file on the Data step's drop zone, as a user dragging it from the desktop. */
export async function dropFile(page: Page, name: string, text: string): Promise<void> {
  const dt = await page.evaluateHandle(([n, t]) => {
    const d = new DataTransfer();
    d.items.add(new File([t], n, { type: 'application/json' }));
    return d;
  }, [name, text] as const);
  await page.getByRole('region', { name: 'Drop files to import' }).dispatchEvent('drop', { dataTransfer: dt });
}
