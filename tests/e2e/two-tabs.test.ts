// Two tabs of the studio on one browser profile (src/storage/writer.ts), in headless Chromium, editing and training
// at once. Tab A opens first and writes: it imports a dataset, loads a tiny model and trains. Tab B opens read-only:
// a banner says so, and its edits and its training start are refused by name (nothing is written, nothing shows
// as done) while A flags a row and trains on. "Use here" in B hands over: A saves, pauses its run at a checkpoint and
// turns read-only (its own edits then refused); B re-reads A's changes, sees the run interrupted at that checkpoint,
// edits, resumes the run from it and pauses it some steps on. Then each tab is reloaded: B opens as the writer, A
// read-only, and both show every change of both tabs once. Read from IndexedDB itself: one run, each step's metrics
// once (1..N, A's steps then B's), the dataset's rows once each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { dropFile, startApp, type RunningApp } from './helpers/app';
import { loadModelFiles, QA_JSONL, setRunFields, tinyModelFiles } from './helpers/train';

const modelFiles = tinyModelFiles(5);
const STEPS = 20_000;   // far more than either tab trains here: the run is mid-way at each handover

let app: RunningApp;
let a: Page;
let b: Page;
beforeAll(async () => {
  app = await startApp();
  a = await app.newPage();
}, 180_000);
afterAll(async () => { await app?.close(); });

const banner = (p: Page) => p.getByRole('status', { name: 'Read-only tab' });
const rowsShown = (p: Page) => p.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status').textContent();
const alerts = (p: Page) => p.getByRole('alert').allTextContents();
const runStatus = (p: Page) => p.getByRole('status', { name: 'Run status' }).textContent();
const historyStatus = (p: Page) => p.getByRole('row', { name: /Run 1/ }).getByRole('cell').nth(2).textContent();
const flagged = (p: Page, line: number) => p.getByRole('button', { name: `Unflag qa.jsonl line ${line}` }).count();
const dismissAll = async (p: Page) => { for (const x of await p.getByRole('button', { name: 'Dismiss message' }).all()) await x.click(); };

const RUN = { 'Max steps': STEPS, 'Batch size': 2, 'Max sequence length': 40, 'LoRA rank': 4, 'Checkpoint every N steps': 2, 'Evaluate every N steps': 0 };

/** What the tab's IndexedDB holds: every run with its metric steps, and the dataset's rows in its newest version (saved: no journal left). */
async function stored(p: Page): Promise<{ runs: { name: string; status: string; steps: number[] }[]; rows: string[] }> {
  return p.evaluate(async () => {
    const open = (name: string) => new Promise<IDBDatabase>((ok, fail) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    const all = <T,>(db: IDBDatabase, store: string) => new Promise<T[]>((ok, fail) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result as T[]); r.onerror = () => fail(r.error); });
    const runsDb = await open('sft-studio-runs');
    const runs = (await all<{ name: string; status: string; metrics: { step: number }[] }>(runsDb, 'runs')).map((r) => ({ name: r.name, status: r.status, steps: r.metrics.map((m) => m.step) }));
    runsDb.close();
    const db = await open('sft-studio');
    const [meta] = await all<{ id: string; head: number }>(db, 'datasets');
    const version = (await all<{ datasetId: string; version: number; chunkKeys: string[] }>(db, 'versions')).find((v) => v.datasetId === meta.id && v.version === meta.head)!;
    const chunks = new Map((await all<{ key: string; records: { id: string }[] }>(db, 'chunks')).map((c) => [c.key, c.records]));
    const journal = await all<{ datasetId: string }>(db, 'journal');
    db.close();
    if (journal.some((e) => e.datasetId === meta.id)) throw new Error('unsaved journal entries: flush before reading');
    return { runs, rows: version.chunkKeys.flatMap((k) => chunks.get(k)!.map((r) => r.id)) };
  });
}

