// Hub datasets by name, against the local Hub stand-in (tests/helpers/hub-standin.ts; no test reaches the Hub),
// serving generated data: a "chat" config of prompt/completion Parquet shards (train in two shards, test in one)
// and an "alpaca" config of JSON Lines with a line cut off, declared in the card's `configs:`.
//  - listing goes through the Hub API as @huggingface/hub calls it (dataset info with the card, the file tree
//    followed page by page);
//  - the split's files arrive byte-identical, with progress up to the listing's total; a connection dropped midway
//    through a shard is resumed from the first missing byte; a second download is served from the cache alone;
//  - `studio data hub:OWNER/NAME` imports them as a file import does: the shape detected, a bad row refused with
//    its line and reason; --config / --split pick; a wrong split or an unknown dataset is one line, exit 1.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memorySource } from '../../src/data/bytes';
import { downloadHubDataset, listHubDataset, parseHubDataset, pickSplit, type HubDownloadProgress } from '../../src/data/hub';
import { importSource } from '../../src/data/import';
import { memoryCache } from '../../src/io/download';
import { promptCompletionParquet } from '../helpers/hub-datasets';
import { startHubStandin, type HubStandin } from '../helpers/hub-standin';
import { studioAsync } from '../helpers/cli';

const REPO = 'standin-org/world-chat';
const alpaca = [
  JSON.stringify({ instruction: 'Where does Mira live?', input: '', output: 'Mira lives in Dunmore.' }),
  '{"instruction": "What is Tobin\'s job?", "output": "Tobin is',
  JSON.stringify({ instruction: 'What pet does Lark have?', input: '', output: 'Lark has a tortoise.' }),
].join('\n') + '\n';

const data = new Map<string, Uint8Array>([
  ['README.md', new TextEncoder().encode('---\nconfigs: [...]\n---\n# world chat\n')],
  ['.gitattributes', new TextEncoder().encode('*.parquet filter=lfs diff=lfs merge=lfs -text\n')],
  ['data/train-00000-of-00002.parquet', promptCompletionParquet(400, 1, 50)],
  ['data/train-00001-of-00002.parquet', promptCompletionParquet(300, 2, 50)],
  ['data/test-00000-of-00001.parquet', promptCompletionParquet(40, 3, 50)],
  ['alpaca/rows.jsonl', new TextEncoder().encode(alpaca)],
]);
const card = {
  pretty_name: 'World chat (generated)',
  configs: [
    { config_name: 'chat', default: true, data_files: [{ split: 'train', path: 'data/train-*' }, { split: 'test', path: 'data/test-*' }] },
    { config_name: 'alpaca', data_files: 'alpaca/*.jsonl' },
  ],
};

