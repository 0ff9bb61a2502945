// `npm run ui-report`: what a first visit costs. Builds the app as users get it, then prints one JSON object:
// the initial JavaScript (the entry script plus the modules index.html preloads) and CSS, raw and gzipped, against
// the budget below; and the time to first screen in headless Chromium, median of RUNS cold loads from a local
// server: first contentful paint and the moment the studio's step navigation is on screen. Exits 1 when the
// initial JavaScript is over budget. Workers, WASM and the model load later and are not counted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { buildApp, CHROMIUM_ARGS, serveStatic } from '../tests/e2e/helpers/app';

/** Initial JavaScript, gzipped: what must download before the first screen (React, Radix, the shell, the pages). */
const BUDGET_INITIAL_JS_GZIP = 256 * 1024;
const RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dist = await buildApp();
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const refs = (re: RegExp) => [...html.matchAll(re)].map((m) => m[1]);
const js = [...refs(/<script[^>]*type="module"[^>]*src="([^"]+)"/g), ...refs(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)];
const css = refs(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g);
const sizes = (files: string[]) => {
  const bytes = files.map((f) => readFileSync(join(dist, f.replace(/^\//, ''))));
  return { files, bytes: bytes.reduce((s, b) => s + b.length, 0), gzipBytes: bytes.reduce((s, b) => s + gzipSync(b, { level: 9 }).length, 0) };
};
const initialJs = sizes(js);
const initialCss = sizes(css);

const { url, server } = await serveStatic(dist);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
const fcp: number[] = [];
const shell: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${url}?first-run=off`);
  await page.waitForSelector('[role="tablist"][aria-label="Studio steps"]');
  shell.push(await page.evaluate(() => performance.now()));
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0);
  fcp.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0].startTime));
  await context.close();
}
await browser.close();
server.close();

const report = {
  initialJs, initialCss,
  budget: { initialJsGzipBytes: BUDGET_INITIAL_JS_GZIP, withinBudget: initialJs.gzipBytes <= BUDGET_INITIAL_JS_GZIP },
  firstScreen: { runs: RUNS, firstContentfulPaintMs: Math.round(median(fcp)), stepNavigationOnScreenMs: Math.round(median(shell)), note: 'local server, headless Chromium, this machine' },
};
console.log(JSON.stringify(report, null, 2));
process.exit(report.budget.withinBudget ? 0 : 1);
