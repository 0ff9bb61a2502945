// The guided path on the built-in model (issue 8), as a new user walks it: the studio opens on the sample
// dataset and the model; Train with the quick preset as offered; Compare evaluates the held-out validation
// split (questions about people the SFT rows never mention) for base and tuned. The tuned model must beat the
// base model there: higher exact match and lower loss. Prints the figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from './helpers/app';

let app: RunningApp;
beforeAll(async () => { app = await startApp({ firstRun: true }); }, 180_000);
afterAll(async () => { await app?.close(); });

describe('guided path on the built-in model', () => {
  it('quick preset: the tuned model answers held-out questions the base model does not', async () => {
    const page = await app.newPage();
    const tab = (name: string) => page.getByRole('tab', { name });
    await expect.poll(() => page.getByLabel('Loaded model').textContent(), { timeout: 60_000 }).toBe('built-in model');
    await expect.poll(() => page.getByText(/^Train: \d+ · Validation: \d+$/).textContent(), { timeout: 60_000 }).toMatch(/ · Validation: 24$/);

    await tab('Train').click();
    expect(await page.getByRole('radio', { name: 'Quick' }).isChecked()).toBe(true);
    const steps = Number(await page.getByLabel('Max steps', { exact: true }).inputValue());
    expect(steps).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Start training' }).click();
    const t0 = Date.now();
    await expect.poll(() => page.getByRole('status', { name: 'Run status' }).textContent(), { timeout: 600_000, interval: 2000 })
      .toMatch(new RegExp(`^Finished — step ${steps} of ${steps}`));
    const trainSeconds = (Date.now() - t0) / 1000;

    await tab('Compare').click();
    await page.getByLabel('Max new tokens').fill('24');
    await page.getByRole('button', { name: 'Evaluate the validation split' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Batch status' }).textContent(), { timeout: 600_000, interval: 2000 }).toBe('Done: 24 of 24 examples');
    const table = page.getByRole('table', { name: 'Batch results' });
    const valuesOf = async (row: RegExp) => table.getByRole('row', { name: row }).locator('td[data-value]')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
    const [baseEm, , , , baseLoss] = await valuesOf(/^Base/);
    const [tunedEm, tunedRouge, , tunedStops, tunedLoss] = await valuesOf(/^Run 1 \(last\)/);
    console.log(`guided path: ${steps} steps in ${trainSeconds.toFixed(0)} s; held-out exact match base ${baseEm} tuned ${tunedEm} (ROUGE-L ${tunedRouge}, clean stops ${tunedStops}); loss base ${baseLoss} tuned ${tunedLoss}`);
    expect(tunedEm).toBeGreaterThan(baseEm);
    expect(tunedEm).toBeGreaterThanOrEqual(0.5);
    expect(tunedLoss).toBeLessThan(baseLoss);
    expect(app.errors).toEqual([]);
  }, 1_200_000);
});
