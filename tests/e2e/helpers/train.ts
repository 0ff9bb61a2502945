// What the e2e tests that train need: a tiny model's files on disk, loaded through the Train step's file picker, the
// run form filled by its labels, and a small question-and-answer dataset short enough for a 40-token sequence.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { makeTinyModel } from '../../../scripts/make-tiny-models';

/** Eight short conversations as JSONL (file name for drops: qa.jsonl). */
export const QA_JSONL = [
  ['What is 2+2?', 'Four.'], ['Name a colour.', 'Blue.'], ['Say hi.', 'Hi there!'], ['Capital of France?', 'Paris.'],
  ['Opposite of up?', 'Down.'], ['A fruit?', 'An apple.'], ['A pet?', 'A cat.'], ['Count to three.', 'One, two, three.'],
].map(([q, a]) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] })).join('\n');

/** The files of a tiny llama (weights from `seed`) in a fresh temporary folder. */
export function tinyModelFiles(seed: number): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-tiny-model-'));
  makeTinyModel('llama-small', dir, seed);
  return readdirSync(dir).map((f) => join(dir, f));
}

/** Loads model files with the Train step's "Choose model files" and waits until the model is loaded. */
export async function loadModelFiles(page: Page, files: string[]): Promise<void> {
  await page.getByRole('tab', { name: 'Train' }).click();
  await page.getByLabel('Choose model files').setInputFiles(files);
  await expect.poll(() => page.locator('.model-status').textContent(), { timeout: 60_000 }).toMatch(/^Loaded: dropped model/);
}

/** Fills the run form (or the fields within a panel): each field by its exact label. */
export async function setRunFields(page: Pick<Page, 'getByLabel'>, fields: Record<string, string | number>): Promise<void> {
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(String(value));
}