describe('two tabs of the studio', () => {
  it('one writes, the other is read-only until "Use here"; after a handover mid-run and a reload of each, nothing is lost or doubled', async () => {
    await dropFile(a, 'qa.jsonl', QA_JSONL);
    await expect.poll(() => rowsShown(a)).toBe('8 examples');
    expect(await banner(a).count()).toBe(0);
    await loadModelFiles(a, modelFiles);
    await setRunFields(a, RUN);
    await a.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => runStatus(a), { timeout: 90_000 }).toMatch(/^Training — step [2-9]/);

    // B opens on the same profile: read-only, with the data A saved.
    b = await app.newPage();
    await expect.poll(() => banner(b).textContent()).toMatch(/^Read-only\. The studio is open in another tab/);
    await expect.poll(() => rowsShown(b)).toBe('8 examples');
    // Its edits are refused before they show; A edits on, while training.
    await b.getByRole('button', { name: 'Flag qa.jsonl line 2' }).click();
    await expect.poll(() => alerts(b)).toContainEqual(expect.stringMatching(/^Flag 1 was refused: this tab is read-only, because the studio is open in another tab/));
    expect(await flagged(b, 2)).toBe(0);
    await dismissAll(b);
    await a.getByRole('tab', { name: 'Data' }).click();
    await a.getByRole('button', { name: 'Flag qa.jsonl line 1' }).click();
    await expect.poll(() => flagged(a, 1)).toBe(1);
    // Its training start is refused by the run store: no run is stored for it.
    await loadModelFiles(b, modelFiles);
    await setRunFields(b, RUN);
    await b.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => alerts(b), { timeout: 60_000 }).toContainEqual(expect.stringMatching(/^Saving the run's data was refused: this tab is read-only/));
    await dismissAll(b);

    // "Use here": A saves, pauses at a checkpoint and turns read-only; B takes over with A's changes.
    await a.getByRole('tab', { name: 'Train' }).click();
    await b.getByRole('button', { name: 'Use here' }).click();
    await expect.poll(() => banner(b).count(), { timeout: 60_000 }).toBe(0);
    await expect.poll(() => banner(a).textContent()).toMatch(/^Read-only\./);
    await expect.poll(() => historyStatus(b), { timeout: 60_000 }).toBe('interrupted');
    const pausedAt = Number(/last checkpoint at step (\d+)/.exec((await runStatus(a)) ?? '')?.[1] ?? NaN);
    expect(pausedAt).toBeGreaterThanOrEqual(2);
    await b.getByRole('tab', { name: 'Data' }).click();
    await expect.poll(() => flagged(b, 1)).toBe(1);
    await b.getByRole('button', { name: 'Flag qa.jsonl line 2' }).click();
    await expect.poll(() => flagged(b, 2)).toBe(1);
    await a.getByRole('tab', { name: 'Data' }).click();
    await a.getByRole('button', { name: 'Flag qa.jsonl line 3' }).click();
    await expect.poll(() => alerts(a)).toContainEqual(expect.stringMatching(/^Flag 1 was refused: this tab is read-only/));
    expect(await flagged(a, 3)).toBe(0);

    // B resumes the run A paused, from A's checkpoint, trains on and pauses it (a checkpoint at the step it stops).
    await b.getByRole('tab', { name: 'Train' }).click();
    await b.getByRole('button', { name: 'Resume Run 1' }).click();
    await expect.poll(async () => Number(/step (\d+) of/.exec((await runStatus(b)) ?? '')?.[1] ?? 0), { timeout: 120_000 }).toBeGreaterThan(pausedAt + 2);
    await b.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => runStatus(b), { timeout: 60_000 }).toMatch(/^Paused — step \d+ of/);
    const stoppedAt = Number(/^Paused — step (\d+) of/.exec((await runStatus(b)) ?? '')![1]);

    // A reload of each: A stays read-only, B writes; both show both tabs' changes.
    // B first: its engine marks the paused run interrupted as it takes the runs lock, and A then reads that.
    await b.reload();
    await expect.poll(() => rowsShown(b)).toBe('8 examples');
    await a.reload();
    await expect.poll(() => banner(a).textContent()).toMatch(/^Read-only\./);
    expect(await banner(b).count()).toBe(0);
    for (const p of [b, a]) {
      await expect.poll(() => rowsShown(p)).toBe('8 examples');
      await expect.poll(async () => [await flagged(p, 1), await flagged(p, 2), await flagged(p, 3)]).toEqual([1, 1, 0]);
      await p.getByRole('tab', { name: 'Train' }).click();
      await expect.poll(() => historyStatus(p)).toBe('interrupted');   // paused when its page went away: resumable
    }
    const disk = await stored(b);
    expect(disk.runs.map((r) => [r.name, r.status])).toEqual([['Run 1', 'interrupted']]);
    expect(disk.runs[0].steps).toEqual(Array.from({ length: stoppedAt }, (_, i) => i + 1));
    expect(disk.rows).toHaveLength(8);
    expect(new Set(disk.rows).size).toBe(8);
    console.log(`two tabs e2e: A paused at checkpoint step ${pausedAt}; B resumed and paused at ${stoppedAt}`);
    expect(app.errors).toEqual([]);
  });
});