let hub: HubStandin;
const dirs: string[] = [];
beforeAll(async () => {
  hub = await startHubStandin({ pageSize: 3 });
  hub.repos.set(`datasets/${REPO}`, { files: data, card });
});
afterAll(async () => {
  await hub.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('Hub datasets by name (local stand-in)', () => {
  it('lists configs and splits through the Hub API, downloads a split with progress, resumes a dropped connection, caches it', async () => {
    const ref = parseHubDataset(`hub:${REPO}`);
    const layout = await listHubDataset(ref, { endpoint: hub.endpoint });
    expect(layout.defaultConfig).toBe('chat');
    expect(layout.configs.map((c) => [c.name, c.splits.map((s) => [s.name, s.files.map((f) => f.path)])])).toEqual([
      ['chat', [['train', ['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet']], ['test', ['data/test-00000-of-00001.parquet']]]],
      ['alpaca', [['train', ['alpaca/rows.jsonl']]]],
    ]);
    // The tree came in pages (3 entries each, directories included), followed through the Link headers.
    expect(hub.log.filter((l) => l.path === `/api/datasets/${REPO}/tree/main`).length).toBeGreaterThan(2);

    const { split } = pickSplit(layout, REPO);
    expect(split.files.map((f) => f.size)).toEqual([data.get('data/train-00000-of-00002.parquet')!.length, data.get('data/train-00001-of-00002.parquet')!.length]);
    const second = 'data/train-00001-of-00002.parquet';
    const cut = Math.floor(data.get(second)!.length / 2);
    hub.dropOnce.set(second, cut);
    const cache = memoryCache();
    const progress: HubDownloadProgress[] = [];
    const before = hub.log.length;
    const got = await downloadHubDataset(ref, split.files, { endpoint: hub.endpoint, cache, onProgress: (p) => progress.push(p) });
    for (const f of got) expect(Buffer.compare(f.bytes, data.get(f.path)!), f.path).toBe(0);
    const total = split.files.reduce((s, f) => s + f.size, 0);
    expect(progress.at(-1)).toEqual({ file: second, loaded: total, total });
    expect(progress.every((p, i) => i === 0 || p.loaded >= progress[i - 1].loaded)).toBe(true);
    // Parquet (LFS) files redirect to the CDN; the broken response is picked up at its first missing byte.
    const size = data.get(second)!.length;
    const cdn = hub.log.slice(before).filter((l) => l.path === `/cdn/datasets/${REPO}/${second}`);
    expect(cdn.map((l) => [l.range, l.status, l.sent])).toEqual([[`bytes=0-${16 * 2 ** 20 - 1}`, 206, cut], [`bytes=${cut}-${size - 1}`, 206, size - cut]]);

    const after = hub.log.length;
    const again = await downloadHubDataset(ref, split.files, { endpoint: hub.endpoint, cache });
    expect(hub.log.length).toBe(after);
    expect(again.map((f) => f.bytes.length)).toEqual(got.map((f) => f.bytes.length));

    const imported = await Promise.all(got.map((f) => importSource(memorySource(f.path, f.bytes))));
    expect(imported.map((r) => [r.context.format, r.context.shape, r.records.length, r.issues.length])).toEqual([['parquet', 'prompt-completion', 400, 0], ['parquet', 'prompt-completion', 300, 0]]);
    expect(imported[1].records[0].messages).toEqual([{ role: 'user', content: 'Where does Mira live? (2.0)' }, { role: 'assistant', content: 'Mira lives in Dunmore.' }]);
  });

  it('studio data hub:…: the usual import, --config and --split pick, bad rows and bad names refused in one line', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'hub-cache-'));
    dirs.push(cacheDir);
    const env = { ...process.env, STUDIO_CACHE: cacheDir, HF_ENDPOINT: hub.endpoint };
    const chat = await studioAsync(['data', `hub:${REPO}`, '--json'], env);
    expect(chat.code, chat.stderr).toBe(0);
    expect(JSON.parse(chat.stdout)).toEqual({
      file: `hub:${REPO}`, config: 'chat', split: 'train', files: ['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet'],
      format: 'parquet', shape: 'prompt-completion', rows: 700, records: 700, errors: [],
    });
    expect(chat.stderr).toContain(`${REPO}@main: config chat, split train: 2 files`);
    expect(readdirSync(cacheDir).length).toBeGreaterThanOrEqual(2);

    const test = await studioAsync(['data', `hub:${REPO}@main`, '--split', 'test', '--endpoint', hub.endpoint, '--json'], { ...env, HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(test.code, test.stderr).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({ split: 'test', rows: 40, records: 40 });

    const rows = await studioAsync(['data', `hub:${REPO}`, '--config', 'alpaca'], env);
    expect(rows.code, rows.stderr).toBe(0);
    expect(rows.stdout).toMatch(/^hub:standin-org\/world-chat: jsonl, shape alpaca, 2 records of 2 rows\n {2}line 2: error: invalid JSON/);

    for (const [args, message] of [
      [['--split', 'validation'], `error: ${REPO} (config chat) has no split "validation" (its splits: train, test)`],
      [['--config', 'fr'], `error: ${REPO} has no config "fr" (its configs: chat, alpaca)`],
    ] as const) {
      const r = await studioAsync(['data', `hub:${REPO}`, ...args], env);
      expect(r.code).toBe(3);
      expect(r.stderr.trim()).toBe(message);
    }
    const missing = await studioAsync(['data', 'hub:standin-org/nothing-here'], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim()).toBe('error: standin-org/nothing-here: could not read the dataset at main: not found (or private or gated: this asks without a token)');
  }, 120_000);
});
