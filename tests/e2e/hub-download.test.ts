// Downloading a model from the Hugging Face hub, in the browser, as a user does it: type a repository id
// and the hub endpoint (here the local Hub stand-in, tests/helpers/hub-standin.ts; no test reaches the internet), watch
// the progress bar, and see the model load. The stand-in behaves like the hub where it matters: files under
// /{owner}/{repo}/resolve/{revision}/{file}, weights redirected to a CDN path, Range requests answered
// with 206 + Content-Range, CORS headers for a page on another origin, 404 for files the repo lacks.
// It also drops the connection half-way through the weights once: the download resumes with a Range
// request from the first missing byte. Then 4-bit weights are chosen, the page reloads (the choice is still
// there), the stand-in stops, and the same repository loads again from the browser's cache, 4-bit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { mib } from '../../src/gpu/memory';
import { configFromHf } from '../../src/io/hf';
import { DEFAULT_LORA } from '../../src/model/lora';
import { loraMemoryByStorage } from '../../src/model/memory-estimate';
import { startHubStandin, type HubStandin } from '../helpers/hub-standin';
import { startApp, type RunningApp } from './helpers/app';
import { axeProblems } from './helpers/axe';
import { seenPartWay } from './helpers/progress';

const REPO = 'tiny-org/tiny-llama';
const files = buildTinyModel('llama-small', 7);
const weights = files.get('model.safetensors')!;

/** Parameters from the safetensors header itself (independent of the app's config reading). */
function parametersInHeader(bytes: Uint8Array): number {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { shape?: number[] }>;
  return Object.entries(header).filter(([k]) => k !== '__metadata__').reduce((s, [, t]) => s + (t.shape ?? []).reduce((a, b) => a * b, 1), 0);
}

/** Bytes sent before the connection is dropped (the first weights response only). */
const DROP_AFTER = Math.floor(weights.length / 2);

let hub: HubStandin;
let endpoint = '';

beforeAll(async () => {
  hub = await startHubStandin();
  hub.repos.set(`models/${REPO}`, { files });
  // Weights trickle out in 16 pieces so the progress bar has time to show; the first response stops half-way.
  hub.trickle.set('model.safetensors', { pieces: 16, ms: 100 });
  hub.dropOnce.set('model.safetensors', DROP_AFTER);
  endpoint = hub.endpoint;
});

let app: RunningApp;
let page: Page;
beforeAll(async () => {
  app = await startApp();
  page = await app.newPage();
}, 180_000);

afterAll(async () => {
  await app?.close();
  await hub.close();
});

const status = () => page.getByText(/^(Loaded: |No model loaded)/);
/** The model status and any alert: a failed load shows its error in the poll's message. */
const outcome = async () => [await status().textContent(), ...await page.getByRole('alert').allTextContents()].join(' | ');

async function downloadFromHub(repo: string, at: string): Promise<void> {
  await page.getByRole('tab', { name: 'Train' }).click();
  await page.getByLabel('Hugging Face repository id').fill(repo);
  await page.getByLabel('Hub endpoint').fill(at);
  await page.getByRole('button', { name: 'Download and load' }).click();
}

describe('hub download in the browser', () => {
  it('downloads with a progress bar, resumes a dropped connection with Range, and loads offline from the cache after a reload, with the remembered weights choice', async () => {
    const parameters = parametersInHeader(weights);
    expect(parameters).toBeGreaterThan(1000);

    // A mistyped endpoint is refused with a message, before any request.
    await downloadFromHub(REPO, 'huggingface.co');
    await expect.poll(() => page.getByRole('alert').allTextContents()).toContainEqual(expect.stringMatching(/"huggingface\.co" is not a web address: the hub endpoint must start with https:\/\//));
    expect(hub.log).toEqual([]);

    await downloadFromHub(REPO, endpoint);
    // The progress bar shows part-way values while the weights trickle in.
    await seenPartWay(page.getByRole('progressbar', { name: `Downloading ${REPO}` }));
    const loaded = new RegExp(`^Loaded: ${REPO} — llama, 2 layers, ${parameters.toLocaleString('en')} parameters, weights f32; about`);
    await expect.poll(outcome, { timeout: 60_000 }).toMatch(loaded);
    expect(await page.getByRole('alert').count()).toBe(0);
    // The adapter line, the engine's gpu summary: Chromium's SwiftShader, which has no shader-f16.
    expect(await page.getByLabel('GPU', { exact: true }).textContent())
      .toMatch(/^GPU: .*swiftshader.*; shader-f16 no, subgroups (yes|no), storage binding limit [\d,]+ MiB$/i);

    // The weights: asked from byte 0, dropped half-way, then resumed from the first missing byte to the end.
    const weightRequests = hub.log.filter((l) => l.path === `/cdn/models/${REPO}/model.safetensors`);
    expect(weightRequests).toHaveLength(2);
    expect(weightRequests[0]).toMatchObject({ range: `bytes=0-${16 * 2 ** 20 - 1}`, status: 206, sent: DROP_AFTER });
    const resume = /^bytes=(\d+)-(\d+)$/.exec(weightRequests[1].range ?? '');
    expect(resume, weightRequests[1].range ?? 'no Range header').not.toBeNull();
    const from = Number(resume![1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(DROP_AFTER);
    expect(Number(resume![2])).toBe(weights.length - 1);
    expect(weightRequests[1]).toMatchObject({ status: 206, sent: weights.length - from });
    // Files the repository lacks were asked for once and answered 404 (remembered as absent).
    expect(hub.log.filter((l) => l.path.endsWith('model.safetensors.index.json')).map((l) => l.status)).toEqual([404]);

    // The "Weights on the GPU" choice is remembered across the reload, and the next load keeps the base so.
    const storage = () => page.getByLabel('Weights on the GPU');
    expect(await storage().inputValue()).toBe('');
    // What LoRA training needs in each storage, with and without checkpointing: the engine's estimate for this
    // model (f32 as shipped) at its default batch.
    const config = configFromHf(JSON.parse(new TextDecoder().decode(files.get('config.json')!)));
    const memory = loraMemoryByStorage(config, { shipped: 'f32', batchTokens: 4 * 512, loraRank: DEFAULT_LORA.rank });
    const figures = (w: string) => { const m = memory.byWeights.find((s) => s.weights === w)!; return `${mib(m.bytesWithCheckpointing)} / ${mib(m.bytes)}`; };
    expect(await page.getByLabel('LoRA training memory by weights').textContent()).toBe(
      `LoRA training (r=${DEFAULT_LORA.rank}, 2048 tokens), with / without activation checkpointing: as shipped (f32) ${figures('f32')}; `
      + `bf16 ${figures('bf16')}; 8-bit (Q8) ${figures('q8')}; 4-bit (NF4) ${figures('q4')}.`);
    expect(await axeProblems(page)).toEqual([]);
    await storage().selectOption('q4');

    // Offline: reload, stop the hub, load the same repository again: it comes from the cache.
    await page.reload();
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect.poll(() => status().textContent()).toBe('No model loaded.');
    expect(await storage().inputValue()).toBe('q4');
    await hub.close();
    const before = hub.log.length;
    await downloadFromHub(REPO, endpoint);
    await expect.poll(outcome, { timeout: 60_000 }).toMatch(new RegExp(loaded.source.replace('weights f32', 'weights q4')));
    expect(hub.log.length).toBe(before);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(app.errors).toEqual([]);
  });
});
