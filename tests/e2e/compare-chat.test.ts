// Compare's conversation mode and several answers per prompt, in headless Chromium on the built app, as a user meets
// them after a short run on a tiny model: two sampled answers from the run to one prompt, the second marked better,
// give one pair in the preferences download; then a three-turn conversation with the base model and the run side by
// side (each turn streamed in both columns; the run's answer marked better on turns 1 and 2, the base's on turn 3)
// passes axe and is photographed at 1400 px and 390 px (docs/screenshots/compare-chat-*.png); after a reload it is
// still listed and shown with its marks, its SFT rows (the pick per turn, and the run's answers) and its preference
// pairs download with the right roles, turns and marked answers (the conversation so far as each pair's prompt,
// the shared history being the picked answers), and it can be deleted.
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFile, startApp, type RunningApp } from './helpers/app';
import { axeProblems } from './helpers/axe';
import { loadModelFiles, QA_JSONL, setRunFields, tinyModelFiles } from './helpers/train';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));
const work = join(tmpdir(), `e2e-compare-chat-${Date.now()}`);
mkdirSync(work, { recursive: true });
const TUNED = 'Run 1 (last)';
const TURNS = ['Name a colour.', 'Another one?', 'Which is warmer?'];

let app: RunningApp;
let page: Page;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  app = await startApp();
  page = await app.newPage();
}, 120_000);
afterAll(async () => { await app?.close(); });

const tab = (name: string) => page.getByRole('tab', { name });

