// Worker deaths in the built app (headless Chromium), issue 27 item 4: the engine worker ends in the middle of a
// generation (it closes itself on taking the request, as a crash or the browser killing it for memory would leave
// it: no reply, no error), then fails with an uncaught error; the data worker ends in the middle of an
// import. Each time the request settles with the one line naming the lost worker, the page says so (the engine's
// banner offers "Restart the engine"), the restart brings the dropped model back and a generation works, and what
// IndexedDB holds (the imported dataset) is untouched, across a reload too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Worker } from 'playwright-core';
import { dropFile, startApp, type RunningApp } from './helpers/app';
import { axeProblems } from './helpers/axe';
import { loadModelFiles, QA_JSONL, tinyModelFiles } from './helpers/train';

let app: RunningApp;
let page: Page;
beforeAll(async () => { app = await startApp(); page = await app.newPage(); }, 180_000);
afterAll(async () => { await app?.close(); });

const STOPPED = 'The engine worker stopped (it was closed, crashed or ran out of memory); what it was doing is lost.';
const banner = () => page.getByRole('alert', { name: 'Engine stopped' });
const answer = () => page.getByRole('article', { name: 'Answer from Base' });
const examples = () => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status').textContent();

/** The page's worker whose script is `name` (the built asset is `name-<hash>.js`). */
async function workerOf(name: string): Promise<Worker> {
  await expect.poll(() => page.workers().filter((w) => w.url().includes(`/${name}-`)).length, { timeout: 30_000 }).toBe(1);
  return page.workers().find((w) => w.url().includes(`/${name}-`))!;
}

/**
 * Makes the worker close itself when it takes the next request of `kind`, which it never answers. (Chromium lets a
 * closing worker finish its current work and post the reply, so the request is not started first.)
 */
async function dieOnNext(worker: Worker, kind: string): Promise<void> {
  await worker.evaluate((k) => {
    const scope = globalThis as unknown as { onmessage: ((ev: MessageEvent<{ kind?: string }>) => void) | null; close(): void };
    const serve = scope.onmessage!;
    scope.onmessage = (ev) => { if (ev.data.kind === k) scope.close(); else serve(ev); };
  }, kind);
}

const answerText = async () => (await answer().locator('.answer-text').textContent()) ?? '';

/** Asks the typed prompt; the answer's whole text (its words and its statistics line) once it is done. */
async function generate(): Promise<string> {
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect.poll(() => answer().getAttribute('aria-busy'), { timeout: 60_000 }).toBe('false');
  return (await answer().textContent()) ?? '';
}

describe('worker deaths', () => {
  it('settles the request, says so, restarts the engine with the model, and keeps the data', async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    await dropFile(page, 'qa.jsonl', QA_JSONL);
    await expect.poll(examples).toBe('8 examples');
    await expect.poll(() => page.getByText(/^Saved \(version \d+\)$/).count(), { timeout: 30_000 }).toBe(1);
    await loadModelFiles(page, tinyModelFiles(4));
    await page.getByRole('tab', { name: 'Compare' }).click();
    await page.getByLabel('Max new tokens').fill('8');
    await page.getByLabel('Your prompt').fill('Tell me about the sea.');
    expect(await generate()).not.toContain('Failed');
    const before = await answerText();

    // 1. The engine worker ends mid-generation.
    const first = await workerOf('engine-worker');
    await dieOnNext(first, 'generate');
    expect(await generate()).toContain(`Failed: ${STOPPED}`);            // settled, with the line
    await expect.poll(() => banner().textContent(), { timeout: 30_000 }).toContain(STOPPED);
    expect(await page.getByRole('alert').filter({ hasText: STOPPED }).count()).toBe(1);   // said once, by the banner
    expect(await page.getByLabel('Loaded model').textContent()).toBe('no model');   // nothing is loaded in a dead engine
    expect(await page.getByRole('button', { name: 'Generate' }).isDisabled()).toBe(true);   // no model to ask
    // The banner shows on every step; checked on Train (Compare's prompt list has a finding of its own, not the banner's).
    await page.getByRole('tab', { name: 'Train' }).click();
    expect(await axeProblems(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 800 });             // the banner fits a phone: no sideways scroll
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.getByRole('tab', { name: 'Compare' }).click();
    await page.getByLabel('Your prompt').fill('Tell me about the sea.');   // the step's form starts afresh

    await banner().getByRole('button', { name: 'Restart the engine' }).click();
    await expect.poll(() => banner().count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.getByLabel('Loaded model').textContent(), { timeout: 60_000 }).toBe('dropped model');
    expect(await generate()).not.toContain('Failed');
    expect(await answerText()).toBe(before);                             // the same model, greedy: the same answer

    // 2. It fails with an error nobody caught: the page ends it and says why.
    const second = await workerOf('engine-worker');
    expect(second).not.toBe(first);
    await second.evaluate(() => { setTimeout(() => { throw new Error('test crash'); }, 0); });
    await expect.poll(() => banner().textContent(), { timeout: 30_000 }).toMatch(/^The engine worker failed: .*test crash; what it was doing is lost\./);
    await banner().getByRole('button', { name: 'Restart the engine' }).click();
    await expect.poll(() => page.getByLabel('Loaded model').textContent(), { timeout: 60_000 }).toBe('dropped model');
    expect(await generate()).not.toContain('Failed');
    expect(await answerText()).toBe(before);

    // 3. The data worker ends mid-import: the import settles with its line; the stored dataset is as it was.
    await page.getByRole('tab', { name: 'Data' }).click();
    await dieOnNext(await workerOf('data-worker'), 'import');
    await dropFile(page, 'more.jsonl', QA_JSONL);
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'The data worker stopped (it was closed, crashed or ran out of memory)' }).count(), { timeout: 30_000 }).toBe(1);
    expect(await examples()).toBe('8 examples');

    await page.reload();
    await expect.poll(examples, { timeout: 60_000 }).toBe('8 examples');
    expect(app.errors.filter((e) => !e.includes('test crash'))).toEqual([]);
  });
});
