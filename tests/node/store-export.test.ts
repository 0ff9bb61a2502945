// The Export tab's store (app/features/export/store.ts), built with createExportStore on the engine through the page's
// client: a run's export is the engine's files with their card in one zip folder `<run>-<format>`, the kit is made
// from the dataset's unflagged train split, a choice whose model is not loaded is refused with the reason and
// nothing saved, and the ONNX check says the export matches. Push to the Hub (the local stand-in,
// tests/helpers/hub-standin.ts): the repository then holds the zip's files byte for byte; no token, a refused one
// (401) and a read-only one (403) are one line without the token, pushing nothing; the token stays in memory unless
// remembered (one localStorage key), forgetting clears both, and it goes on the Hub's API calls only.
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { createExportStore, exportSelectors, HUB_TOKEN_KEY, type ExportStoreDeps, type ExportTarget } from '../../app/features/export/store';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { DatasetRecord } from '../../src/data/record';
import { pushToHub } from '../../src/export/hub-push';
import { PRESETS, type RunConfig } from '../../src/train/presets';
import { droppedFiles, engineOver } from '../helpers/engine';
import { startHubStandin, type HubStandin } from '../helpers/hub-standin';

const { source } = droppedFiles('tiny', buildTinyModel('llama-small', 2));
const chat = (q: string, a: string, split: 'train' | 'validation', flagged = false) => ({
  id: q, messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }], split, flagged,
} as unknown as DatasetRecord);
const records = [chat('Say hi.', 'Hi!', 'train'), chat('Say bye.', 'Bye!', 'train', true), chat('Count.', 'One two.', 'validation')];
const config: RunConfig = {
  ...PRESETS.quick, lora: { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] },
  train: { ...PRESETS.quick.train, maxSteps: 2, batchSize: 2, maxSeqLength: 32 }, evalEvery: 0, checkpointEvery: 0,
};

/** A Storage over a Map: what the page's localStorage holds, for the token's one key. */
function fakeStorage(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return { items, getItem: (k) => items.get(k) ?? null, setItem: (k, v) => { items.set(k, v); }, removeItem: (k) => { items.delete(k); } };
}

/** An engine with a finished two-step run on the tiny model, and a store over it saving zips into `saved`. */
async function trained(deps: Partial<ExportStoreDeps> = {}) {
  const engine = engineOver();
  const saved: { name: string; files: Record<string, Uint8Array> }[] = [];
  const store = createExportStore({ engine: () => engine, save: (name, bytes) => saved.push({ name, files: unzipSync(bytes) }), push: pushToHub, tokenStorage: null, ...deps });
  await engine.loadModel({ source });
  const { runId } = await engine.startRun({ name: 'Run 1', config, records: records.map((r) => ({ messages: r.messages, split: r.split })), dataset: null });
  const { run, imported } = exportSelectors.chosen('', await engine.listRuns(), []);
  expect(run?.id).toBe(runId);
  return { engine, store, s: () => store.getState(), saved, run, imported };
}

let hub: HubStandin | null = null;
afterAll(async () => { await hub?.close(); });

