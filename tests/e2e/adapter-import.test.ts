// Imported PEFT adapters in headless Chromium, as a user meets them. A PEFT adapter for the built-in model is
// written here in Node by the PEFT conventions alone (keys 'base_model.model.<module>.lora_A.weight' [r, in]
// and '.lora_B.weight' [out, r], seeded random values, a hand-written adapter_config.json), as if trained
// elsewhere for a model of another name, and zipped inside a folder. On the page: load the built-in model, drop
// the zip on Compare; it is refused for naming another base model, imported on "Import anyway", listed and
// becomes a column; a typed prompt streams its answer (decoded by our engine, the automatic choice for this small
// model even on this software adapter, and the same again from onnxruntime-web chosen by hand); a batch evaluation over the validation split
// gives, for the imported column, exactly the answers and the loss of the CLI (`generate` / `eval --adapter`
// on the same files), and answers unlike the base model's. An adapter for another base (hidden 32 where the
// model has 64) is refused with the shapes named even on "Import anyway", and nothing is added. Train starts a run from the imported
// adapter (its LoRA shape fixed). After a reload the adapter is still listed and the stored batch results are
// shown again with the same numbers (and the preference mark); it can be renamed and deleted. The Export tab
// gives the imported files back as a PEFT zip and a merged model whose weights are W + (alpha/r)·B·A, and its
// ONNX check finds the export in agreement with the engine.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_FORMAT_IDS, EXPORT_FORMATS } from '../../src/export/formats';
import { parseSafetensors, readTensorF32, writeSafetensors, type WriteTensor } from '../../src/io/safetensors';
import { mulberry32 } from '../../src/model/random';
import { startApp, type RunningApp } from './helpers/app';
import { studioJson } from '../helpers/cli';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const MODEL = join(ROOT, 'public/models/default');
const work = mkdtempSync(join(tmpdir(), 'e2e-adapter-import-'));
let app: RunningApp;
let page: Page;

/** A rank-8 PEFT adapter on q_proj and v_proj of a 2-layer Llama with 4 query and 2 KV heads of 16 dims. */
function peftAdapter(hidden: number, seed: number): { 'adapter_model.safetensors': Uint8Array; 'adapter_config.json': string; tensors: WriteTensor[] } {
  const r = mulberry32(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * 0.5);
  const tensors: WriteTensor[] = [];
  for (let layer = 0; layer < 2; layer++) {
    for (const [module, out] of [['q_proj', 4 * 16], ['v_proj', 2 * 16]] as const) {
      const key = `base_model.model.model.layers.${layer}.self_attn.${module}`;
      tensors.push({ name: `${key}.lora_A.weight`, shape: [8, hidden], data: values(8 * hidden) });
      tensors.push({ name: `${key}.lora_B.weight`, shape: [out, 8], data: values(out * 8) });
    }
  }
  const config = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj'],
    bias: 'none', fan_in_fan_out: false, use_rslora: false, base_model_name_or_path: 'elsewhere/world-model', inference_mode: true,
  };
  return { 'adapter_model.safetensors': writeSafetensors(tensors, { metadata: { format: 'pt' } }), 'adapter_config.json': JSON.stringify(config, null, 2), tensors };
}

/** Values in the file, counted from its own header (by the safetensors layout: 8-byte length, JSON header). */
function valuesIn(files: ReturnType<typeof peftAdapter>): number {
  const bytes = files['adapter_model.safetensors'];
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { shape?: number[] }>;
  return Object.values(header).reduce((sum, t) => sum + (t.shape ? t.shape.reduce((a, b) => a * b, 1) : 0), 0);
}

const zipOf = (folder: string, files: ReturnType<typeof peftAdapter>) => zipSync({
  [`${folder}/adapter_model.safetensors`]: files['adapter_model.safetensors'],
  [`${folder}/adapter_config.json`]: strToU8(files['adapter_config.json']),
});

const adapter = peftAdapter(64, 7);
const adapterDir = join(work, 'world-adapter');
mkdirSync(adapterDir);
for (const name of ['adapter_model.safetensors', 'adapter_config.json'] as const) writeFileSync(join(adapterDir, name), adapter[name]);

const chat = (q: string, a: string) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });
const VALIDATION = [chat('Where does Juno live?', 'Juno lives in Rookwood.'), chat('What is Calder\'s job?', 'Calder is a sailor.')];
const TRAIN = [chat('Where does Calder live?', 'Calder lives in Tarn.'), chat('What pet does Juno have?', 'Juno has a goat.')];
const MAX_NEW = 12;

