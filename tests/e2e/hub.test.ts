// The Hub from the page, as a user meets it, in headless Chromium on the built app against the local Hub stand-in
// (tests/helpers/hub-standin.ts, a server in this process that answers the Hub's endpoints; no test reaches the Hub):
//  - Data step, "From the Hugging Face Hub": an unknown and a gated dataset are one line each; a generated dataset
//    (tests/helpers/hub-datasets.ts) is listed by name, its train split downloads with a progress bar (the stand-in
//    trickles the shards and breaks the second off midway: it resumes from the first missing byte) into the
//    browser's download cache, and imports as dropped files do (shape detected); the test split's cut line is listed
//    with its line and reason.
//  - Export tab, "Push to the Hugging Face Hub": a run trained on that data is pushed as its PEFT adapter. Without a
//    token and with one the Hub refuses (401) the push says so in one line, naming no token; with a write token the
//    repository then holds the files of the tab's own PEFT zip, byte for byte, and the page links to it. The token
//    travels in no request but the Hub endpoint's API calls (every request the browser made is checked, and the
//    stand-in's log), is in no localStorage key until "Remember on this device" (then one key, back after a reload),
//    never in IndexedDB, and "Forget token" clears it from both.
// Screens at 1400 and 390 px go to $STUDIO_SHOTS (default: a temporary folder) for review; axe-core runs on each.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_TOKEN_KEY } from '../../app/features/export/store';
import { TEST_FILE, TRAIN_SHARDS, WORLD_QA, worldQa } from '../helpers/hub-datasets';
import { startHubStandin, type HubStandin } from '../helpers/hub-standin';
import { axeProblems } from './helpers/axe';
import { startApp, type RunningApp } from './helpers/app';
import { seenPartWay } from './helpers/progress';
import { loadModelFiles, setRunFields, tinyModelFiles } from './helpers/train';

const SHOTS = process.env.STUDIO_SHOTS ?? mkdtempSync(join(tmpdir(), 'studio-hub-shots-'));
const WRITE = 'hf_standinWriteToken0123456789';
const REFUSED = 'hf_notKnownToTheHub0123456789';
const PUSHED = 'standin-user/world-qa-lora';
const dataset = worldQa();

let hub: HubStandin;
let app: RunningApp;
let page: Page;
/** Every request the browser made (page and workers), with what it carried. */
const requests: { url: string; headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  hub = await startHubStandin();
  hub.repos.set(`datasets/${WORLD_QA}`, { files: dataset.files });
  hub.repos.set('datasets/standin-org/gated-qa', { files: dataset.files, gated: 'auto' });
  hub.tokens.set(WRITE, 'write');
  app = await startApp();
  app.context.on('request', (r: Request) => {
    const entry = { url: r.url(), headers: r.headers(), body: r.postDataBuffer()?.toString('latin1') ?? '' };
    requests.push(entry);
    void r.allHeaders().then((h) => { entry.headers = h; }, () => {});
  });
  page = await app.newPage();
}, 180_000);
afterAll(async () => {
  await app?.close();
  await hub?.close();
});

const tab = (name: string) => page.getByRole('tab', { name });
const alerts = () => page.getByRole('alert').locator('span').allTextContents();
const shoot = async (name: string) => {
  expect(await axeProblems(page), name).toEqual([]);
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
};

