// A full origin, in the pure parts (src/storage/quota.ts, model-cache.ts, dataset-log.ts), with the browser's estimate
// stubbed (navigator.storage.estimate) and refusals made as browsers make them (a DOMException named
// QuotaExceededError). The real refusals of Chromium's IndexedDB and Cache Storage are in tests/e2e/storage-quota.test.ts.
// - A refusal names the space needed and the space left: from the estimate when it admits the shortfall, "less than
//   that" when it reports more (Chromium's fixed usage + 10 GiB).
// - A large write is refused up front when the estimate leaves no room; a small one is never delayed by the check.
// - A model file refused by the cache (up front from its size, or by the quota mid-download) fails the download and
//   leaves the cache as it was: its parts from this download deleted, other models untouched.
// - An import refused up front never stages a slice; one whose slice the quota refuses fails whole (no inserting
//   entry), so a reload shows the dataset as it was.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import type { DatasetRecord } from '../../src/data/record';
import { downloadModel, hubUrlFor, memoryCache, type ByteCache } from '../../src/io/download';
import { createDatasetLog } from '../../src/storage/dataset-log';
import { EMPTY_PATCH, replayJournal, type DatasetSnapshot } from '../../src/storage/journal';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import { roomCheckedCache } from '../../src/storage/model-cache';
import { ensureRoom, isQuotaExceeded, storageBytes, storedBytes, writeWithRoom } from '../../src/storage/quota';
import { StorageError, type DatasetRepository } from '../../src/storage/repository';

const MB = 1e6;
const quotaExceeded = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
function estimate(usage: number, quota: number) {
  vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage, quota }) } });
}
afterEach(() => { vi.unstubAllGlobals(); });

const caught = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as StorageError);

describe('quota messages', () => {
  it('say the space needed and the space left, in the units storage is shown in', async () => {
    expect([storageBytes(512), storageBytes(1500), storageBytes(9_400_000), storageBytes(12.4e9)]).toEqual(['512 bytes', '1.5 kB', '9.4 MB', '12 GB']);

    estimate(900_000, 1_048_576);
    const upFront = await caught(ensureRoom(9 * MB, 'saving the dataset'));
    expect(upFront?.kind).toBe('quota');
    expect(upFront?.message).toBe('Not enough browser storage: saving the dataset needs about 9 MB, and only 149 kB is left (900 kB used of 1 MB). '
      + 'Free space (delete datasets, versions, runs or downloaded models you no longer need) and try again.');
    // Room enough, or no estimate at all: nothing refused up front. A size given lazily is not checked first.
    estimate(0, 100 * MB);
    await ensureRoom(9 * MB, 'saving the dataset');
    const asked = vi.fn(async () => ({ usage: 1, quota: 1 }));
    vi.stubGlobal('navigator', { storage: { estimate: asked } });
    await writeWithRoom('saving a change', () => 9 * MB, async () => {});
    expect(asked).not.toHaveBeenCalled();
    vi.stubGlobal('navigator', {});
    await ensureRoom(9 * MB, 'saving the dataset');

    // Refused by the browser although its estimate (Chromium's usage + 10 GiB) says there is room.
    estimate(5 * MB, 5 * MB + 10 * 2 ** 30);
    const put = vi.fn(async () => { throw quotaExceeded(); });
    const refused = await caught(writeWithRoom('saving the last checkpoint at step 4', 3 * MB, put));
    expect(put).toHaveBeenCalledOnce();
    expect(refused?.message).toMatch(/^Not enough browser storage: saving the last checkpoint at step 4 needs about 3 MB, and less than that is left \(the browser refused the write; the 11 GB it reports free is not its real limit\)\. Free space/);
    // A size given as a function is counted only for the message; other errors pass untouched.
    const notQuota = new Error('no dataset x');
    expect(await caught(writeWithRoom('saving a change', () => { throw new Error('not counted'); }, async () => { throw notQuota; }))).toBe(notQuota);
    expect((await caught(writeWithRoom('saving a change', () => 1234, async () => { throw quotaExceeded(); })))?.message).toMatch(/saving a change needs about 1.2 kB/);
  });

  it('recognise each form a refusal takes, and count what a structured clone stores', () => {
    expect(isQuotaExceeded(quotaExceeded())).toBe(true);
    expect(isQuotaExceeded(new DOMException('Quota exceeded.', 'UnknownError'))).toBe(true);
    expect(isQuotaExceeded(new StorageError('quota', 'x'))).toBe(true);
    expect(isQuotaExceeded(new DOMException('The transaction was aborted.', 'AbortError'))).toBe(false);
    expect(isQuotaExceeded(new StorageError('read-only', 'x'))).toBe(false);
    expect(storedBytes({ a: 'xyz', b: [1, 2], c: new Uint8Array(10), d: 'é€' })).toBe(1 + 3 + 1 + 8 + 16 + 1 + 10 + 1 + 4);
  });
});