beforeAll(async () => {
  app = await startApp();
  page = await app.newPage();
}, 180_000);

afterAll(async () => { await app?.close(); });

const tab = (name: string) => page.getByRole('tab', { name });

async function drop(region: string, name: string, bytes: Uint8Array, type: string): Promise<void> {
  const dt = await page.evaluateHandle(({ name, b64, type }) => {
    const d = new DataTransfer();
    d.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
    return d;
  }, { name, b64: Buffer.from(bytes).toString('base64'), type });
  await page.getByRole('region', { name: region }).dispatchEvent('drop', { dataTransfer: dt });
}

async function download(button: string): Promise<{ name: string; bytes: Uint8Array }> {
  const d = page.waitForEvent('download');
  await page.getByRole('button', { name: button }).click();
  const dl = await d;
  const path = join(work, dl.suggestedFilename());
  await dl.saveAs(path);
  return { name: dl.suggestedFilename(), bytes: new Uint8Array(readFileSync(path)) };
}

async function batchValues(row: string): Promise<number[]> {
  const cells = page.getByRole('table', { name: 'Batch results' }).getByRole('row', { name: new RegExp(`^${row.replace(/[()]/g, '\\$&')}`) }).locator('td[data-value]');
  return cells.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
}

describe('imported adapters', () => {
  it('imports a dropped PEFT zip that answers like the CLI, persists with its batch results, trains further', async () => {
    await drop('Drop files to import', 'qa.json', strToU8(JSON.stringify({ train: TRAIN, validation: VALIDATION })), 'application/json');
    await expect.poll(() => page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('status').textContent()).toBe('4 examples');

    await tab('Train').click();
    await page.getByRole('button', { name: 'Load the built-in model' }).click();
    await expect.poll(() => page.getByText(/^Loaded: default model/).count(), { timeout: 60_000 }).toBe(1);

    // Drop the zip on Compare: it is checked, listed, and answers as a column beside the base model.
    await tab('Compare').click();
    // Its config names another base model ('elsewhere/world-model'): refused, then imported on the user's say-so.
    await drop('Drop a PEFT adapter', 'world-adapter.zip', zipOf('world-adapter', adapter), 'application/zip');
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 30_000 })
      .toMatch(/^The adapter was not imported: world-adapter\.zip\/adapter_config\.json: the adapter was trained on elsewhere\/world-model, not on default model/);
    expect(await page.getByRole('table', { name: 'Imported adapters' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Import anyway' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Adapter import status' }).textContent(), { timeout: 30_000 })
      .toBe(`Imported world-adapter: LoRA r=8, alpha=16, q_proj v_proj, ${valuesIn(adapter).toLocaleString('en')} values.`);
    const listed = page.getByRole('table', { name: 'Imported adapters' });
    expect(await listed.getByRole('row').allInnerTexts()).toEqual([expect.stringMatching(/^Name/), expect.stringMatching(/^world-adapter\tr=8, alpha=16, q_proj v_proj\tdefault model; made for elsewhere\/world-model/)]);
    const models = page.getByRole('list', { name: 'Answering models' });
    await expect.poll(() => models.getByRole('listitem').allInnerTexts()).toEqual(['Base', expect.stringMatching(/^world-adapter \(imported\)/)]);

    // An adapter for another base is refused whole, with the shapes named, even when the name check is overridden.
    await drop('Drop a PEFT adapter', 'small.zip', zipOf('small', peftAdapter(32, 8)), 'application/zip');
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 30_000 }).toMatch(/trained on elsewhere\/world-model, not on default model/);
    await page.getByRole('button', { name: 'Import anyway' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 30_000 })
      .toMatch(/^The adapter was not imported: small\.zip\/adapter_model\.safetensors: base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight has shape \[8,32\] but this model needs \[8,64\]/);
    expect(await listed.getByRole('row').count()).toBe(2);

    // A typed prompt: the imported column's statistics show tokens arriving while it generates.
    await page.getByLabel('Max new tokens').fill(String(MAX_NEW));
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __seen: string[] }).__seen = seen;
      new MutationObserver(() => {
        const t = document.querySelector('[aria-label="Statistics for world-adapter (imported)"]')?.textContent ?? '';
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByLabel('Your prompt').fill('Where does Juno live?');
    await page.getByRole('button', { name: 'Generate' }).click();
    const answer = page.getByRole('article', { name: 'Answer from world-adapter (imported)' });
    await expect.poll(() => answer.getAttribute('aria-busy'), { timeout: 60_000 }).toBe('false');
    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    expect(seen.filter((t) => /^[1-9]\d* tokens .*generating…$/.test(t)).length, JSON.stringify(seen)).toBeGreaterThanOrEqual(2);
    // The automatic decoder is ours (on this software adapter, its CPU step: faster than onnxruntime-web's wasm on
    // this small model); onnxruntime-web, chosen by hand, gives the same greedy answer.
    const stats = page.getByLabel('Statistics for world-adapter (imported)');
    const answerText = answer.locator('[aria-live="polite"]');
    expect(await stats.textContent()).toMatch(/ · WebGPU engine · on the CPU · /);
    const viaEngine = await answerText.innerText();
    expect(viaEngine.length).toBeGreaterThan(0);
    await page.getByLabel('Decoder').selectOption({ label: 'onnxruntime-web (wasm)' });
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => stats.textContent(), { timeout: 60_000 }).toMatch(/ · onnxruntime-web · /);
    expect(await answerText.innerText()).toBe(viaEngine);
    await page.getByLabel('Decoder').selectOption({ label: 'Automatic (fastest here)' });

    // Batch evaluation: the imported column's answers and loss are the CLI's with the same adapter files.
    await page.getByRole('button', { name: 'Evaluate the validation split' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Batch status' }).textContent(), { timeout: 120_000 }).toBe('Done: 2 of 2 examples');
    const tuned = await batchValues('world-adapter (imported)');
    const base = await batchValues('Base');
    const jsonl = await download('Download results as JSONL');
    const lines = new TextDecoder().decode(jsonl.bytes).trimEnd().split('\n').map((l) => JSON.parse(l) as { model: string; prompt: string; output: string });
    const importedLines = lines.filter((l) => l.model.startsWith('imported:'));
    expect(importedLines.map((l) => l.prompt)).toEqual(VALIDATION.map((v) => v.messages[0].content));
    // The adapter's config names another folder ('elsewhere/world-model') for the same weights: the CLI is told so.
    for (const l of importedLines) {
      const cli = studioJson('generate', MODEL, '--adapter', adapterDir, '--ignore-base-model', '--prompt', l.prompt, '--max-new-tokens', String(MAX_NEW), '--json');
      expect(l.output, l.prompt).toBe(cli.text);
    }
    expect(importedLines.map((l) => l.output)).not.toEqual(lines.filter((l) => l.model === 'base').map((l) => l.output));
    const valFile = join(work, 'validation.jsonl');
    writeFileSync(valFile, VALIDATION.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cliEval = studioJson('eval', MODEL, '--adapter', adapterDir, '--ignore-base-model', '--data', valFile, '--max-new-tokens', String(MAX_NEW), '--json') as { loss: number; exactMatch: number };
    const [em, , , , loss] = tuned;
    // The same f32 engine on the same tokens in Chromium and in Node; summation order may differ slightly.
    expect(Math.abs(cliEval.loss - loss) / cliEval.loss).toBeLessThan(1e-5);
    expect(Math.abs(loss - base[4]) / base[4]).toBeGreaterThan(1e-3);
    expect(em).toBe(cliEval.exactMatch);
    await page.getByLabel('Better answer for example 1').selectOption('tuned');

    // Export: the PEFT zip holds the files as imported; the merged model's q_proj is W + (alpha/r)·B·A.
    await tab('Export').click();
    await page.getByLabel('Run or adapter').selectOption({ label: 'world-adapter (imported adapter)' });
    // The tab offers the registry's formats (src/export/formats), in its order.
    expect(await page.getByRole('list', { name: 'Export formats' }).getByRole('button').allInnerTexts()).toEqual(EXPORT_FORMAT_IDS.map((id) => `Download ${EXPORT_FORMATS[id].label} (zip)`));
    const peft = await download('Download PEFT adapter (zip)');
    expect(peft.name).toBe('world-adapter-peft.zip');
    const peftFiles = unzipSync(peft.bytes);
    expect(peftFiles['world-adapter-peft/adapter_model.safetensors']).toEqual(adapter['adapter_model.safetensors']);
    expect(strFromU8(peftFiles['world-adapter-peft/adapter_config.json'])).toBe(adapter['adapter_config.json']);
    expect(strFromU8(peftFiles['world-adapter-peft/README.md'])).toContain('**Imported from:** world-adapter.zip');
    const merged = unzipSync((await download('Download merged model (zip)')).bytes);
    const q = 'model.layers.0.self_attn.q_proj';
    const mergedW = readTensorF32(parseSafetensors(merged['world-adapter-merged/model.safetensors'], 'merged'), `${q}.weight`);
    const baseW = readTensorF32(parseSafetensors(new Uint8Array(readFileSync(join(MODEL, 'model.safetensors'))), 'base'), `${q}.weight`);
    const A = adapter.tensors.find((t) => t.name.endsWith(`${q}.lora_A.weight`))!.data;
    const B = adapter.tensors.find((t) => t.name.endsWith(`${q}.lora_B.weight`))!.data;
    const [out, inF] = baseW.shape;
    let worst = 0;
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inF; i++) {
        let ba = 0;
        for (let k = 0; k < 8; k++) ba += B[o * 8 + k] * A[k * inF + i];
        worst = Math.max(worst, Math.abs(mergedW.data[o * inF + i] - (baseW.data[o * inF + i] + (16 / 8) * ba)));
      }
    }
    expect(mergedW.shape).toEqual(baseW.shape);
    expect(worst).toBeLessThan(1e-5); // f32 rounding of a rank-8 sum
    // The studio's own proof of the ONNX export: onnxruntime-web beside the engine on a dataset prompt.
    await page.getByRole('button', { name: 'Check the ONNX export in onnxruntime-web' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'ONNX check' }).textContent(), { timeout: 60_000 }).toMatch(/^The ONNX export matches the engine/);

    // Train further from the imported adapter: its LoRA shape is fixed in the form.
    await tab('Train').click();
    await page.getByLabel('Start from').selectOption({ label: 'imported adapter world-adapter' });
    const rank = page.getByLabel('LoRA rank', { exact: true });
    expect(await rank.inputValue()).toBe('8');
    expect(await rank.isDisabled()).toBe(true);
    for (const [label, value] of [['Max steps', '2'], ['Warm-up steps', '0'], ['Batch size', '2'], ['Max sequence length', '40'], ['Evaluate every N steps', '0']]) {
      await page.getByLabel(label, { exact: true }).fill(value);
    }
    expect(await page.getByRole('list', { name: 'Problems with this configuration' }).getByText(/^Error/).allInnerTexts()).toEqual([]);
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Run status' }).textContent(), { timeout: 90_000 }).toMatch(/^Finished — step 2 of 2/);
    await page.getByRole('checkbox', { name: 'Compare Run 1' }).check();
    expect(await page.getByRole('table', { name: 'Compared runs' }).getByRole('row', { name: /^Started from/ }).innerText()).toMatch(/imported adapter world-adapter$/);

    // Reload: the adapter is still listed and the stored batch results are shown with the same numbers.
    await page.reload();
    await tab('Compare').click();
    await expect.poll(() => listed.getByRole('row').count(), { timeout: 30_000 }).toBe(2);
    await expect.poll(() => page.getByRole('status', { name: 'Batch status' }).textContent(), { timeout: 30_000 }).toBe('Done: 2 of 2 examples');
    expect(await batchValues('world-adapter (imported)')).toEqual(tuned);
    expect(await batchValues('Base')).toEqual(base);
    expect(await page.getByLabel('Better answer for example 1').inputValue()).toBe('tuned');
    expect(await page.getByLabel('Batch settings').textContent()).toMatch(/on default model, dataset qa version \d+; greedy, max 12 new tokens\.$/);

    await page.getByRole('button', { name: 'Rename world-adapter' }).click();
    await page.getByLabel('New name for world-adapter').fill('Juno adapter');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => listed.getByRole('row').nth(1).innerText()).toMatch(/^Juno adapter\t/);
    await page.reload();
    await tab('Compare').click();
    await expect.poll(() => listed.getByRole('row').nth(1).innerText(), { timeout: 30_000 }).toMatch(/^Juno adapter\t/);
    await page.getByRole('button', { name: 'Delete Juno adapter' }).click();
    await expect.poll(() => page.getByText('No adapters imported yet.').count()).toBe(1);
    expect(app.errors).toEqual([]);
  });
});
