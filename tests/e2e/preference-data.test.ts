// Preference pairs through the Data step in headless Chromium: drop the built-in TRL pair set and an Anthropic HH
// file written here, see the pairs in the table (the rejected answer beside the chosen one), preview a pair's chosen
// and rejected tokens as the preference loss sees them (the loaded model's tokenizer: answer in, prompt out, an
// assistant turn of the prompt too), split off a validation share, then start a 2-step DPO in the Train tab from
// the dataset's train split with the validation pairs held out; Compare's batch evaluation then scores the DPO run
// against the base on those held-out pairs (its win rate by log-prob margins above one half).
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { dropFile, startApp, type RunningApp } from './helpers/app';

let app: RunningApp;
let page: Page;
const STEPS = 2;
const SAMPLE = 'public/samples/world-pref.train.jsonl';
const HH = [
  { chosen: '\n\nHuman: Hello\n\nAssistant: Hi.\n\nHuman: Who keeps the lighthouse?\n\nAssistant: Old Bram keeps it.', rejected: '\n\nHuman: Hello\n\nAssistant: Hi.\n\nHuman: Who keeps the lighthouse?\n\nAssistant: Nobody.' },
  { chosen: '\n\nHuman: Name the river.\n\nAssistant: The Senn.', rejected: '\n\nHuman: Name the river.\n\nAssistant: Senn' },
  { chosen: '\n\nHuman: Name the river.\n\nAssistant: The Senn.' },
];

beforeAll(async () => {
  app = await startApp();
  page = await app.newPage();
}, 120_000);

afterAll(async () => { await app?.close(); });

const status = () => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status');
const table = () => page.getByRole('region', { name: 'Examples table' });


