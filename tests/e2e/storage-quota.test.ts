// A full disk in headless Chromium: the origin's quota made small with DevTools' Storage.overrideQuotaForOrigin (a CDP
// session kept open: the override ends with it), at each of the studio's four writes. Each refusal is a message that
// names the space the write needed and the space left, and what was stored before stays.
//
// How the override must be used for it to bind (measured here, Chromium 156):
//  - navigator.storage.estimate() does not show it: Chromium reports quota = usage + 10 GiB (kStaticStorageQuota). So
//    the studio's up-front checks pass and the write itself is refused; the message then says "less than that is
//    left". With that feature off (`--disable-features=StaticStorageQuota`, as Firefox and Safari behave) the estimate
//    is the real limit and the import is refused before a byte is written, naming both figures.
//  - IndexedDB caches the room it was last told for about 30 s: an override set just after a write is not enforced
//    until then (the 20,000 rows went through a 1 MiB quota that way: set after the studio had written, the
//    9.5 MB import landed in IndexedDB, counted in usage, unrefused). So the override is set before the page opens, or
//    the test waits out the cache. Cache Storage checks at once.
//
// 1. Import: 10 rows fit, 20,000 random rows (9.5 MB) do not: refused, and a reload shows the 10 rows.
// 2. The same import with the real estimate: refused up front with both figures, nothing written.
// 3. Checkpoint: a run paused at a checkpoint, the quota set just above what is stored (room for its run record, not
//    a checkpoint): resumed, its next checkpoint is refused, the run stops at the checkpoint it had; exports, which
//    write nothing to the origin (an adapter download, a dataset JSONL), still work; with room again the run resumes
//    from that checkpoint.
// 4. Model download: from a stand-in for the Hugging Face Hub (its URL layout, Range answered with 206), refused
//    when the cache cannot hold the weights; the model loaded before stays loaded, nothing of the refused file stays
//    cached, and with room the same download completes.
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CDPSession, Page } from 'playwright-core';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { storageBytes } from '../../src/storage/quota';
import { buildApp, dropFile, startApp, type RunningApp } from './helpers/app';
import { loadModelFiles, QA_JSONL, setRunFields, tinyModelFiles } from './helpers/train';

const MiB = 2 ** 20;
let dist = '';
beforeAll(async () => { dist = await buildApp(); }, 180_000);
afterAll(async () => { if (dist) await rm(dist, { recursive: true, force: true }); });

/** A fresh profile and a page whose origin's quota is `quota` bytes from its first write on (set before it opens). */
async function openWithQuota(quota: number | null, args: string[] = []): Promise<{ app: RunningApp; page: Page; cdp: CDPSession; origin: string }> {
  const app = await startApp({ dist, args });
  const page = await app.context.newPage();
  page.on('pageerror', (e) => app.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') app.errors.push(`console: ${m.text()}`); });
  const cdp = await app.context.newCDPSession(page);
  const origin = new URL(app.url).origin;
  if (quota !== null) await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: quota });
  await page.goto(app.url);
  return { app, page, cdp, origin };
}

const usage = async (cdp: CDPSession, origin: string) => (await cdp.send('Storage.getUsageAndQuota', { origin })).usage;
const alerts = (p: Page) => p.getByRole('alert').allTextContents();
const rowsShown = (p: Page) => p.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status').textContent();
const figure = '[\\d.]+ (bytes|kB|MB|GB)';

function randomRows(n: number): string {
  const rnd = (k: number) => { let s = ''; while (s.length < k) s += Math.random().toString(36).slice(2); return s.slice(0, k); };
  return Array.from({ length: n }, () => JSON.stringify({ messages: [{ role: 'user', content: rnd(200) }, { role: 'assistant', content: rnd(200) }] })).join('\n');
}
const SMALL = randomRows(10);
const BIG = randomRows(20_000);

