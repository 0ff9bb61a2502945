// The dataset studio in headless Chromium, as a user meets it: pick files, drop a file, see the bad rows
// named, fix one, edit a row, flag, delete and undo, find duplicates and keep one, then reload the page
// and find all of it still there (IndexedDB); an edit followed at once by a reload (no wait for the
// debounced save) is still there and can be undone, and so is a dropped file whose rows had just
// appeared (its version save not done). Also: markup in user data is shown as text, never run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parquetReadObjects } from 'hyparquet';
import type { Page } from 'playwright-core';
import { memorySource } from '../../src/data/bytes';
import { importSource } from '../../src/data/import';
import { DEFAULT_QUALITY } from '../../src/data/quality';
import { loadTokenizerFiles, tokenStats } from '../../src/data/tokens';
import { buildApp, dropFile, startApp, type RunningApp } from './helpers/app';

const FIX = 'tests/fixtures/data';

let dist: string;
let app: RunningApp;
let page: Page;

beforeAll(async () => {
  dist = await buildApp(); // one build for both apps of this file (the empty studio and the first run)
  app = await startApp({ dist });
  page = await app.newPage();
  page.on('dialog', (d) => { app.errors.push(`unexpected dialog: ${d.message()}`); void d.dismiss(); });
}, 120_000);

afterAll(async () => { await app?.close(); if (dist) rmSync(dist, { recursive: true, force: true }); });

const status = () => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status');
const table = () => page.getByRole('region', { name: 'Examples table' });


