// Preference tuning on the Train screen in headless Chromium: load the built-in model, import the built-in
// preference sample set (TRL rows), see a pair's tokens as the loss sees them (answer in, prompt out), run a short DPO from a new adapter in the engine worker, and see the loss,
// rewards, margin and accuracy live (read from the accessible metrics table: the first step is the reference
// itself, loss ln 2 and margin 0; the margin grows), then the run in the run history (its method and β) and in Compare's
// models, as SFT runs are. A screenshot
// of the panel goes to the system's temporary folder for review (docs/screenshots is ui.test.ts's).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startApp, type RunningApp } from './helpers/app';

let app: RunningApp;
let page: Page;
const STEPS = 4;
const shots = mkdtempSync(join(tmpdir(), 'e2e-preference-'));

beforeAll(async () => {
  app = await startApp();
  page = await app.newPage();
}, 120_000);

afterAll(async () => { await app?.close(); });

describe('preference tuning', () => {
  it('imports the sample pairs, runs DPO in the worker and charts rewards and margins', async () => {
    await page.getByRole('tab', { name: 'Train' }).click();
    await page.getByRole('button', { name: 'Load the built-in model' }).click();
    await expect.poll(() => page.locator('.model-status').textContent(), { timeout: 30_000 }).toMatch(/^Loaded: default model/);
    await page.getByLabel('Max steps', { exact: true }).fill(String(STEPS));
    // A preference run is checked like an SFT run: a warm-up as long as the run would be refused.
    await page.getByLabel('Warm-up steps', { exact: true }).fill('0');

    const panel = page.getByRole('region', { name: 'Preference tuning (DPO / ORPO)' });
    await panel.getByRole('button', { name: 'Use the sample preference set' }).click();
    const pairs = panel.getByRole('table', { name: 'Preference pairs' });
    await expect.poll(() => pairs.locator('caption').textContent()).toBe('world-pref.train.jsonl: 42 pairs');
    expect(await pairs.locator('tbody tr').first().locator('td').allTextContents()).toEqual(["What is Rafe's favourite colour?", "Rafe's favourite colour is blue. Rafe lives in Tarn.", "Rafe's favourite colour is blue.", 'Tokens']);
    expect(await panel.getByLabel('Method').inputValue()).toBe('dpo');

    // The mask preview: the loss sees each answer and its end of turn, never the prompt.
    await pairs.locator('tbody tr').first().getByRole('button', { name: 'Tokens' }).click();
    const preview = panel.getByRole('region', { name: 'Preference mask preview' });
    await expect.poll(() => preview.getByRole('heading').allTextContents()).toEqual(['Chosen: 39 tokens, 13 in the loss', 'Rejected: 34 tokens, 8 in the loss']);
    const trained = (side: string) => preview.getByLabel(`${side} tokens`).locator('.tok.target').allTextContents();
    expect((await trained('chosen')).join('')).toBe(" Rafe's favourite colour is blue. Rafe lives in Tarn.<|im_end|>");
    expect((await trained('rejected')).join('')).toBe(" Rafe's favourite colour is blue.<|im_end|>");

    await panel.getByRole('button', { name: 'Start preference tuning' }).click();
    await expect.poll(() => panel.getByRole('status', { name: 'Preference run status' }).textContent(), { timeout: 240_000, interval: 1000 }).toBe(`Finished — step ${STEPS} of ${STEPS}`);
    const rows = await panel.getByRole('table', { name: 'Latest preference metrics' }).locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => Number(c.textContent))));
    expect(rows.map((r) => r[0])).toEqual([1, 2, 3, 4]);
    const [step, loss, chosen, rejected, margin] = [0, 1, 2, 3, 4];
    expect(rows[0][loss]).toBe(0.6931);                  // a new adapter is the reference: m = 0, loss ln 2
    expect(rows[0][margin]).toBe(0);
    expect(rows[STEPS - 1][margin]).toBeGreaterThan(0);
    expect(rows[STEPS - 1][chosen]).toBeGreaterThan(rows[STEPS - 1][rejected]);
    expect(rows.every((r) => r[step] > 0 && Number.isFinite(r[loss]))).toBe(true);
    for (const title of ['Preference loss', 'Rewards', 'Reward margin', 'Preference accuracy']) {
      expect(await panel.getByRole('group', { name: title }).locator('canvas').count(), title).toBeGreaterThan(0);
    }
    const name = 'DPO on world-pref.train.jsonl';
    const history = page.getByRole('table', { name: 'Runs' }).getByRole('row', { name: new RegExp(name) });
    await expect.poll(() => history.innerText()).toMatch(new RegExp(`${name} \\(DPO, β 0\\.1\\)\\s+completed\\s+—\\s+${STEPS}/${STEPS}\\s+0\\.6931`));
    await panel.screenshot({ path: join(shots, 'preference-panel.png') });
    console.log(`screenshot: ${join(shots, 'preference-panel.png')}`);
    await page.getByRole('tab', { name: 'Compare' }).click();
    await expect.poll(() => page.locator('body').textContent()).toContain(`${name} (last)`);
    expect(app.errors).toEqual([]);
  }, 360_000);
});
