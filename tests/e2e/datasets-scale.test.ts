// Scale: a 100k-row JSONL file (~25 MB) imported through the page: every row arrives, the import shows progress,
// the page keeps painting while it imports and saves (no gap between animation frames over MAX_FRAME_GAP_MS), the
// table keeps only a window of rows in the DOM, scrolling to the end reaches the last row, search still works, the
// data survives a reload, and duplicates are found among the 100k (every thousandth row repeats the one before it).
// It prints the measured figures (import time, longest frame gap and main-thread stall, scroll frame times, the
// longest task while duplicates are found) for the report.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startApp, type RunningApp } from './helpers/app';

const N = 100_000;
/**
 * The longest a frame may wait while 100k rows are imported and saved: a bound a responsive page meets with margin on
 * this slow, shared machine and a page that does the import's work in one task does not. Measured (SwiftShader
 * machine, 2 shared cores): 0.47 s quiet, long tasks up to ~1.1 s under heavy load; the same import parsed, checked
 * and landed on the page in one task (the data tools in the page, facts and rows at once): 2.2 s quiet.
 */
const MAX_FRAME_GAP_MS = 1500;
let app: RunningApp;
let page: Page;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scale-'));
  const lines: string[] = [];
  for (let row = 0; row < N; row++) {
    const i = row % 1000 === 500 ? row - 1 : row; // N / 1000 exact duplicates
    lines.push(JSON.stringify({
      instruction: `Question number ${i}: what is ${i} plus ${i % 97}? Explain the steps of the addition briefly.`,
      input: i % 3 === 0 ? `Context for row ${i}.` : '',
      output: `The answer is ${i + (i % 97)}. Adding ${i % 97} to ${i} gives ${i + (i % 97)}, done step by step for row ${i}.`,
    }));
  }
  writeFileSync(join(dir, 'big.jsonl'), lines.join('\n') + '\n');
  app = await startApp();
  page = await app.newPage();
}, 120_000);

afterAll(async () => { await app?.close(); rmSync(dir, { recursive: true, force: true }); });

const status = () => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status');
const table = () => page.getByRole('region', { name: 'Examples table' });

describe('100k rows', () => {
  it('imports with progress, keeps the page responsive, and virtualises the table', async () => {
    // Watch the main thread: the longest gap between animation frames during the import, and the long
    // tasks (over 50 ms) Chromium reports.
    await page.evaluate(() => {
      const w = window as unknown as { __gaps: number[]; __sawProgress: boolean; __long: number[] };
      w.__gaps = []; w.__sawProgress = false; w.__long = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__long.push(e.duration); }).observe({ type: 'longtask' });
      let last = performance.now();
      const tick = (t: number) => {
        w.__gaps.push(t - last); last = t;
        if (document.querySelector('[role=progressbar]')) w.__sawProgress = true;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const t0 = Date.now();
    await page.getByLabel('Choose files to import').setInputFiles(join(dir, 'big.jsonl'));
    await expect.poll(() => status().textContent(), { timeout: 90_000, interval: 250 }).toBe(`${N} examples`);
    const importMs = Date.now() - t0;
    // Watch on until the first save is done too: it runs on the page as the rows land.
    const i0 = Date.now();
    await expect.poll(() => page.getByText(/^Saved \(version \d+\)$/).count(), { timeout: 90_000, interval: 250 }).toBe(1);
    const saveMs = Date.now() - i0;
    const { maxGap, sawProgress, longest, longTotal, longCount } = await page.evaluate(() => {
      const w = window as unknown as { __gaps: number[]; __sawProgress: boolean; __long: number[] };
      return {
        maxGap: Math.max(...w.__gaps), sawProgress: w.__sawProgress,
        longest: Math.max(0, ...w.__long), longTotal: w.__long.reduce((a, b) => a + b, 0), longCount: w.__long.length,
      };
    });
    expect(sawProgress).toBe(true);
    expect(maxGap, 'the longest gap between two painted frames during the import and its first save').toBeLessThan(MAX_FRAME_GAP_MS);
    const domRows = await table().getByRole('row').count();
    expect(domRows).toBeLessThan(100);

    // Scroll through: frame times while scrolling by wheel, then jump to the end.
    const frames = await page.evaluate(async () => {
      const el = document.querySelector('[aria-label="Examples table"]') as HTMLElement;
      const times: number[] = [];
      let last = performance.now();
      for (let k = 0; k < 60; k++) {
        el.scrollTop += 400;
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now(); times.push(now - last); last = now;
      }
      times.sort((a, b) => a - b);
      return { median: times[30], p95: times[57], max: times[59] };
    });
    await table().evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await expect.poll(() => table().getByRole('cell', { name: `big.jsonl:${N}`, exact: true }).count()).toBe(1);

    const s0 = Date.now();
    await page.getByRole('search').getByLabel('Search').fill('question number 99999:');
    await expect.poll(() => status().textContent(), { timeout: 20_000 }).toBe(`1 of ${N} examples shown`);
    const searchMs = Date.now() - s0;
    await page.getByRole('search').getByLabel('Search').fill('');

    // The reload lands the 100k rows again (from IndexedDB): its long tasks are watched from the start.
    await page.addInitScript(() => {
      const w = window as unknown as { __long: number[] };
      w.__long = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__long.push(e.duration); }).observe({ type: 'longtask' });
    });
    const r0 = Date.now();
    await page.reload();
    await expect.poll(() => status().textContent(), { timeout: 60_000 }).toBe(`${N} examples`);
    const reloadMs = Date.now() - r0;
    // The quality counts and the first paint after the rows: two painted frames.
    await page.evaluate(() => new Promise((painted) => requestAnimationFrame(() => requestAnimationFrame(painted))));
    const reloadLongest = await page.evaluate(() => Math.max(0, ...(window as unknown as { __long: number[] }).__long));
    console.log(`[scale] ${N} rows: import ${importMs} ms, longest frame gap during import and first save ${maxGap.toFixed(0)} ms, ` +
      `long tasks ${longCount} (longest ${longest.toFixed(0)} ms, total ${longTotal.toFixed(0)} ms), ` +
      `DOM rows ${domRows}, scroll frames median ${frames.median.toFixed(1)} / p95 ${frames.p95.toFixed(1)} / max ${frames.max.toFixed(1)} ms, ` +
      `search ${searchMs} ms, first save ${saveMs} ms after the rows appeared, reload to table ${reloadMs} ms (longest task ${reloadLongest.toFixed(0)} ms)`);
    expect(app.errors).toEqual([]);
  });

  it('finds the duplicates among 100k rows with the page still running', async () => {
    // The long-task observer installed before the reload still pushes to window.__long: start it afresh.
    await page.evaluate(() => { (window as unknown as { __long: number[] }).__long = []; });
    const d0 = Date.now();
    const panel = page.getByRole('region', { name: 'Duplicates' });
    await panel.getByRole('button', { name: 'Find duplicates' }).click();
    await expect.poll(() => panel.getByRole('status').count(), { timeout: 120_000, interval: 250 }).toBe(1);
    const dedupeMs = Date.now() - d0;
    await expect.poll(() => panel.getByRole('status').textContent()).toBe(`${N / 1000} duplicate groups, ${N / 1000} extra examples.`);
    const longest = await page.evaluate(() => Math.max(0, ...(window as unknown as { __long: number[] }).__long));
    console.log(`[scale] duplicates among ${N} rows: ${dedupeMs} ms to the groups, longest main-thread task ${longest.toFixed(0)} ms`);
    expect(app.errors).toEqual([]);
  });
});