describe('a full origin', () => {
  it('refuses an import the quota cannot hold, naming the need, and keeps the dataset as it was', async () => {
    const { app, page } = await openWithQuota(MiB);
    try {
      await dropFile(page, 'small.jsonl', SMALL);
      await expect.poll(() => rowsShown(page)).toBe('10 examples');
      await dropFile(page, 'random.jsonl', BIG);
      await expect.poll(() => alerts(page), { timeout: 60_000 }).toContainEqual(expect.stringMatching(
        new RegExp(`^Not enough browser storage: "import random\\.jsonl" needs about 19 MB, and less than that is left \\(the browser refused the write; the ${figure} it reports free is not its real limit\\)\\. Free space`)));
      expect(await rowsShown(page)).toBe('10 examples');
      await page.reload();
      await expect.poll(() => rowsShown(page)).toBe('10 examples');
      expect(await alerts(page)).toEqual([]);
      expect(app.errors).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('refuses it before writing when the browser reports its real limit', async () => {
    const { app, page, cdp, origin } = await openWithQuota(MiB, ['--disable-features=StaticStorageQuota']);
    try {
      await dropFile(page, 'small.jsonl', SMALL);
      await expect.poll(() => rowsShown(page)).toBe('10 examples');
      await expect.poll(async () => (await page.evaluate(() => navigator.storage.estimate())).quota).toBe(MiB);
      // The 10 rows' version save lands after they show (CI measured 22,862 bytes before it, 47,818 after).
      await expect.poll(() => page.getByText(/^Saved \(version \d+\)$/).count(), { timeout: 30_000 }).toBe(1);
      const before = await usage(cdp, origin);
      await dropFile(page, 'random.jsonl', BIG);
      await expect.poll(() => alerts(page), { timeout: 60_000 }).toContainEqual(expect.stringMatching(
        new RegExp(`^Not enough browser storage: "import random\\.jsonl" needs about 19 MB, and only ${figure} is left \\(${figure} used of 1 MB\\)\\. Free space`)));
      expect(await usage(cdp, origin)).toBe(before);
      expect(await rowsShown(page)).toBe('10 examples');
      expect(app.errors).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('stops a run whose checkpoint does not fit at the checkpoint it had; exports still work; with room it resumes', async () => {
    const { app, page, cdp, origin } = await openWithQuota(null);
    const runStatus = () => page.getByRole('status', { name: 'Run status' }).textContent();
    try {
      await dropFile(page, 'qa.jsonl', QA_JSONL);
      await expect.poll(() => rowsShown(page)).toBe('8 examples');
      await loadModelFiles(page, tinyModelFiles(6));
      await setRunFields(page, { 'Max steps': 20000, 'Batch size': 2, 'Max sequence length': 40, 'Checkpoint every N steps': 2, 'Evaluate every N steps': 0 });
      await page.getByRole('button', { name: 'Start training' }).click();
      await expect.poll(() => runStatus(), { timeout: 90_000 }).toMatch(/^Training — step [2-9]/);
      await page.getByRole('button', { name: 'Pause' }).click();
      await expect.poll(() => runStatus(), { timeout: 60_000 }).toMatch(/^Paused — step \d+ of 20000; last checkpoint at step \d+/);
      const kept = Number(/last checkpoint at step (\d+)/.exec((await runStatus())!)![1]);
      const checkpoint = await page.evaluate(() => new Promise<number>((ok, fail) => {
        const r = indexedDB.open('sft-studio-runs');
        r.onerror = () => fail(r.error);
        r.onsuccess = () => {
          const get = r.result.transaction('checkpoints').objectStore('checkpoints').getAll();
          get.onsuccess = () => { ok((get.result as { kind: string; bytes: Uint8Array }[]).find((c) => c.kind === 'last')!.bytes.byteLength); r.result.close(); };
        };
      }));
      expect(checkpoint).toBeGreaterThan(20_000);
      // Room for the run's record as it grows, not for another checkpoint; IndexedDB sees it once its 30 s cache ends.
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: (await usage(cdp, origin)) + Math.floor(checkpoint / 2) });
      await page.waitForTimeout(31_000);
      await page.getByRole('button', { name: 'Resume' }).click();
      await expect.poll(() => alerts(page), { timeout: 90_000 }).toContainEqual(expect.stringMatching(
        new RegExp(`^Not enough browser storage: saving the last checkpoint at step \\d+ needs about ${figure}, and less than that is left .*Free space`)));
      await expect.poll(() => runStatus()).toMatch(new RegExp(`^Interrupted — step \\d+ of 20000; last checkpoint at step ${kept}`));
      const row = page.getByRole('row', { name: /Run 1/ });
      await expect.poll(() => row.getByRole('cell').nth(2).textContent()).toMatch(/^interrupted \(Not enough browser storage: saving the last checkpoint/);

      // Exports write nothing to the origin: the run's adapter (from its stored checkpoint) and the dataset download.
      const usedBefore = await usage(cdp, origin);
      const [adapter] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download adapter of Run 1' }).click()]);
      const file = readFileSync((await adapter.path())!);
      expect(file.length).toBeGreaterThan(8);
      const header = JSON.parse(file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString()) as Record<string, unknown>;
      expect(Object.keys(header).some((k) => k.includes('lora_A'))).toBe(true);
      await page.getByRole('tab', { name: 'Data' }).click();
      const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('region', { name: 'Export' }).getByRole('button', { name: 'Export JSONL' }).click()]);
      expect(readFileSync((await jsonl.path())!, 'utf8').trim().split('\n')).toHaveLength(8);
      expect(await usage(cdp, origin)).toBe(usedBefore);

      // Room again: the run resumes from the checkpoint it kept.
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 2 ** 30 });
      await page.getByRole('tab', { name: 'Train' }).click();
      for (const x of await page.getByRole('button', { name: 'Dismiss message' }).all()) await x.click();
      await page.getByRole('button', { name: 'Resume Run 1' }).click();
      await expect.poll(async () => Number(/step (\d+) of/.exec((await runStatus()) ?? '')?.[1] ?? 0), { timeout: 90_000 }).toBeGreaterThan(kept + 2);
      expect(await alerts(page)).toEqual([]);
      await page.getByRole('button', { name: 'Cancel run' }).click();
      console.log(`storage-quota e2e: a checkpoint of ${checkpoint} bytes refused; the run kept its checkpoint at step ${kept} and resumed from it`);
      expect(app.errors).toEqual([]);
    } finally {
      await app.close();
    }
  }, 400_000);

  it('refuses a model download the cache cannot hold; the loaded model stays and nothing of it stays cached', async () => {
    const REPO = 'tiny-org/tiny-llama';
    const files = buildTinyModel('llama-small', 7);
    const weights = files.get('model.safetensors')!;
    // A stand-in for the Hugging Face Hub: {repo}/resolve/main/{file}, Range answered with 206 + Content-Range.
    const hub: Server = createServer((req, res) => {
      const m = /^\/([\w.-]+\/[\w.-]+)\/resolve\/main\/(.+)$/.exec(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      const body = m && m[1] === REPO ? files.get(m[2]) : undefined;
      const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'Range', 'access-control-expose-headers': 'Content-Range, Content-Length' };
      if (req.method === 'OPTIONS') { res.writeHead(204, cors).end(); return; }
      if (!body) { res.writeHead(404, cors).end('Entry not found'); return; }
      const r = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      const start = r ? Number(r[1]) : 0, end = r ? Math.min(Number(r[2]), body.length - 1) : body.length - 1;
      res.writeHead(r ? 206 : 200, { ...cors, 'content-type': 'application/octet-stream', 'content-length': String(end - start + 1), ...(r ? { 'content-range': `bytes ${start}-${end}/${body.length}` } : {}) });
      res.end(body.subarray(start, end + 1));
    });
    await new Promise<void>((ok) => hub.listen(0, '127.0.0.1', ok));
    const addr = hub.address();
    if (!addr || typeof addr === 'string') throw new Error('no port');
    // Room for the small files, not the weights.
    const { app, page, cdp, origin } = await openWithQuota(Math.floor(weights.length / 2));
    const modelStatus = () => page.locator('.model-status').textContent();
    const cached = () => page.evaluate(async () => (await (await caches.open('sft-studio-models')).keys()).map((r) => new URL(r.url).pathname.split('/').pop()).sort());
    try {
      await loadModelFiles(page, tinyModelFiles(8));
      await page.getByText('Load another model: a folder, files or a Hugging Face repository').click();
      await page.getByLabel('Hugging Face repository id').fill(REPO);
      await page.getByLabel('Hub endpoint').fill(`http://127.0.0.1:${addr.port}`);
      await page.getByRole('button', { name: 'Download and load' }).click();
      await expect.poll(() => alerts(page), { timeout: 60_000 }).toContainEqual(expect.stringMatching(
        new RegExp(`^Not enough browser storage: downloading model\\.safetensors needs about ${storageBytes(weights.length).replace('.', '\\.')}, and less than that is left .*Free space`)));
      expect(await modelStatus()).toMatch(/^Loaded: dropped model/);
      // The small files and the index remembered as absent stay cached (a retry needs them); nothing of the weights.
      expect((await cached()).filter((f) => f?.startsWith('model.safetensors'))).toEqual(['model.safetensors.index.json']);

      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 2 ** 30 });
      await page.getByRole('button', { name: 'Dismiss message' }).click();
      await page.getByRole('button', { name: 'Download and load' }).click();
      await expect.poll(modelStatus, { timeout: 60_000 }).toMatch(new RegExp(`^Loaded: ${REPO}`));
      expect(await cached()).toContain('model.safetensors');
      expect(app.errors).toEqual([]);
    } finally {
      await app.close();
      hub.closeAllConnections();
      await new Promise((ok) => hub.close(ok));
    }
  });
});
