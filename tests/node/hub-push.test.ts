// Push to the Hub (src/export/hub-push.ts, through @huggingface/hub) against the local Hub stand-in
// (tests/helpers/hub-standin.ts), which answers the calls the client really makes: create repo, preupload,
// LFS batch + object PUTs (in parts above a size, as the Hub asks for large files), commit.
//  - a trained adapter's PEFT export and a GGUF export, each with its model card: the files the repository holds
//    afterwards are byte for byte the export zip's; the weights went by LFS (the GGUF in parts), the card and config
//    in the commit; pushing again into the existing repository works;
//  - `studio push DIR --repo` pushes an export folder (the token from HF_TOKEN), and without a token says so;
//  - the token goes on the Hub's API calls only (not on the LFS storage URLs); no token, a malformed one, one the Hub
//    refuses (401) or a read-only one (403) gives one clear line, never containing the token, and changes nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelCard } from '../../src/export/card';
import { exportGgufFiles } from '../../src/export/gguf-model';
import { pushToHub, type PushProgress } from '../../src/export/hub-push';
import type { ExportFiles } from '../../src/export/merged';
import { exportPeftAdapter, peftExportFiles } from '../../src/export/peft';
import { unzipExport, withReadme, zipExport } from '../../src/export/zip';
import type { Transformer } from '../../src/model/transformer';
import { PRESETS } from '../../src/train/presets';
import { studioAsync } from '../helpers/cli';
import { startHubStandin, type HubStandin } from '../helpers/hub-standin';
import { tunedTiny } from '../helpers/tuned-model';

const WRITE = 'hf_standinWriteToken0123456789';
const READ = 'hf_standinReadToken0123456789';

let hub: HubStandin;
let model: Transformer;
let peftZip: Uint8Array, ggufZip: Uint8Array;

/** The export's files with its card, zipped as the Export tab zips them. */
function zipped(kind: 'peft' | 'gguf', files: ExportFiles): Uint8Array {
  const card = modelCard({ kind, baseModel: 'tiny-org/tiny-llama', title: 'tiny + run 1', dataset: { name: 'world', version: 1, records: 60 }, run: PRESETS.quick, metrics: { Steps: 150 }, date: '2026-12-07' });
  return zipExport(withReadme(files, card), { folder: `run-1-${kind}` });
}

/** The zip's files, as pushed: at the repository's root. */
function unzipped(zip: Uint8Array): ExportFiles {
  return new Map([...unzipExport(zip)].map(([name, bytes]) => [name.slice(name.indexOf('/') + 1), bytes]));
}

