// The Train screen in headless Chromium, as a user meets it: drop a small dataset, load a tiny model from
// its files, set a short run, start it and watch the metrics move, pause and resume it (read from the accessible metrics table,
// not pixels), reload the page in the middle of the run, load the model again, resume the interrupted run
// from its checkpoint, and see it finish with a lower loss than it started with. Then load the embedded default model. Training happens in the
// engine worker on SwiftShader's WebGPU.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { startApp, type RunningApp } from './helpers/app';

let app: RunningApp;
let page: Page;
const modelDir = mkdtempSync(join(tmpdir(), 'e2e-tiny-model-'));
makeTinyModel('llama-small', modelDir, 4);
const modelFiles = readdirSync(modelDir).map((f) => join(modelDir, f));

const QA = [
  ['What is 2+2?', 'Four.'], ['Name a colour.', 'Blue.'], ['Say hi.', 'Hi there!'], ['Capital of France?', 'Paris.'],
  ['Opposite of up?', 'Down.'], ['A fruit?', 'An apple.'], ['A pet?', 'A cat.'], ['Count to three.', 'One, two, three.'],
];
const DATA = QA.map(([q, a]) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] })).join('\n');
const STEPS = 40;

beforeAll(async () => {
  app = await startApp();
  page = await app.newPage();
}, 120_000);

afterAll(async () => { await app?.close(); });

const tab = (name: string) => page.getByRole('tab', { name });
const runStatus = () => page.getByRole('status', { name: 'Run status' });
const metricsRows = () => page.getByRole('table', { name: 'Latest metrics' }).locator('tbody tr');

async function loadTinyModel() {
  await page.getByLabel('Choose model files').setInputFiles(modelFiles);
  await expect.poll(() => page.locator('.model-status').textContent(), { timeout: 30_000 }).toMatch(/^Loaded: dropped model/);
}

/** The metrics table's rows, read cell by cell in one evaluation (the table re-renders every step; innerText's tabs depend on CSS). */
async function lossesShown(): Promise<{ step: number; loss: number }[]> {
  const rows = await metricsRows().evaluateAll((trs) => trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => c.textContent ?? '')));
  return rows.map((c) => ({ step: Number(c[0]), loss: Number(c[1]) }));
}

describe('training screen', () => {
  it('trains in the worker, survives a reload mid-run, resumes from its checkpoint and finishes lower', async () => {
    await tab('Data').click();
    const dt = await page.evaluateHandle((text) => {
      const d = new DataTransfer();
      d.items.add(new File([text], 'qa.jsonl', { type: 'application/json' }));
      return d;
    }, DATA);
    await page.getByRole('region', { name: 'Drop files to import' }).dispatchEvent('drop', { dataTransfer: dt });
    await expect.poll(() => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status').textContent()).toBe('8 examples');

    await tab('Train').click();
    // SwiftShader is a software adapter: the page says so plainly.
    await expect.poll(() => page.getByRole('note').first().textContent()).toMatch(/Only a software GPU adapter is available/);
    await loadTinyModel();
    // Nothing is set yet that would refuse a run, except what the test changes below.
    const set = async (label: string, value: string) => { await page.getByLabel(label, { exact: true }).fill(value); };
    await set('Max steps', String(STEPS));
    await set('Batch size', '2');
    await set('Max sequence length', '40');
    await set('Learning rate', '0.02');
    await set('LoRA rank', '4');
    await set('Checkpoint every N steps', '2');
    // Invalid combinations are explained before the start: evaluation without a validation split.
    await set('Evaluate every N steps', '5');
    const problems = page.getByRole('list', { name: 'Problems with this configuration' });
    await expect.poll(() => problems.textContent(), { timeout: 10_000 }).toMatch(/Evaluation needs a validation split/);
    await expect.poll(() => page.getByRole('button', { name: 'Start training' }).isDisabled(), { timeout: 10_000 }).toBe(true);
    await set('Evaluate every N steps', '0');
    await expect.poll(() => page.getByRole('button', { name: 'Start training' }).isDisabled(), { timeout: 10_000 }).toBe(false);
    expect(await page.getByLabel('Estimate').textContent()).toMatch(/Estimated GPU memory [\d.]+ MiB; 4 steps per epoch, 40 in all/);

    await page.getByRole('button', { name: 'Start training' }).click();
    // The metrics move: steps appear one after another while the page stays responsive.
    await expect.poll(async () => (await lossesShown()).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    // Pause holds the run at a step boundary (and checkpoints it); Resume carries on.
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => runStatus().textContent(), { timeout: 30_000 }).toMatch(/^Paused — step \d+ of 40; last checkpoint at step \d+/);
    const pausedText = await runStatus().textContent();
    // Nothing moves while paused: a round trip to the engine worker (the Export tab lists the runs) lands after any
    // step it could have sent, since the worker's messages arrive in order.
    await tab('Export').click();
    await expect.poll(() => page.getByRole('option', { name: /^Run 1 \(paused\)$/ }).count(), { timeout: 30_000 }).toBe(1);
    await tab('Train').click();
    expect(await runStatus().textContent()).toBe(pausedText);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => runStatus().textContent(), { timeout: 30_000 }).toMatch(/^Training/);
    await expect.poll(() => runStatus().textContent(), { timeout: 60_000 }).toMatch(/last checkpoint at step [2-9]/);
    const seen = await lossesShown();
    expect(seen.every((r) => Number.isFinite(r.loss) && r.loss > 0), JSON.stringify(seen)).toBe(true);
    const beforeReload = Number(/step (\d+) of/.exec((await runStatus().textContent()) ?? '')![1]);
    expect(beforeReload).toBeLessThan(STEPS); // the reload below really is mid-run

    await page.reload();
    await tab('Train').click();
    const row = page.getByRole('row', { name: /Run 1/ });
    await expect.poll(() => row.getByRole('cell').nth(2).textContent(), { timeout: 20_000 }).toBe('interrupted');
    await loadTinyModel();
    await page.getByRole('button', { name: 'Resume Run 1' }).click();
    await expect.poll(() => runStatus().textContent(), { timeout: 90_000 }).toMatch(new RegExp(`^Finished — step ${STEPS} of ${STEPS}`));

    // The curve fell: the last steps' losses are below the first step's (history keeps the whole curve).
    await expect.poll(() => row.getByRole('cell').nth(2).textContent()).toBe('completed');
    const first = Number(await row.getByRole('cell').nth(5).textContent());
    const final = Number(await row.getByRole('cell').nth(6).textContent());
    expect(final).toBeLessThan(first * 0.8);
    console.log(`training e2e: reloaded at step ${beforeReload} of ${STEPS}; loss ${first} -> ${final}`);
    const last = await lossesShown();
    expect(last.at(-1)!.step).toBe(STEPS);

    // The finished run's adapter downloads as PEFT files.
    const downloaded = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download adapter of Run 1' }).click();
    expect((await downloaded).suggestedFilename()).toMatch(/^Run_1-adapter_(model\.safetensors|config\.json)$/);

    // The embedded default model (public/models/default/) loads from the app's own server.
    await page.getByRole('button', { name: 'Load the built-in model' }).click();
    await expect.poll(() => page.locator('.model-status').textContent(), { timeout: 30_000 }).toMatch(/^Loaded: default model/);
    expect(await page.getByLabel('Loaded model').textContent()).toBe('default model');
    expect(app.errors).toEqual([]);
  });
});
