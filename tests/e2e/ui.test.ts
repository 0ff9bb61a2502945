// The studio's look and reach (issue 15), in headless Chromium on the built app with the first-run sample and
// built-in model and a short run: every step passes axe-core with no serious or critical violation, in the light and the dark
// theme; a keyboard-only walk moves through the steps (arrow keys on the step tabs), asks dataset rows with
// the J / K shortcuts, and opens and cancels the delete-dataset dialog with Enter / Escape (no window.confirm);
// marks the better answer with 1 / 2 / 3; the theme toggle is remembered across a reload; the batch evaluation's answers table filters and sorts. Each step is photographed at 1400×900 and 390×844 into
// docs/screenshots/ for review (the README shows them).
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startApp, type RunningApp } from './helpers/app';
import { axeProblems } from './helpers/axe';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const SHOTS = join(ROOT, 'docs', 'screenshots');
const STEPS = ['Data', 'Train', 'Compare', 'Export'] as const;

let app: RunningApp;
let page: Page;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  app = await startApp({ firstRun: true });
  page = await app.newPage();
  page.on('dialog', (d) => { app.errors.push(`unexpected native dialog: ${d.message()}`); void d.dismiss(); });
}, 180_000);
afterAll(async () => { await app?.close(); });

const tab = (name: string) => page.getByRole('tab', { name });
/** Waits out a step's "Loading …" line (Compare and Export load when first opened). */
const loaded = () => expect.poll(() => page.getByText(/^Loading \w+…$/).count()).toBe(0);

async function ready() {
  await expect.poll(() => page.getByLabel('Loaded model').textContent(), { timeout: 90_000 }).toBe('built-in model');
  await expect.poll(() => page.getByText(/^\d+ examples$/).count(), { timeout: 60_000 }).toBe(1);
}

