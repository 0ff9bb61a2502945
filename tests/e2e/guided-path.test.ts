// The guided path on the built-in model (issue 8), as a new user walks it: the studio opens on the sample
// dataset and the model; Train with the quick preset as offered; Compare evaluates the held-out validation
// split (questions about people the SFT rows never mention) for base and tuned. The tuned model must beat the
// base model there: higher exact match and lower loss. Prints the figures.
// Then the lesson's preference stage, as the README tells it: the held-out pairs (world-pref.eval.jsonl, people no
// training file asks about) as a dataset of their own, all validation; DPO with the NLL term (RPO α 1) on the sample
// preference set from the SFT run, with the lesson's settings (scripts/default-model/measure.ts: lr 1e-3 constant,
// 30 steps of 8 pairs); Compare scores SFT and DPO on the held-out pairs. The SFT run answers the bare way (its
// answers lean to the rejected side), the DPO run the preferred way on most pairs, and wins against SFT.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFile, startApp, type RunningApp } from './helpers/app';

let app: RunningApp;
beforeAll(async () => { app = await startApp({ firstRun: true }); }, 180_000);
afterAll(async () => { await app?.close(); });

let page: Page;

describe('guided path on the built-in model', () => {
  it('quick preset: the tuned model answers held-out questions the base model does not', async () => {
    page = await app.newPage();
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

  it('preference stage: DPO from the SFT run answers held-out prompts the preferred way', async () => {
    const tab = (name: string) => page.getByRole('tab', { name });
    const heldOut = readFileSync('public/samples/world-pref.eval.jsonl', 'utf8').trim().split('\n').length;
    await tab('Data').click();
    await page.getByLabel('Name', { exact: true }).fill('held-out pairs');
    await page.getByRole('button', { name: 'New dataset' }).click();
    await dropFile(page, 'world-pref.eval.jsonl', readFileSync('public/samples/world-pref.eval.jsonl', 'utf8'));
    const split = page.getByRole('region', { name: 'Train / validation split' });
    await expect.poll(() => split.getByRole('status').textContent(), { timeout: 15_000 }).toMatch(new RegExp(`^Train: \\d+ · Validation: \\d+$`));
    await split.getByLabel('Split by').selectOption('random'); // the sample dataset's split is by its column
    await split.getByLabel('Validation %').fill('100');
    await split.getByRole('button', { name: 'Apply split' }).click();
    await expect.poll(() => split.getByRole('status').textContent()).toBe(`Train: 0 · Validation: ${heldOut}`);

    await tab('Train').click();
    await page.getByLabel('Max steps', { exact: true }).fill('30');
    await page.getByRole('textbox', { name: 'Learning rate', exact: true }).fill('0.001');
    await page.getByLabel('Warm-up steps', { exact: true }).fill('0');
    await page.getByLabel('Batch size', { exact: true }).fill('8');
    await page.getByText('Advanced', { exact: true }).click();
    await page.getByRole('combobox', { name: /^Schedule/ }).selectOption('constant');
    const panel = page.getByRole('region', { name: 'Preference tuning (DPO / ORPO)' });
    await panel.getByRole('button', { name: 'Use the sample preference set' }).click();
    await expect.poll(() => panel.getByRole('table', { name: 'Preference pairs' }).locator('caption').textContent()).toMatch(/: 42 pairs$/);
    await panel.getByLabel('NLL weight on chosen (RPO α)').fill('1');
    await panel.getByLabel('Preference run starts from').selectOption({ label: 'run Run 1' });
    await panel.getByRole('button', { name: 'Start preference tuning' }).click();
    const t0 = Date.now();
    await expect.poll(() => panel.getByRole('status', { name: 'Preference run status' }).textContent(), { timeout: 900_000, interval: 2000 }).toBe('Finished — step 30 of 30');
    const trainSeconds = (Date.now() - t0) / 1000;

    await tab('Compare').click();
    // Compare keeps its columns (Base and Run 1 from the first stage): the DPO run is added beside them if it is not there.
    const dpo = /^DPO on world-pref\.train\.jsonl \(last\)/;
    const answering = () => page.getByRole('list', { name: 'Answering models' }).getByRole('listitem').allInnerTexts();
    for (const [label, pattern] of [['Run 1 (last)', /^Run 1 \(last\)/], ['DPO on world-pref.train.jsonl (last)', dpo]] as const) {
      if ((await answering()).some((t) => pattern.test(t))) continue;
      await page.getByLabel('Add a model').selectOption({ label });
      await page.getByRole('button', { name: 'Add', exact: true }).click();
    }
    await expect.poll(async () => (await answering()).map((t) => (dpo.test(t) ? 'dpo' : /^Run 1 \(last\)/.test(t) ? 'sft' : t)).sort())
      .toEqual(['Base', 'dpo', 'sft']);
    await page.getByRole('button', { name: 'Evaluate the validation split' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Batch status' }).textContent(), { timeout: 900_000, interval: 2000 }).toBe(`Done: ${heldOut} of ${heldOut} examples`);
    await page.getByLabel('Win rate against').selectOption({ label: 'Run 1 (last)' });
    const scores = page.getByRole('table', { name: 'Preference pair results' });
    const valuesOf = async (row: RegExp) => scores.getByRole('row', { name: row }).locator('td')
      .evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-value'))));
    // closer to chosen, log-prob prefers chosen, mean margin, win rate by answers, win rate by margins
    const [sftCloser, sftLogp] = await valuesOf(/^Run 1 \(last\)/);
    const [dpoCloser, dpoLogp, , dpoWinAnswers, dpoWinMargins] = await valuesOf(dpo);
    console.log(`preference stage: 30 DPO+RPO steps in ${trainSeconds.toFixed(0)} s; held out (${heldOut} pairs): answers closer to chosen SFT ${sftCloser} → DPO ${dpoCloser}; log-prob prefers chosen ${sftLogp} → ${dpoLogp}; DPO vs SFT win rate by answers ${dpoWinAnswers}, by margins ${dpoWinMargins}`);
    expect(sftCloser).toBeLessThanOrEqual(0.2);
    expect(dpoCloser).toBeGreaterThanOrEqual(0.5);
    expect(dpoLogp).toBeGreaterThan(sftLogp);
    expect(dpoWinAnswers).toBeGreaterThan(0.5);
    expect(dpoWinMargins).toBeGreaterThan(0.5);
    expect(app.errors).toEqual([]);
  }, 1_800_000);
});