describe('preference pairs in the Data step', () => {
  it('imports TRL and HH pairs, shows both answers, previews both masks, and trains DPO on the dataset', async () => {
    const sampleRows = readFileSync(SAMPLE, 'utf8').trim().split('\n');
    // The built-in model first: the Data step counts and previews with the loaded model's tokenizer.
    await page.getByRole('tab', { name: 'Train' }).click();
    await page.getByRole('button', { name: 'Load the built-in model' }).click();
    await expect.poll(() => page.locator('.model-status').textContent(), { timeout: 30_000 }).toMatch(/^Loaded: default model/);

    await page.getByRole('tab', { name: 'Data' }).click();
    await dropFile(page, 'world-pref.train.jsonl', readFileSync(SAMPLE, 'utf8'));
    await expect.poll(() => status().textContent(), { timeout: 15_000 }).toBe(`${sampleRows.length} examples`);
    await dropFile(page, 'hh.jsonl', HH.map((r) => JSON.stringify(r)).join('\n'));
    await expect.poll(() => status().textContent(), { timeout: 15_000 }).toBe(`${sampleRows.length + 2} examples`);
    // The HH row without a rejected answer is named, not imported.
    await expect.poll(() => page.getByRole('region', { name: 'Rows not imported' }).getByRole('listitem').allTextContents())
      .toEqual([expect.stringMatching(/^hh\.jsonl, line 3: has 'chosen' but no 'rejected'/)]);

    // The table: a Rejected column beside the chosen response.
    expect(await table().getByRole('columnheader', { name: 'Rejected' }).count()).toBe(1);
    const first = JSON.parse(sampleRows[0]) as { chosen: { content: string }[]; rejected: { content: string }[] };
    const rowOf = (source: string) => table().getByRole('row').filter({ has: page.getByRole('cell', { name: source, exact: true }) });
    const firstRow = rowOf('world-pref.train.jsonl:1');
    expect(await firstRow.getByRole('cell').allTextContents()).toEqual(expect.arrayContaining([first.chosen[0].content, first.rejected[0].content]));

    // The mask preview shows both answers, the loss on the answer only.
    const preview = page.getByRole('region', { name: 'Training preview' });
    const trained = (side: string) => preview.getByRole('group', { name: `${side} tokens` }).locator('.tok.target').allTextContents();
    await page.getByRole('button', { name: 'Preview tokens of world-pref.train.jsonl line 1', exact: true }).click();
    await expect.poll(() => preview.getByRole('status').allTextContents(), { timeout: 15_000 })
      .toEqual([expect.stringMatching(/^Chosen: \d+ tokens, \d+ trained on$/), expect.stringMatching(/^Rejected: \d+ tokens, \d+ trained on$/)]);
    expect((await trained('Chosen')).join('')).toBe(` ${first.chosen[0].content}<|im_end|>`);
    expect((await trained('Rejected')).join('')).toBe(` ${first.rejected[0].content}<|im_end|>`);

    // The HH rows sit below the fold of the virtual table: the search brings the first one up (it searches both answers).
    await page.getByRole('search').getByLabel('Search').fill('nobody');
    await expect.poll(() => status().textContent()).toBe(`1 of ${sampleRows.length + 2} examples shown`);
    expect(await rowOf('hh.jsonl:1').getByRole('cell', { name: 'Nobody.', exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'Preview tokens of hh.jsonl line 1', exact: true }).click();
    await expect.poll(async () => (await trained('Rejected')).join(''), { timeout: 15_000 }).toBe(' Nobody.<|im_end|>');
    expect((await trained('Chosen')).join('')).toBe(' Old Bram keeps it.<|im_end|>');
    // The prompt's own assistant turn is there, as context.
    expect(await preview.getByRole('group', { name: 'Chosen tokens' }).textContent()).toContain('Hi.');
    await page.getByRole('search').getByLabel('Search').fill('');

    // A validation share, held out of the preference run.
    await page.getByRole('button', { name: 'Apply split' }).click();
    const split = page.getByRole('region', { name: 'Train / validation split' }).getByRole('status');
    await expect.poll(() => split.textContent()).toMatch(/^Train: \d+ · Validation: [1-9]\d*$/);
    const [train, validation] = (await split.textContent())!.match(/\d+/g)!.map(Number);

    await page.getByRole('tab', { name: 'Train' }).click();
    await page.getByLabel('Max steps', { exact: true }).fill(String(STEPS));
    await page.getByLabel('Warm-up steps', { exact: true }).fill('0'); // a warm-up as long as the run is refused
    const panel = page.getByRole('region', { name: 'Preference tuning (DPO / ORPO)' });
    await panel.getByRole('button', { name: "Use the current dataset's pairs" }).click();
    const pairs = panel.getByRole('table', { name: 'Preference pairs' });
    await expect.poll(() => pairs.locator('caption').textContent()).toMatch(new RegExp(`: ${train} pairs \\(train split; ${validation} validation pairs held out\\)$`));
    await panel.getByRole('button', { name: 'Start preference tuning' }).click();
    await expect.poll(() => panel.getByRole('status', { name: 'Preference run status' }).textContent(), { timeout: 240_000, interval: 1000 }).toBe(`Finished — step ${STEPS} of ${STEPS}`);
    const rows = await panel.getByRole('table', { name: 'Latest preference metrics' }).locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => Number(c.textContent))));
    expect(rows.map((r) => r[0])).toEqual([1, 2]);
    expect(rows[0][1]).toBe(0.6931); // a new adapter is its own reference: the first loss is ln 2

    // Compare: the DPO run against the base on the held-out pairs (the validation split).
    await page.getByRole('tab', { name: 'Compare' }).click();
    const models = page.getByRole('list', { name: 'Answering models' });
    await expect.poll(() => models.getByRole('listitem').allInnerTexts(), { timeout: 10_000 }).toEqual(['Base', expect.stringMatching(/^DPO on .* \(last\)/)]);
    await page.getByRole('button', { name: 'Evaluate the validation split' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Batch status' }).textContent(), { timeout: 240_000, interval: 1000 }).toBe(`Done: ${validation} of ${validation} examples`);
    expect(await page.getByRole('heading', { name: `Preference pairs (${validation} held out)` }).count()).toBe(1);
    await page.getByLabel('Win rate against').selectOption({ label: 'Base' });
    const scores = page.getByRole('table', { name: 'Preference pair results' });
    const cells = async (row: RegExp) => scores.getByRole('row', { name: row }).locator('td').evaluateAll((tds) => tds.map((td) => ({ text: td.textContent, value: td.getAttribute('data-value') })));
    const base = await cells(/^Base/);
    const dpo = await cells(/^DPO on/);
    expect(base.slice(3).map((c) => c.text)).toEqual(['the reference', 'the reference']);
    for (const c of [...base.slice(0, 3), ...dpo]) expect(Number.isFinite(Number(c.value)), JSON.stringify(c)).toBe(true);
    // Two DPO steps already separate chosen from rejected by more than the base does on most held-out pairs.
    expect(Number(dpo[4].value)).toBeGreaterThan(0.5);
    expect(dpo[4].text).toMatch(/^\d+\.\d% \(\d+ won, \d+ tied, \d+ lost\)$/);
    await page.getByRole('region', { name: 'Batch evaluation' }).screenshot({ path: join(tmpdir(), 'e2e-preference-batch.png') });
    expect(app.errors).toEqual([]);
  }, 420_000);
});
