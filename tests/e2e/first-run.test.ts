// First run (issue 8): a fresh browser profile opens the studio on the built-in sample dataset and the
// built-in model, with a guide note on each step of the path; hiding the guide sticks across a reload, and
// the sample is not imported a second time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from './helpers/app';

let app: RunningApp;
beforeAll(async () => { app = await startApp({ firstRun: true }); }, 180_000);
afterAll(async () => { await app?.close(); });

describe('first run', () => {
  it('opens on the sample dataset and the built-in model, with the guided path', async () => {
    const page = await app.newPage();
    await expect.poll(() => page.getByLabel('Loaded model').textContent(), { timeout: 60_000 }).toBe('built-in model');
    await expect.poll(() => page.getByText(/^\d+ examples$/).textContent(), { timeout: 60_000 }).toMatch(/^(8\d) examples$/);
    // The held-out questions (people the SFT rows never mention) are exactly the validation split.
    await expect.poll(() => page.getByText(/^Train: \d+ · Validation: \d+$/).textContent(), { timeout: 30_000 }).toMatch(/ · Validation: 24$/);
    const guide = page.getByRole('complementary', { name: 'Guide' });
    await expect.poll(() => guide.textContent()).toMatch(/^1\. Curate .*task format/);
    for (const [tab, title] of [['Train', '2. Train'], ['Compare', '3. Compare'], ['Export', '4. Export']] as const) {
      await page.getByRole('tab', { name: tab }).click();
      expect(await guide.textContent()).toContain(title);
    }
    await page.getByRole('button', { name: 'Hide the guide' }).click();
    expect(await guide.count()).toBe(0);
    await page.getByRole('tab', { name: 'Data' }).click();
    const examples = await page.getByText(/^\d+ examples$/).textContent();

    await expect.poll(() => page.getByText(/^Saved \(version \d+\)$/).count(), { timeout: 30_000 }).toBe(1);
    await page.reload();
    await expect.poll(() => page.getByText(/^\d+ examples$/).textContent(), { timeout: 60_000 }).toBe(examples); // not imported twice
    expect(await page.getByRole('complementary', { name: 'Guide' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Show the guide' }).count()).toBe(1);
    expect(app.errors).toEqual([]);
  });
});