async function downloaded(click: () => Promise<void>): Promise<{ name: string; lines: Record<string, unknown>[] }> {
  const d = page.waitForEvent('download');
  await click();
  const dl = await d;
  const path = join(work, dl.suggestedFilename());
  await dl.saveAs(path);
  const text = readFileSync(path, 'utf8');
  return { name: dl.suggestedFilename(), lines: text.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The answer texts of turn t (1-based) in the conversation view, by column label. */
async function answersOf(t: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const label of ['Base', TUNED]) out[label] = (await page.getByRole('article', { name: `Turn ${t}, answer from ${label}` }).locator('.answer-text').textContent()) ?? '';
  return out;
}

describe('compare: conversations and several answers', () => {
  it('samples answers to mark, holds a three-turn conversation, keeps it over a reload, exports it, deletes it', async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    await tab('Data').click();
    await dropFile(page, 'qa.jsonl', QA_JSONL);
    await expect.poll(() => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status').textContent()).toBe('8 examples');
    await loadModelFiles(page, tinyModelFiles(4));
    await setRunFields(page, { 'Max steps': 8, 'Batch size': 2, 'Max sequence length': 40, 'Learning rate': '0.05', 'LoRA rank': 4, 'Checkpoint every N steps': 4, 'Evaluate every N steps': 0 });
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Run status' }).textContent(), { timeout: 90_000 }).toMatch(/^Finished — step 8 of 8/);

    await tab('Compare').click();
    await expect.poll(() => page.getByRole('list', { name: 'Answering models' }).getByRole('listitem').allInnerTexts(), { timeout: 10_000 }).toEqual(['Base', expect.stringMatching(/^Run 1 \(last\)/)]);
    await page.getByLabel('Max new tokens').fill('8');

    // Several answers per prompt: two sampled answers from the run, the second marked better → one pair.
    await page.getByLabel('Your prompt').fill('Tell me about the sea.');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => page.getByRole('article', { name: `Answer from ${TUNED}` }).getAttribute('aria-busy'), { timeout: 60_000 }).toBe('false');
    expect(await page.getByRole('button', { name: 'Sample answers' }).isDisabled()).toBe(true);   // greedy: one answer only
    await page.getByLabel('Greedy').uncheck();
    await page.getByLabel('Model to sample').selectOption({ label: TUNED });
    await page.getByLabel('Number of answers').fill('2');
    await page.getByRole('button', { name: 'Sample answers' }).click();
    const sample = (i: number) => page.getByRole('article', { name: `Answer ${i} of 2 from ${TUNED}` });
    for (const i of [1, 2]) await expect.poll(() => sample(i).getAttribute('aria-busy'), { timeout: 60_000 }).toBe('false');
    const [first, second] = await Promise.all([1, 2].map(async (i) => (await sample(i).locator('.answer-text').textContent()) ?? ''));
    expect(first).not.toBe(second);   // sampled with their own seeds
    await page.getByRole('button', { name: 'Answer 2 is better' }).click();
    expect(await page.getByRole('status', { name: 'Pairs from several answers' }).textContent()).toBe('1 pair from several answers marked.');
    // The photographs are of one panel each (until the reload): the sticky header would cover part of a panel taller than the window.
    await page.addStyleTag({ content: '.shell-header { position: static !important; }' });
    await page.getByRole('region', { name: 'Answers to: Tell me about the sea.' }).screenshot({ path: join(SHOTS, 'compare-samples-1400.png') });
    const prefs = await downloaded(() => page.getByRole('button', { name: 'Download preferences as JSONL' }).click());
    expect(prefs.lines).toEqual([{ prompt: [{ role: 'user', content: 'Tell me about the sea.' }], chosen: [{ role: 'assistant', content: second }], rejected: [{ role: 'assistant', content: first }] }]);
    await page.getByLabel('Greedy').check();

    // The conversation: three turns, base and run side by side, each streamed.
    await page.getByRole('radio', { name: 'Conversation' }).check();
    const send = page.getByRole('button', { name: 'Send' });
    await expect.poll(() => page.getByRole('radio', { name: 'Shared: the picked answers (default)' }).isChecked()).toBe(true);
    expect(await axeProblems(page), 'a new conversation').toEqual([]);
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __seen: string[] }).__seen = seen;
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[aria-label^="Statistics for Turn "]')) seen.push(`${el.getAttribute('aria-label')}: ${el.textContent}`);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const answers: Record<string, string>[] = [];
    for (const [i, text] of TURNS.entries()) {
      await page.getByLabel('Your message').fill(text);
      await send.click();
      for (const label of ['Base', TUNED]) {
        await expect.poll(() => page.getByRole('article', { name: `Turn ${i + 1}, answer from ${label}` }).getAttribute('aria-busy'), { timeout: 60_000 }).toBe('false');
      }
      answers.push(await answersOf(i + 1));
      await page.getByRole('button', { name: `Turn ${i + 1}: ${i < 2 ? TUNED : 'Base'} is better` }).click();
      await expect.poll(() => page.getByRole('button', { name: `Turn ${i + 1}: ${i < 2 ? TUNED : 'Base'} is better` }).getAttribute('aria-pressed')).toBe('true');
    }
    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    for (const label of ['Base', TUNED]) expect(seen.some((x) => x.startsWith(`Statistics for Turn 2, answer from ${label}: `) && x.endsWith('generating…'))).toBe(true);
    for (const a of answers) expect(a.Base).not.toBe(a[TUNED]);   // the pairs below are real preferences
    expect(await page.getByRole('status', { name: 'Marked turns' }).textContent()).toBe('3 of 3 turns marked: 3 pairs');
    expect(await page.getByRole('list', { name: 'Turns' }).getByRole('listitem').count()).toBe(3);

    // Photographs and axe at both widths.
    const view = page.getByRole('region', { name: 'Conversation' });
    expect(await axeProblems(page), 'conversation at 1400 px').toEqual([]);
    await view.screenshot({ path: join(SHOTS, 'compare-chat-1400.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await axeProblems(page), 'conversation at 390 px').toEqual([]);
    await view.screenshot({ path: join(SHOTS, 'compare-chat-390.png') });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, 'the page does not scroll sideways at 390 px').toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1400, height: 900 });

    // After a reload it is still there, with its answers and marks.
    await page.reload();
    await tab('Compare').click();
    await page.getByRole('radio', { name: 'Conversation' }).check();
    await expect.poll(() => page.getByRole('list', { name: 'Turns' }).getByRole('listitem').count(), { timeout: 20_000 }).toBe(3);
    expect(await page.getByLabel('Saved conversations').locator('option:checked').textContent()).toBe('Name a colour. (3 turns)');
    for (const [i] of TURNS.entries()) expect(await answersOf(i + 1)).toEqual(answers[i]);
    expect(await page.getByRole('button', { name: `Turn 3: Base is better` }).getAttribute('aria-pressed')).toBe('true');

    // SFT rows: the pick per turn (the marked answers: the shared history), and the run's own answers.
    const turns = (assistant: string[]) => TURNS.flatMap((u, i) => [{ role: 'user', content: u }, { role: 'assistant', content: assistant[i] }]);
    const picks = [answers[0][TUNED], answers[1][TUNED], answers[2].Base];
    const sft = await downloaded(() => page.getByRole('button', { name: 'Download as SFT JSONL' }).click());
    expect(sft.name).toBe('Name-a-colour.-pick.jsonl');
    expect(sft.lines).toEqual([{ messages: turns(picks) }]);
    await page.getByLabel('SFT rows from').selectOption({ label: TUNED });
    const tunedRows = await downloaded(() => page.getByRole('button', { name: 'Download as SFT JSONL' }).click());
    expect(tunedRows.lines).toEqual([{ messages: turns(answers.map((a) => a[TUNED])) }]);

    // Preference pairs: each turn's marked answer against the other, the conversation so far (the picks) as the prompt.
    const pairs = await downloaded(() => page.getByRole('button', { name: 'Download preference pairs' }).click());
    const history = turns(picks);
    expect(pairs.lines).toEqual([
      { prompt: history.slice(0, 1), chosen: [{ role: 'assistant', content: answers[0][TUNED] }], rejected: [{ role: 'assistant', content: answers[0].Base }] },
      { prompt: history.slice(0, 3), chosen: [{ role: 'assistant', content: answers[1][TUNED] }], rejected: [{ role: 'assistant', content: answers[1].Base }] },
      { prompt: history.slice(0, 5), chosen: [{ role: 'assistant', content: answers[2].Base }], rejected: [{ role: 'assistant', content: answers[2][TUNED] }] },
    ]);

    // Deleted (after a confirmation), it is gone from the list.
    await page.getByRole('button', { name: 'Delete conversation' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByLabel('Saved conversations').locator('option').allTextContents()).toEqual(['None saved yet']);
    expect(await page.getByRole('list', { name: 'Turns' }).count()).toBe(0);
    expect(app.errors).toEqual([]);
  });
});