beforeAll(async () => {
  hub = await startHubStandin({ multipartAbove: 64 * 1024, partBytes: 32 * 1024 });
  hub.tokens.set(WRITE, 'write').set(READ, 'read');
  const t = await tunedTiny(4, 11);
  model = t.model;
  peftZip = zipped('peft', peftExportFiles(await exportPeftAdapter(model, 'tiny-org/tiny-llama')));
  ggufZip = zipped('gguf', await exportGgufFiles(model, t.base, t.source, { format: 'gguf', dtype: 'F16', name: 'tiny-llama' }));
}, 120_000);
const dirs: string[] = [];
afterAll(async () => {
  model?.destroy();
  await hub?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('push to the Hub (local stand-in)', () => {
  it('a PEFT export and a GGUF export land byte for byte as the zips hold them; LFS for the weights, in parts when large', async () => {
    for (const [repo, zip] of [['standin-user/tiny-lora', peftZip], ['standin-user/tiny-gguf', ggufZip]] as const) {
      const files = unzipped(zip);
      const progress: PushProgress[] = [];
      const before = hub.log.length;
      const r = await pushToHub({ files, repo, token: WRITE, endpoint: hub.endpoint, onProgress: (p) => progress.push(p) });
      expect(r.url).toBe(`${hub.endpoint}/${repo}`);
      expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
      const held = hub.repos.get(`models/${repo}`)!.files;
      expect([...held.keys()].sort()).toEqual([...files.keys()].sort());
      for (const [name, bytes] of files) expect(Buffer.compare(held.get(name)!, bytes), name).toBe(0);
      expect(progress.filter((p) => p.phase !== 'file').map((p) => p.phase)).toEqual(['creating', 'preuploading', 'uploadingLargeFiles', 'committing']);

      const calls = hub.log.slice(before);
      const weights = [...files.keys()].find((f) => /\.(safetensors|gguf)$/.test(f))!;
      const lfs = calls.filter((l) => l.path.startsWith('/lfs/'));
      // The weights went to the object store (the GGUF, over 64 KiB, in 32 KiB parts and a completion), the rest in the commit.
      if (weights.endsWith('.gguf')) {
        expect(files.get(weights)!.length).toBeGreaterThan(64 * 1024);
        expect(lfs.filter((l) => /\/lfs\/[0-9a-f]{64}\/\d+$/.test(l.path)).length).toBe(Math.ceil(files.get(weights)!.length / (32 * 1024)));
        expect(lfs.some((l) => l.path.endsWith('/complete'))).toBe(true);
      } else {
        expect(lfs.map((l) => l.method)).toEqual(['PUT']);
      }
      expect(progress.some((p) => p.phase === 'file' && p.file === weights && p.state === 'uploading' && p.progress === 1)).toBe(true);
      // The token on the Hub's API calls, never on the storage URLs.
      expect(lfs.every((l) => !l.token)).toBe(true);
      expect(calls.filter((l) => l.path.startsWith('/api/') || l.path.endsWith('/objects/batch')).every((l) => l.token)).toBe(true);
    }

    // Again into the repository that now exists (the Hub answers 409 to create): a new commit, the same files.
    const again = await pushToHub({ files: unzipped(peftZip), repo: 'standin-user/tiny-lora', token: WRITE, endpoint: hub.endpoint });
    expect(again.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(hub.log.some((l) => l.path === '/api/repos/create' && l.status === 409)).toBe(true);
  }, 120_000);

  it('no token, a malformed one, one refused (401) or read-only (403): one line without the token; nothing changes', async () => {
    const files = unzipped(peftZip);
    const push = (token: string | undefined, repo = 'standin-user/refused') => pushToHub({ files, repo, token, endpoint: hub.endpoint }).then(() => 'pushed', (e: Error) => e.message);
    expect(await push(undefined)).toBe('no Hub token: paste an access token with write access (Hugging Face: Settings → Access Tokens)');
    expect(await push('   ')).toMatch(/^no Hub token/);
    expect(await push('ghp_notAHubToken')).toBe('that is not a Hub access token (they start with "hf_" and have no spaces)');
    const unknown = 'hf_unknownToken0123456789';
    expect(await push(unknown)).toBe('the Hub refused the token (401): check that it is a valid access token for this endpoint');
    const readOnly = await push(READ);
    expect(readOnly).toMatch(/^the token may not write to standin-user\/refused \(403\): use a token with write access to that namespace \(You don't have the rights/);
    const offline = await pushToHub({ files, repo: 'standin-user/refused', token: WRITE, endpoint: 'http://127.0.0.1:9' }).then(() => 'pushed', (e: Error) => e.message);
    expect(offline).toMatch(/^pushing to standin-user\/refused failed: /);
    for (const [message, token] of [[readOnly, READ], [offline, WRITE], [await push(unknown), unknown]]) {
      expect(message).not.toContain(token);
      expect(message.split('\n')).toHaveLength(1);
    }
    expect(hub.repos.has('models/standin-user/refused')).toBe(false);
    expect(await pushToHub({ files, repo: 'not a repo', token: WRITE, endpoint: hub.endpoint }).catch((e: Error) => e.message)).toBe('"not a repo" is not a repository name (expected OWNER/NAME)');
  });

  it('studio push DIR --repo: the export folder (its manifest left out), the token from HF_TOKEN; without one, one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'push-'));
    dirs.push(dir);
    const files = unzipped(ggufZip);
    for (const [name, bytes] of files) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), bytes);
    }
    writeFileSync(join(dir, '.studio-output.json'), '{"writtenBy": "webgpu-sft-studio"}');
    const env = { ...process.env, HF_TOKEN: WRITE, HF_ENDPOINT: hub.endpoint };
    const r = await studioAsync(['push', dir, '--repo', 'standin-user/cli-gguf', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { url: string; files: { name: string; bytes: number }[] };
    expect(j.url).toBe(`${hub.endpoint}/standin-user/cli-gguf`);
    expect(j.files.map((f) => f.name).sort()).toEqual([...files.keys()].sort());
    const held = hub.repos.get('models/standin-user/cli-gguf')!.files;
    for (const [name, bytes] of files) expect(Buffer.compare(held.get(name)!, bytes), name).toBe(0);
    expect(r.stderr).not.toContain(WRITE);

    const none = await studioAsync(['push', dir, '--repo', 'standin-user/cli-none'], { ...env, HF_TOKEN: '' });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe('error: no Hub token: set HF_TOKEN to an access token with write access (Hugging Face: Settings → Access Tokens)');
  }, 120_000);
});
