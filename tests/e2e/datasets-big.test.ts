// The size: a 200 MB JSONL import (100k rows of ~2 KB) dropped on the built app. It checks that
// every row arrives, that progress was shown and that the rows are stored (they survive a reload), and
// prints the figures for the report (import time, the longest main-thread task while the rows land and
// are saved, time to the first saved version); it asserts no time.
// Off by default: about 40 s on this 2-core machine, more than the suite's budget for one file, and a
// 200 MB file on disk; STUDIO_BIG=1 turns it on.
// The file is written to a temporary folder on each run, never committed.
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startApp, type RunningApp } from './helpers/app';

const N = 100_000;
const WORDS = 'the model learns from each example what a helpful answer looks like and how long it should be'.split(' ');

describe.skipIf(!process.env.STUDIO_BIG)('a 200 MB import (STUDIO_BIG=1)', () => {
  let app: RunningApp;
  let page: Page;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'big-'));
    file = join(dir, 'huge.jsonl');
    const fd = openSync(file, 'w');
    for (let start = 0; start < N; start += 1000) {
      const lines: string[] = [];
      for (let i = start; i < start + 1000; i++) {
        const answer = Array.from({ length: 380 }, (_, k) => WORDS[(i * 7 + k * 13) % WORDS.length]).join(' ');
        lines.push(JSON.stringify({ instruction: `Row ${i}: explain, at length, what example ${i} teaches.`, input: '', output: `Row ${i}. ${answer}` }));
      }
      writeSync(fd, lines.join('\n') + '\n');
    }
    closeSync(fd);
    app = await startApp();
    page = await app.newPage();
  }, 300_000);

  afterAll(async () => { await app?.close(); if (dir) rmSync(dir, { recursive: true, force: true }); });

  const status = () => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status');

  it('lands every row with progress shown, and keeps them over a reload', async () => {
    const mb = statSync(file).size / 2 ** 20;
    await page.evaluate(() => {
      const w = window as unknown as { __sawProgress: boolean; __long: number[] };
      w.__sawProgress = false; w.__long = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__long.push(e.duration); }).observe({ type: 'longtask' });
      const tick = () => {
        if (document.querySelector('[role=progressbar]')) w.__sawProgress = true;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const t0 = Date.now();
    await page.getByLabel('Choose files to import').setInputFiles(file);
    await expect.poll(() => status().textContent(), { timeout: 600_000, interval: 500 }).toBe(`${N} examples`);
    const importMs = Date.now() - t0;
    const s0 = Date.now();
    await expect.poll(() => page.getByText(/^Saved \(version \d+\)$/).count(), { timeout: 600_000, interval: 500 }).toBe(1);
    const saveMs = Date.now() - s0;
    const { sawProgress, longest, longCount } = await page.evaluate(() => {
      const w = window as unknown as { __sawProgress: boolean; __long: number[] };
      return { sawProgress: w.__sawProgress, longest: Math.max(0, ...w.__long), longCount: w.__long.length };
    });
    expect(sawProgress).toBe(true);

    await page.reload();
    await expect.poll(() => status().textContent(), { timeout: 600_000, interval: 500 }).toBe(`${N} examples`);
    await page.getByRole('search').getByLabel('Search').fill(`row ${N - 1}: explain`);
    await expect.poll(() => status().textContent(), { timeout: 60_000 }).toBe(`1 of ${N} examples shown`);
    console.log(`[big] ${mb.toFixed(0)} MB, ${N} rows: import ${importMs} ms to all rows shown, first version saved ${saveMs} ms later, ` +
      `long tasks ${longCount} (longest ${longest.toFixed(0)} ms) through import and save`);
    expect(app.errors).toEqual([]);
  }, 900_000);
});