describe('dataset studio', () => {
  it('imports picked and dropped files, names bad rows, and shows markup as text', async () => {
    await page.getByLabel('Choose files to import').setInputFiles([`${FIX}/alpaca.jsonl`, `${FIX}/messages.jsonl`]);
    await expect.poll(() => status().textContent()).toBe('6 examples');

    const notImported = page.getByRole('region', { name: 'Rows not imported' });
    await expect.poll(() => notImported.getByRole('listitem').allTextContents()).toEqual([
      expect.stringMatching(/^alpaca\.jsonl, line 4: invalid JSON/),
      expect.stringMatching(/^alpaca\.jsonl, line 5: missing field 'output'/),
      expect.stringMatching(/^messages\.jsonl, line 3: messages\[1\] has unknown role 'tool'/),
      expect.stringMatching(/^messages\.jsonl, line 4: expected a JSON object/),
    ]);

    await dropFile(page, 'sharegpt.json', readFileSync(`${FIX}/sharegpt.json`, 'utf8'));
    await expect.poll(() => status().textContent()).toBe('9 examples');

    // User text is rendered as text: the markup is visible verbatim and no element was made from it.
    const markup = 'Say <b>hi</b> <script>alert(1)</script>';
    await expect.poll(() => table().getByRole('cell', { name: markup, exact: true }).count()).toBe(1);
    expect(await table().locator('b, script, img').count()).toBe(0);
    // The import is saved as a version of its own before curation starts.
    await expect.poll(() => page.getByText(/^Saved \(version \d+\)$/).count(), { timeout: 10_000 }).toBe(1);
  });

  it('fixes a bad row, edits, flags, deletes and undoes', async () => {
    await page.getByRole('button', { name: 'Fix alpaca.jsonl, line 4' }).click();
    await page.getByLabel('Text of alpaca.jsonl, line 4').fill('{"instruction":"Fixed by hand","output":"A repaired answer that is long enough."}');
    await page.getByRole('button', { name: 'Retry alpaca.jsonl, line 4' }).click();
    await expect.poll(() => status().textContent()).toBe('10 examples');

    await page.getByRole('button', { name: 'Edit alpaca.jsonl line 1' }).click();
    const editor = page.getByRole('dialog', { name: 'Edit example from alpaca.jsonl, line 1' });
    await editor.getByLabel('Text of turn 2 (assistant)').fill('An edited answer <i>kept as text</i>.');
    await editor.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => table().getByRole('cell', { name: 'An edited answer <i>kept as text</i>.' }).count()).toBe(1);

    await page.getByRole('button', { name: 'Flag alpaca.jsonl line 3' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Unflag alpaca.jsonl line 3' }).count()).toBe(1);

    await page.getByRole('button', { name: 'Delete sharegpt.json line 3' }).click();
    await expect.poll(() => status().textContent()).toBe('9 examples');
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => status().textContent()).toBe('10 examples');

    // The same commands from the keyboard (declared once for button and shortcut): select, delete, undo.
    await page.getByLabel('Select sharegpt.json line 3').check();
    await page.keyboard.press('Delete');
    await expect.poll(() => status().textContent()).toBe('9 examples');
    await page.keyboard.press('Control+z');
    await expect.poll(() => status().textContent()).toBe('10 examples');
    await page.getByLabel('Select sharegpt.json line 3').uncheck();
  });

  it('finds duplicates and keeps one', async () => {
    await page.getByRole('button', { name: 'Find duplicates' }).click();
    const groups = page.getByRole('list', { name: 'Duplicate groups' });
    await expect.poll(() => groups.getByRole('heading').allTextContents()).toEqual(['Group 1: exact']);
    await page.getByRole('button', { name: 'Keep messages.jsonl line 1, delete the others in group 1' }).click();
    await expect.poll(() => status().textContent()).toBe('9 examples');
    expect(await page.getByRole('button', { name: 'Edit messages.jsonl line 5' }).count()).toBe(0);
  });

  it('search and filters narrow the table', async () => {
    await page.getByRole('search').getByLabel('Search').fill('paris');
    await expect.poll(() => status().textContent()).toBe('0 of 9 examples shown');
    await page.getByRole('search').getByLabel('Search').fill('joke');
    await expect.poll(() => status().textContent()).toBe('1 of 9 examples shown');
    await page.getByRole('search').getByLabel('Search').fill('');
    await page.getByRole('search').getByLabel('Flag').selectOption('flagged');
    await expect.poll(() => status().textContent()).toBe('1 of 9 examples shown');
    await page.getByRole('search').getByLabel('Flag').selectOption('all');
  });

  it('counts tokens with a picked tokenizer and previews one example as training sees it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    const files = buildTinyModel('llama-small', 1);
    for (const n of ['tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(dir, n), files.get(n)!);
    await page.getByLabel('Tokenizer files (tokenizer.json, tokenizer_config.json)').setInputFiles([join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json')]);
    const stats = page.getByRole('definition');
    await expect.poll(() => stats.count(), { timeout: 15_000 }).toBe(3);
    expect(Number((await stats.first().textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await page.getByRole('img', { name: /^Token length histogram: 9 examples/ }).count()).toBe(1);

    await page.getByRole('button', { name: 'Preview tokens of alpaca.jsonl line 3' }).click();
    const preview = page.getByRole('region', { name: 'Training preview' });
    await expect.poll(() => preview.getByRole('status').textContent()).toMatch(/^\d+ tokens, \d+ trained on$/);
    const [all, trained] = (await preview.getByRole('status').textContent())!.match(/\d+/g)!.map(Number);
    expect(trained).toBeGreaterThan(0);
    expect(trained).toBeLessThan(all);
    await page.getByLabel('Train on assistant turns only').uncheck();
    await expect.poll(async () => (await preview.getByRole('status').textContent())!.match(/\d+/g)!.map(Number)).toEqual([all, all - 1]);
  });

  it('exports the curated set as JSONL and Parquet', async () => {
    const exportPanel = page.getByRole('region', { name: 'Export' });
    await exportPanel.getByLabel('Leave out flagged examples').check();
    await expect.poll(() => exportPanel.getByRole('status').textContent()).toBe('8 examples will be exported.'); // 9 less the flagged one
    const [jsonl] = await Promise.all([page.waitForEvent('download'), exportPanel.getByRole('button', { name: 'Export JSONL' }).click()]);
    const rows = readFileSync((await jsonl.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(8);
    expect(rows.every((r) => Array.isArray(r.messages) && r.messages.length >= 1)).toBe(true);
    expect(rows.some((r) => r.messages.some((m: { content: string }) => m.content === 'An edited answer <i>kept as text</i>.'))).toBe(true);
    const [pq] = await Promise.all([page.waitForEvent('download'), exportPanel.getByRole('button', { name: 'Export Parquet' }).click()]);
    const bytes = readFileSync((await pq.path())!);
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    const back = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
    expect(back.map((r) => r.messages)).toEqual(rows.map((r) => r.messages));
  });

  it('everything is still there after a reload', async () => {
    await expect.poll(() => page.getByText(/^Saved \(version \d+\)$/).count(), { timeout: 10_000 }).toBe(1);
    await page.reload();
    await expect.poll(() => status().textContent(), { timeout: 15_000 }).toBe('9 examples');
    expect(await table().getByRole('cell', { name: 'An edited answer <i>kept as text</i>.' }).count()).toBe(1);
    expect(await table().getByRole('cell', { name: 'A repaired answer that is long enough.' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Unflag alpaca.jsonl line 3' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Edit messages.jsonl line 5' }).count()).toBe(0);
    // The still-open import issues were saved too (line 4 was fixed).
    const left = await page.getByRole('region', { name: 'Rows not imported' }).getByRole('listitem').allTextContents();
    expect(left.map((t) => t.split(':')[0])).toEqual(['alpaca.jsonl, line 5', 'messages.jsonl, line 3', 'messages.jsonl, line 4', 'sharegpt.json, line 4']);
    expect((await page.getByRole('list', { name: 'Saved versions' }).getByRole('listitem').count())).toBeGreaterThan(1);
    expect(app.errors).toEqual([]);
  });

  it('an edit survives a reload that comes at once, and can still be undone', async () => {
    await page.getByRole('button', { name: 'Edit alpaca.jsonl line 3' }).click();
    const editor = page.getByRole('dialog', { name: 'Edit example from alpaca.jsonl, line 3' });
    await editor.getByLabel('Text of turn 2 (assistant)').fill('Edited just before a reload.');
    await editor.getByRole('button', { name: 'Save changes' }).click();
    await page.reload(); // no wait: the debounced save has not run
    await expect.poll(() => status().textContent(), { timeout: 15_000 }).toBe('9 examples');
    await expect.poll(() => table().getByRole('cell', { name: 'Edited just before a reload.' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => table().getByRole('cell', { name: 'Edited just before a reload.' }).count()).toBe(0);
    expect(await table().getByRole('cell', { name: 'An edited answer <i>kept as text</i>.' }).count()).toBe(1);
    expect(app.errors).toEqual([]);
  });

  it('a dropped file survives a reload that comes as soon as its rows appear', async () => {
    // 6000 rows: three slices as they come from the worker, and a version save long enough to cut short.
    const n = 6000;
    const text = Array.from({ length: n }, (_, i) => JSON.stringify({ instruction: `Dropped question ${i}`, output: `Dropped answer ${i}.` })).join('\n');
    await dropFile(page, 'dropped.jsonl', text);
    await expect.poll(() => status().textContent(), { timeout: 30_000, interval: 20 }).toBe(`${9 + n} examples`);
    await page.reload(); // no wait for the import's version save
    await expect.poll(() => status().textContent(), { timeout: 30_000 }).toBe(`${9 + n} examples`);
    await page.getByRole('search').getByLabel('Search').fill(`dropped answer ${n - 1}.`);
    await expect.poll(() => status().textContent()).toBe(`1 of ${9 + n} examples shown`);
    await page.getByRole('search').getByLabel('Search').fill('');
    expect(app.errors).toEqual([]);
  });
});

describe('dataset studio at first run', () => {
  it('counts tokens and previews an example with the built-in model\'s tokenizer, no file picked; a model switch recounts', async () => {
    // Independent of the page: the trainable-token total of the two sample files under the default
    // model's tokenizer files, computed here in Node from the files on disk.
    const lt = await loadTokenizerFiles({
      name: 'default',
      tokenizerJson: readFileSync('public/models/default/tokenizer.json', 'utf8'),
      tokenizerConfig: readFileSync('public/models/default/tokenizer_config.json', 'utf8'),
    });
    const records = (await Promise.all(['world-qa.messages.jsonl', 'world-qa.eval.jsonl']
      .map((n) => importSource(memorySource(n, readFileSync(`public/samples/${n}`)))))).flatMap((r) => r.records);
    const expected = tokenStats(lt, records, { maxSeqLen: DEFAULT_QUALITY.maxSeqLen, assistantOnly: true });
    // A second model with a tokenizer of its own: the counts must follow it (the data worker asks the engine
    // worker for the loaded model's tokenizer over their own channel; the page carries no tokenizer bytes).
    const tiny = buildTinyModel('llama-small', 1);
    const tinyDir = mkdtempSync(join(tmpdir(), 'e2e-tokenizer-'));
    for (const [n, bytes] of tiny) writeFileSync(join(tinyDir, n), bytes);
    const tinyText = (n: string) => new TextDecoder().decode(tiny.get(n)!);
    const tinyLt = await loadTokenizerFiles({ name: 'tiny', tokenizerJson: tinyText('tokenizer.json'), tokenizerConfig: tinyText('tokenizer_config.json') });
    const tinyExpected = tokenStats(tinyLt, records, { maxSeqLen: DEFAULT_QUALITY.maxSeqLen, assistantOnly: true });
    expect(tinyExpected.trainable).not.toBe(expected.trainable);

    const first = await startApp({ dist, firstRun: true });
    try {
      const p = await first.newPage();
      await expect.poll(() => p.getByLabel('Loaded model').textContent(), { timeout: 90_000 }).toBe('built-in model');
      await expect.poll(() => p.getByText(/^Tokenizer of the loaded model: built-in model/).count(), { timeout: 60_000 }).toBe(1);
      const stats = p.getByRole('definition');
      await expect.poll(() => stats.count(), { timeout: 60_000 }).toBe(3);
      await expect.poll(async () => Number((await stats.first().textContent())!.replace(/,/g, ''))).toBe(expected.trainable);
      expect(await p.getByRole('img', { name: new RegExp(`^Token length histogram: ${records.length} examples`) }).count()).toBe(1);

      await p.getByRole('button', { name: 'Preview tokens of world-qa.messages.jsonl line 1', exact: true }).click();
      const preview = p.getByRole('region', { name: 'Training preview' });
      await expect.poll(() => preview.getByRole('status').textContent(), { timeout: 15_000 }).toMatch(/^\d+ tokens, \d+ trained on$/);
      const [all, trained] = (await preview.getByRole('status').textContent())!.match(/\d+/g)!.map(Number);
      expect(trained).toBeGreaterThan(0);
      expect(trained).toBeLessThan(all);

      await p.getByRole('tab', { name: 'Train' }).click();
      await p.getByLabel('Choose model files').setInputFiles([...tiny.keys()].map((n) => join(tinyDir, n)));
      await expect.poll(() => p.locator('.model-status').textContent(), { timeout: 30_000 }).toMatch(/^Loaded: dropped model/);
      const loaded = (await p.getByLabel('Loaded model').textContent())!;
      await p.getByRole('tab', { name: 'Data' }).click();
      await expect.poll(() => p.getByText(`Tokenizer of the loaded model: ${loaded}`).count(), { timeout: 30_000 }).toBe(1);
      await expect.poll(async () => Number((await stats.first().textContent())!.replace(/,/g, '')), { timeout: 30_000 }).toBe(tinyExpected.trainable);
      expect(first.errors).toEqual([]);
    } finally {
      await first.close();
      rmSync(tinyDir, { recursive: true, force: true });
    }
  });
});