describe('the Hub from the page (local stand-in)', () => {
  it('imports a Hub dataset by name: listed, downloaded with progress and a resumed drop, cached, rows and refused rows shown', async () => {
    await tab('Data').click();
    await page.getByRole('button', { name: 'Import from the Hub' }).click();
    const repo = page.getByLabel('Hub dataset repository id');
    await page.getByLabel('Hub endpoint').fill(hub.endpoint);
    const list = async (spec: string) => {
      await repo.fill(spec);
      await page.getByRole('button', { name: 'List data files' }).click();
    };
    await list('standin-org/nothing-here');
    await expect.poll(alerts).toEqual(['standin-org/nothing-here: could not read the dataset at main: not found (or private or gated: this asks without a token)']);
    await page.getByRole('button', { name: 'Dismiss message' }).click();
    await list('standin-org/gated-qa');
    await expect.poll(alerts).toEqual(['standin-org/gated-qa is gated (its files need a signed-in account that accepted its conditions): the studio downloads public datasets only, without a token']);
    await page.getByRole('button', { name: 'Dismiss message' }).click();

    await list(WORLD_QA);
    const files = page.getByRole('list', { name: 'Data files of the split' }).getByRole('listitem');
    await expect.poll(() => files.allInnerTexts()).toEqual(TRAIN_SHARDS.map((p) => expect.stringContaining(p)));
    expect(await page.getByLabel('Hub dataset config').inputValue()).toBe('default');
    expect(await page.getByLabel('Hub dataset split').inputValue()).toBe('train');
    await page.getByRole('heading', { name: 'From the Hugging Face Hub' }).scrollIntoViewIfNeeded();
    await shoot('hub-data-1400');

    // The shards trickle in (a progress bar to watch); the second breaks off halfway once.
    for (const p of TRAIN_SHARDS) hub.trickle.set(p, { pieces: 8, ms: 150 });
    const cut = Math.floor(dataset.files.get(TRAIN_SHARDS[1])!.length / 2);
    hub.dropOnce.set(TRAIN_SHARDS[1], cut);
    await page.getByRole('button', { name: /^Download and import 2 files/ }).click();
    await seenPartWay(page.getByRole('progressbar', { name: /^Downloading standin-org\/world-qa\/data\/train-/ }));
    const examples = () => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status').textContent();
    await expect.poll(examples, { timeout: 30_000 }).toBe(`${dataset.train} examples`);
    const size = dataset.files.get(TRAIN_SHARDS[1])!.length;
    expect(hub.log.filter((l) => l.path === `/cdn/datasets/${WORLD_QA}/${TRAIN_SHARDS[1]}`).map((l) => [l.range, l.status, l.sent]))
      .toEqual([[`bytes=0-${16 * 2 ** 20 - 1}`, 206, cut], [`bytes=${cut}-${size - 1}`, 206, size - cut]]);
    const imported = page.getByRole('table', { name: 'Imported files' }).getByRole('row');
    expect((await imported.allInnerTexts()).slice(1).map((r) => r.split('\t').slice(0, 3))).toEqual(TRAIN_SHARDS.map((p) => [`${WORLD_QA}/${p}`, 'PARQUET', 'prompt / completion']));
    // Cached as model files are (the browser's Cache Storage, keyed by the file's URL).
    const cached = await page.evaluate(async () => (await (await caches.open('sft-studio-models')).keys()).map((r) => r.url));
    for (const p of TRAIN_SHARDS) expect(cached).toContain(`${hub.endpoint}/datasets/${WORLD_QA}/resolve/main/${p}`);

    // The test split into the same dataset: its cut-off line is refused with its line and reason.
    await page.getByLabel('Hub dataset split').selectOption('test');
    await expect.poll(() => files.allInnerTexts()).toEqual([expect.stringContaining(TEST_FILE)]);
    await page.getByRole('button', { name: /^Download and import 1 file/ }).click();
    await expect.poll(examples, { timeout: 30_000 }).toBe(`${dataset.train + dataset.test} examples`);
    expect(await page.getByRole('region', { name: 'Rows not imported' }).getByRole('listitem').allInnerTexts())
      .toEqual([expect.stringMatching(new RegExp(`^${WORLD_QA}/${TEST_FILE}, line 3: invalid JSON`))]);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('heading', { name: 'From the Hugging Face Hub' }).scrollIntoViewIfNeeded();
    await shoot('hub-data-390');
    await page.setViewportSize({ width: 1400, height: 900 });
    expect(app.errors).toEqual([]);
  }, 180_000);

  it('pushes a trained adapter: byte for byte the zip, clear lines without or with a refused token, the token kept where it says', async () => {
    // A short run on the imported data, on a tiny model.
    await loadModelFiles(page, tinyModelFiles(5));
    await setRunFields(page, { 'Max steps': 4, 'Warm-up steps': 1, 'Batch size': 2, 'Max sequence length': 64, 'LoRA rank': 4, 'Checkpoint every N steps': 2, 'Evaluate every N steps': 0 });
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Run status' }).textContent(), { timeout: 120_000 }).toMatch(/^Finished — step 4 of 4/);

    await tab('Export').click();
    const token = page.getByLabel('Hub access token');
    const push = page.getByRole('button', { name: 'Push to the Hub' });
    await page.getByLabel('Hub repository').fill(PUSHED);
    expect(await page.getByLabel('Hub endpoint').inputValue()).toBe(hub.endpoint);   // the one setting, from the Data step
    expect(await page.getByLabel('Format to push').inputValue()).toBe('peft');
    await push.click();
    await expect.poll(alerts).toEqual(['Push to the Hub failed: no Hub token: paste an access token with write access (Hugging Face: Settings → Access Tokens)']);
    await token.fill(REFUSED);
    await push.click();
    await expect.poll(alerts).toEqual(['Push to the Hub failed: the Hub refused the token (401): check that it is a valid access token for this endpoint']);
    expect(hub.repos.has(`models/${PUSHED}`)).toBe(false);

    await token.fill(WRITE);
    await push.click();
    const status = page.getByRole('status', { name: 'Push status' });
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toBe(`Pushed 3 files: ${hub.endpoint}/${PUSHED}`);
    expect(await status.getByRole('link').getAttribute('href')).toBe(`${hub.endpoint}/${PUSHED}`);
    expect(await page.getByRole('alert').count()).toBe(0);
    await shoot('hub-push-1400');

    // The repository holds what the tab's PEFT zip holds, byte for byte.
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download PEFT adapter (zip)' }).click();
    const zipPath = join(SHOTS, 'pushed.zip');
    await (await download).saveAs(zipPath);
    const zip = Object.entries(unzipSync(new Uint8Array(readFileSync(zipPath)))).map(([name, bytes]) => [name.slice(name.indexOf('/') + 1), bytes] as const);
    const held = hub.repos.get(`models/${PUSHED}`)!.files;
    expect([...held.keys()].sort()).toEqual(zip.map(([name]) => name).sort());
    expect(zip.map(([name]) => name).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    for (const [name, bytes] of zip) expect(Buffer.compare(held.get(name)!, bytes), name).toBe(0);

    // The tokens went only to the Hub endpoint's API (never to the LFS storage URLs, the page's own server or elsewhere).
    const carrying = (t: string) => requests.filter((r) => r.url.includes(t) || r.body.includes(t) || Object.values(r.headers).some((v) => v.includes(t)));
    for (const t of [WRITE, REFUSED]) {
      const calls = carrying(t);
      expect(calls.length, t).toBeGreaterThan(0);
      for (const r of calls) {
        const u = new URL(r.url);
        expect(u.origin, r.url).toBe(hub.endpoint);
        expect(u.pathname.startsWith('/api/') || u.pathname.endsWith('.git/info/lfs/objects/batch'), r.url).toBe(true);
      }
    }
    expect(hub.log.filter((l) => l.token).every((l) => l.path.startsWith('/api/') || l.path.endsWith('/info/lfs/objects/batch'))).toBe(true);
    expect(hub.log.filter((l) => l.path.startsWith('/lfs/')).map((l) => [l.method, l.token])).toEqual([['PUT', false]]);

    // Kept in memory only: no storage holds it, and a reload forgets it.
    const stored = () => page.evaluate((t) => ({
      local: Object.entries(localStorage).filter(([, v]) => v.includes(t)).map(([k]) => k),
      session: Object.values(sessionStorage).some((v) => v.includes(t)),
    }), WRITE);
    const inIndexedDb = () => page.evaluate(async (t) => {
      const found: string[] = [];
      const holds = (v: unknown): boolean => (typeof v === 'string' ? v.includes(t)
        : v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) && !(v instanceof Blob) && !(v instanceof ArrayBuffer) && Object.values(v).some(holds));
      const done = <T,>(r: IDBRequest<T>) => new Promise<T>((ok, no) => { r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
      for (const { name } of await indexedDB.databases()) {
        const db = await done(indexedDB.open(name!));
        for (const store of db.objectStoreNames) if ((await done(db.transaction(store).objectStore(store).getAll())).some(holds)) found.push(`${name}/${store}`);
        db.close();
      }
      return found;
    }, WRITE);
    expect(await stored()).toEqual({ local: [], session: false });
    expect(await inIndexedDb()).toEqual([]);
    await page.reload();
    await tab('Export').click();
    expect(await token.inputValue()).toBe('');

    // Remembered: one localStorage key, there after a reload; "Forget token" clears the field and the key.
    await token.fill(WRITE);
    await page.getByLabel('Remember on this device').check();
    expect(await stored()).toEqual({ local: [HUB_TOKEN_KEY], session: false });
    await page.reload();
    await tab('Export').click();
    expect(await token.inputValue()).toBe(WRITE);
    expect(await page.getByLabel('Remember on this device').isChecked()).toBe(true);
    expect(await inIndexedDb()).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('heading', { name: 'Push to the Hugging Face Hub' }).scrollIntoViewIfNeeded();
    await shoot('hub-push-390');
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.getByRole('button', { name: 'Forget token' }).click();
    expect([await token.inputValue(), await page.getByLabel('Remember on this device').isChecked()]).toEqual(['', false]);
    expect(await stored()).toEqual({ local: [], session: false });
    await page.reload();
    await tab('Export').click();
    expect(await token.inputValue()).toBe('');
    // The refused pushes' 401s are the browser's own console lines; nothing else went wrong.
    expect(app.errors.filter((e) => !/Failed to load resource: the server responded with a status of 401/.test(e))).toEqual([]);
  }, 300_000);
});