describe('model cache on a full origin', () => {
  const REPO = 'tiny-org/tiny-llama';
  const files = buildTinyModel('llama-small', 3);
  const weights = files.get('model.safetensors')!;
  const endpoint = 'http://hub.test';
  const urlFor = hubUrlFor(REPO, 'main', endpoint);
  const requests: string[] = [];
  /** A stand-in for the Hub: its URL layout, Range answered with 206 + Content-Range. */
  const hub: typeof fetch = async (input, init) => {
    const url = String(input);
    const file = decodeURIComponent(url.slice(`${endpoint}/${REPO}/resolve/main/`.length));
    const body = files.get(file);
    const range = new Headers(init?.headers).get('range');
    requests.push(`${file} ${range ?? ''}`);
    if (!body) return new Response('Entry not found', { status: 404 });
    const r = range ? /^bytes=(\d+)-(\d+)$/.exec(range) : null;
    if (!r) return new Response(body.slice(), { headers: { 'content-length': String(body.length) } });
    const start = Number(r[1]), end = Math.min(Number(r[2]), body.length - 1);
    return new Response(body.slice(start, end + 1), { status: 206, headers: { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': String(end - start + 1) } });
  };
  /** Memory standing in for Cache Storage, refusing puts beyond `budget` bytes in all, as a quota does. */
  function limitedCache(budget: number): ByteCache & { keys(): string[] } {
    const inner = memoryCache();
    const sizes = new Map<string, number>();
    const used = () => [...sizes.values()].reduce((a, b) => a + b, 0);
    return {
      get: inner.get, keys: inner.keys,
      delete: async (k) => { sizes.delete(k); await inner.delete(k); },
      put: async (k, b) => {
        if (used() - (sizes.get(k) ?? 0) + b.length > budget) throw quotaExceeded();
        sizes.set(k, b.length);
        await inner.put(k, b);
      },
    };
  }
  const part = 16 * 1024;

  it('fails a download the quota refuses mid-file, naming the need, and leaves the cache as it was', async () => {
    expect(weights.length).toBeGreaterThan(4 * part);
    const backing = limitedCache(weights.length + 2 * part); // room for an earlier model's file and a few parts, not this one
    await backing.put('http://hub.test/other-org/other/resolve/main/model.safetensors', new Uint8Array(weights.length));
    const before = backing.keys().sort();
    estimate(0, 10 * 2 ** 30);   // the browser claims room: only the put finds out
    const refused = await caught(downloadModel(REPO, urlFor, { cache: roomCheckedCache(backing), partBytes: part, fetch: hub }));
    expect(refused?.kind).toBe('quota');
    expect(refused?.message).toMatch(new RegExp(`^Not enough browser storage: downloading model\\.safetensors needs about ${storageBytes(2 * weights.length).replace('.', '\\.')}, and less than that is left`));
    // The small files it cached before the weights stay (a retry takes them from the cache); no part of the weights does.
    const after = backing.keys().sort();
    expect(after.filter((k) => /model\.safetensors(#|$)/.test(k))).toEqual(before);
    expect(after.filter((k) => !before.includes(k)).every((k) => /(config|tokenizer_config|tokenizer|generation_config)\.json|index\.json#absent/.test(k)), after.join(' ')).toBe(true);
  });

  it('refuses a file up front when the estimate leaves no room for it, before fetching its remaining parts', async () => {
    const backing = limitedCache(Infinity);
    estimate(1 * MB, 1 * MB + weights.length); // room for the file once, not for its parts and the whole beside them
    requests.length = 0;
    const refused = await caught(downloadModel(REPO, urlFor, { cache: roomCheckedCache(backing), partBytes: part, fetch: hub }));
    expect(refused?.message).toMatch(new RegExp(`^Not enough browser storage: downloading model\\.safetensors needs about ${storageBytes(2 * weights.length).replace('.', '\\.')}, and only ${storageBytes(weights.length).replace('.', '\\.')} is left`));
    expect(requests.filter((r) => r.startsWith('model.safetensors '))).toEqual([`model.safetensors bytes=0-${part - 1}`]);
    expect(backing.keys().filter((k) => /model\.safetensors(#|$)/.test(k))).toEqual([]);
    // With room, the same download completes and is whole in the cache.
    estimate(0, 100 * MB);
    const done = await downloadModel(REPO, urlFor, { cache: roomCheckedCache(backing), partBytes: part, fetch: hub });
    expect(await done.read('model.safetensors')).toEqual(weights);
    expect(backing.keys().filter((k) => /model\.safetensors(#|$)/.test(k))).toEqual([urlFor('model.safetensors')]);
  });
});

describe('an import on a full origin', () => {
  const rec = (i: number): DatasetRecord => ({
    id: `r${i}`, messages: [{ role: 'user', content: `q ${i}` }, { role: 'assistant', content: `a ${i}` }],
    source: { file: 'a.jsonl', line: i + 1 }, original: {}, shape: 'messages', flagged: false, split: 'train', edited: false, rev: 0,
  });
  const snap = (records: DatasetRecord[]): DatasetSnapshot => ({ records, issues: [], files: [], splitConfig: { kind: 'random', seed: 1, validationFraction: 0.1 } });

  async function opened(repo: DatasetRepository) {
    const meta = await repo.create('d');
    await repo.save(meta.id, snap([rec(0)]), 'first');
    const log = createDatasetLog({ repo, autosaveMs: 10_000, current: () => ({ datasetId: meta.id, snapshot: snap([rec(0)]) }), onStatus: () => {}, onSaved: async () => {} });
    const reload = async () => { const l = (await repo.load(meta.id))!; return replayJournal(l.snapshot, l.journal).snapshot.records.map((r) => r.id); };
    return { meta, log, reload };
  }

  it('is refused before any slice is staged when the estimate leaves no room for about twice the file', async () => {
    const repo = createMemoryRepository();
    const append = vi.spyOn(repo, 'appendJournal');
    const { log, reload } = await opened(repo);
    estimate(0, 3 * MB);
    const staging = log.beginImport('import big.jsonl', 2 * MB);
    staging.stage([rec(1)]);
    expect((await caught(staging.ready))?.message).toMatch(/^Not enough browser storage: "import big\.jsonl" needs about 4 MB, and only 3 MB is left/);
    await expect(staging.written()).rejects.toThrow(/Not enough browser storage/);
    staging.end();
    expect(append).not.toHaveBeenCalled();
    expect(await reload()).toEqual(['r0']);
  });

  it('fails whole when the quota refuses one of its slices: no inserting entry, the dataset reloads as it was', async () => {
    const repo = createMemoryRepository();
    const full: DatasetRepository = { ...repo, appendJournal: async (id, e) => { if (e.seq === 2) throw quotaExceeded(); await repo.appendJournal(id, e); } };
    const { log, reload } = await opened(full);
    const staging = log.beginImport('import a.jsonl', 100);
    await staging.ready;
    staging.stage([rec(1)]);
    staging.stage([rec(2)]);   // refused
    staging.stage([rec(3)]);   // not written: the import has failed
    const failed = await caught(staging.written());
    expect(failed?.message).toMatch(/^Not enough browser storage: "import a\.jsonl" needs about 200 bytes, and less than that is left/);
    staging.end();
    const journal = (await repo.load((await repo.list())[0].id))!.journal;
    expect(journal.map((e) => [e.seq, e.staged?.length, e.patch === EMPTY_PATCH || e.patch.insertStaged === undefined])).toEqual([[1, 1, true]]);
    expect(await reload()).toEqual(['r0']);
  });
});