describe('export store', () => {
  it('downloads the engine\'s files with their card as one zip, refuses without the model, and checks ONNX', async () => {
    const { engine, s, saved, run, imported } = await trained();

    // Without the model loaded: refused, nothing saved.
    await s().exportFormat('peft', { run, imported, model: null, records });
    expect(s().error).toBe('PEFT adapter export failed, nothing was saved: load the run\'s base model on the Train tab first (the adapter is read from the engine)');
    expect(saved).toEqual([]);

    const target: ExportTarget = { run, imported, model: (await engine.loadModel({ source })), records };
    await s().exportFormat('peft', target);
    expect(s().error).toBeNull();
    expect(saved[0].name).toBe('Run_1-peft.zip');
    expect(Object.keys(saved[0].files).sort()).toEqual(['Run_1-peft/README.md', 'Run_1-peft/adapter_config.json', 'Run_1-peft/adapter_model.safetensors']);
    expect(s().done).toMatch(/^Downloaded Run_1-peft\.zip/);

    await s().exportFormat('kit', target);
    expect(strFromU8(saved[1].files['Run_1-kit/train.jsonl']).trim().split('\n')).toHaveLength(1);   // the unflagged train split

    await s().checkOnnx(target);
    expect(s().onnxCheck).toMatch(/^The ONNX export matches the engine/);
    expect(s().busy).toBeNull();
  });

  it('pushes the zip\'s files to the Hub with the token held in memory (or remembered), one line for no token, 401 and 403', async () => {
    hub = await startHubStandin();
    const WRITE = 'hf_standinWriteToken0123456789', READ = 'hf_standinReadToken0123456789', UNKNOWN = 'hf_unknownToken0123456789';
    hub.tokens.set(WRITE, 'write').set(READ, 'read');
    const storage = fakeStorage();
    const { engine, s, saved, run, imported } = await trained({ tokenStorage: storage });
    const target: ExportTarget = { run, imported, model: (await engine.loadModel({ source })), records };
    const to = { repo: 'standin-user/tiny-lora', endpoint: hub.endpoint, private: false };

    // No token, a refused one, a read-only one: one line each, no token in it, nothing pushed.
    for (const [token, line] of [
      ['', 'Push to the Hub failed: no Hub token: paste an access token with write access (Hugging Face: Settings → Access Tokens)'],
      [UNKNOWN, 'Push to the Hub failed: the Hub refused the token (401): check that it is a valid access token for this endpoint'],
      [READ, expect.stringMatching(/^Push to the Hub failed: the token may not write to standin-user\/tiny-lora \(403\)/)],
    ] as const) {
      s().setHubToken(token);
      await s().pushToHub('peft', target, to);
      expect(s().error).toEqual(line);
      if (token) expect(s().error).not.toContain(token);
      expect([s().pushed, s().pushing, s().busy]).toEqual([null, null, null]);
    }
    expect(hub.repos.has('models/standin-user/tiny-lora')).toBe(false);
    expect(storage.items.size).toBe(0);   // never remembered: memory only

    s().setHubToken(WRITE);
    await s().pushToHub('peft', target, to);
    expect(s().error).toBeNull();
    expect(s().pushed).toEqual({ url: `${hub.endpoint}/standin-user/tiny-lora`, files: 3 });
    // The repository holds the files of the Export tab's zip of the same format, byte for byte, at its root.
    await s().exportFormat('peft', target);
    const zip = Object.entries(saved.at(-1)!.files).map(([name, bytes]) => [name.slice(name.indexOf('/') + 1), bytes] as const);
    const held = hub.repos.get('models/standin-user/tiny-lora')!.files;
    expect([...held.keys()].sort()).toEqual(zip.map(([name]) => name).sort());
    for (const [name, bytes] of zip) expect(Buffer.compare(held.get(name)!, bytes), name).toBe(0);
    // The token went on the Hub's API calls only, never on the LFS storage URLs.
    expect(hub.log.filter((l) => l.token).every((l) => l.path.startsWith('/api/') || l.path.endsWith('/info/lfs/objects/batch'))).toBe(true);
    expect(hub.log.some((l) => l.path.startsWith('/lfs/'))).toBe(true);

    // Remembered: one localStorage key, read back by the next page's store; forgotten: gone from both.
    s().setRememberToken(true);
    expect([...storage.items]).toEqual([[HUB_TOKEN_KEY, WRITE]]);
    const next = createExportStore({ engine: () => engine, save: () => {}, push: pushToHub, tokenStorage: storage });
    expect([next.getState().hubToken, next.getState().rememberToken]).toEqual([WRITE, true]);
    next.getState().forgetToken();
    expect([next.getState().hubToken, next.getState().rememberToken, storage.items.size]).toEqual(['', false, 0]);
    s().setRememberToken(false);
    expect([s().hubToken, storage.items.size]).toEqual([WRITE, 0]);
  }, 120_000);
});