describe('studio UI', () => {
  it('passes axe on every step in both themes, and photographs each at desktop and phone sizes', async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    await ready();
    // A short run, so Train shows its charts and Compare a tuned column beside the base (greedy, short answers).
    await tab('Train').click();
    await page.getByLabel('Max steps', { exact: true }).fill('12');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Run status' }).textContent(), { timeout: 120_000 }).toMatch(/^Finished — step 12 of 12/);
    await tab('Compare').click();
    await page.getByLabel('Max new tokens').fill('12');
    await expect.poll(() => page.getByRole('list', { name: 'Answering models' }).getByRole('listitem').count()).toBe(2);
    await page.getByRole('list', { name: 'Dataset prompts' }).getByRole('button').first().click();
    await expect.poll(() => page.getByRole('article', { name: 'Answer from Run 1 (last)' }).getAttribute('aria-busy'), { timeout: 90_000 }).toBe('false');
    // The batch evaluation's table filters on any text and sorts by a column.
    await page.getByRole('button', { name: 'Evaluate the validation split' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Batch status' }).textContent(), { timeout: 180_000 }).toBe('Done: 24 of 24 examples');
    const answers = page.getByRole('table', { name: 'Batch answers' });
    expect(await answers.getByRole('row').count()).toBe(25);
    await page.getByLabel('Filter answers').fill('Calder');
    await expect.poll(() => answers.getByRole('row').count()).toBe(1 + 4); // Calder's four held-out questions
    await page.getByLabel('Filter answers').fill('');
    const firstIndex = () => answers.getByRole('row').nth(1).getByRole('cell').first().textContent();
    const references = () => answers.locator('tbody tr td:nth-child(3)').allInnerTexts();
    await answers.getByRole('button', { name: /^Reference/ }).click(); // ascending by reference text
    expect(await answers.getByRole('columnheader', { name: /^Reference/ }).getAttribute('aria-sort')).toBe('ascending');
    const ascending = await references();
    expect(new Set(ascending).size).toBe(24);
    await answers.getByRole('button', { name: /^Reference/ }).click(); // descending
    expect(await references()).toEqual([...ascending].reverse());
    await answers.getByRole('button', { name: /^Reference/ }).click(); // unsorted: the run's order
    expect(await firstIndex()).toBe('1');
    await answers.getByRole('button', { name: /^#/ }).click();
    await answers.getByRole('button', { name: /^#/ }).click(); // descending
    expect(await firstIndex()).toBe('24');
    await answers.getByRole('button', { name: /^#/ }).click(); // back to the run's order
    await page.getByRole('button', { name: 'Hide the guide' }).click(); // more of each page in its photograph

    for (const theme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: theme });
      for (const step of STEPS) {
        await tab(step).click();
        await expect.poll(() => tab(step).getAttribute('aria-selected')).toBe('true');
        await loaded();
        expect(await axeProblems(page), `${step}, ${theme} theme`).toEqual([]);
        await page.evaluate(() => scrollTo(0, 0));
        const dark = theme === 'dark' ? '-dark' : '';
        if (theme === 'light' || step === 'Compare' || step === 'Train') await page.screenshot({ path: join(SHOTS, `${step.toLowerCase()}-1400${dark}.png`) });
        if (step === 'Compare') {
          await page.getByRole('heading', { name: 'Batch evaluation' }).evaluate((h) => h.scrollIntoView());
          await page.screenshot({ path: join(SHOTS, `compare-batch-1400${dark}.png`) });
        }
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 390, height: 844 });
    for (const step of STEPS) {
      await tab(step).click();
      await loaded();
      await page.evaluate(() => scrollTo(0, 0));
      expect(await axeProblems(page), `${step} at 390 px`).toEqual([]);
      await page.screenshot({ path: join(SHOTS, `${step.toLowerCase()}-390.png`) });
    }
    await page.setViewportSize({ width: 1400, height: 900 });
    expect(app.errors).toEqual([]);
  });

  it('walks the steps with the keyboard alone', async () => {
    await tab('Data').click();
    // Focus leaves the page's controls; Tab then reaches the theme toggle, and Shift+Tab goes back to the
    // selected step tab (only the selected one is in the tab order: Radix's roving focus); arrows move between steps.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/^Theme: /);
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/Data/);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('tab');
    for (const step of ['Train', 'Compare', 'Export']) {
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => tab(step).getAttribute('aria-selected')).toBe('true');
    }
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => tab('Compare').getAttribute('aria-selected')).toBe('true');

    // J asks the next dataset row, K the previous one; the asked row is marked current in the list.
    const list = page.getByRole('list', { name: 'Dataset prompts' }).getByRole('button');
    const first = (await list.nth(0).textContent())!;
    const second = (await list.nth(1).textContent())!;
    expect(await list.nth(0).getAttribute('aria-current')).toBe('true'); // asked in the first test
    // Columns answer in turn: the run's column is the last to finish.
    const idle = () => expect.poll(() => page.getByRole('article', { name: 'Answer from Run 1 (last)' }).getAttribute('aria-busy'), { timeout: 90_000 }).toBe('false');
    await page.keyboard.press('j');
    await expect.poll(() => page.getByRole('button', { name: second }).getAttribute('aria-current')).toBe('true');
    await idle();
    await page.keyboard.press('k');
    await expect.poll(() => page.getByRole('button', { name: first }).getAttribute('aria-current')).toBe('true');
    await idle();
    // 2 marks the tuned answer better, 3 a tie (the pressed verdict follows).
    await page.keyboard.press('2');
    await expect.poll(() => page.getByRole('button', { name: 'Tuned is better' }).getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('3');
    await expect.poll(() => page.getByRole('button', { name: 'Tie' }).getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByRole('button', { name: 'Tuned is better' }).getAttribute('aria-pressed')).toBe('false');

    // Delete dataset asks in a dialog (focus moves into it; Escape cancels and nothing is deleted).
    await tab('Data').click();
    await page.getByRole('button', { name: 'Delete dataset' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('alertdialog');
    await expect.poll(() => dialog.count()).toBe(1);
    expect(await dialog.textContent()).toMatch(/^Delete dataset “world-qa.*cannot be undone/);
    expect(await axeProblems(page), 'delete dialog').toEqual([]);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await page.getByText(/^\d+ examples$/).count()).toBe(1);
    expect(app.errors).toEqual([]);
  });

  it('remembers the theme chosen with the toggle across a reload', async () => {
    const toggle = page.getByRole('button', { name: /^Theme: / });
    expect(await toggle.getAttribute('aria-label')).toBe('Theme: system. Change theme');
    await toggle.click();
    await toggle.click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.reload();
    await expect.poll(() => page.getByRole('button', { name: /^Theme: / }).getAttribute('aria-label')).toBe('Theme: dark. Change theme');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(bg);
    expect(bg).toBe('rgb(17, 19, 24)'); // --bg of the dark theme
    expect(app.errors).toEqual([]);
  });
});
