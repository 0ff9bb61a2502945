// The Data step's Hub import below the page: the datasets store (app/store/datasets) over the real data worker host
// and client (tests/helpers/data-worker.ts: every message structured-cloned, as postMessage does), against the local
// Hub stand-in (tests/helpers/hub-standin.ts; no test reaches the Hub) serving a generated dataset.
//  - listing gives the configs and splits as the `datasets` library maps the files; importing a split downloads
//    its files through the worker with byte progress (a connection dropped midway through a shard is resumed from the
//    first missing byte), then imports each as a dropped file: the shape detected, a refused row listed with its line
//    and reason, the files named OWNER/NAME/path;
//  - no such repository, a repository without data files, a gated one, an endpoint that does not answer and a network
//    lost between listing and download are each one line, and nothing is imported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetsStore, datasetsSelectors as sel } from '../../app/store/datasets';
import type { Progress } from '../../src/data/tools';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import { dataWorker } from '../helpers/data-worker';
import { TEST_FILE, TRAIN_SHARDS, WORLD_QA, worldQa } from '../helpers/hub-datasets';
import { startHubStandin, type HubStandin } from '../helpers/hub-standin';

const dataset = worldQa();
let hub: HubStandin;
beforeAll(async () => {
  hub = await startHubStandin();
  hub.repos.set(`datasets/${WORLD_QA}`, { files: dataset.files });
  hub.repos.set('datasets/standin-org/only-a-readme', { files: new Map([['README.md', new TextEncoder().encode('# nothing to read\n')]]) });
  hub.repos.set('datasets/standin-org/gated-qa', { files: dataset.files, gated: 'manual' });
});
afterAll(async () => { await hub?.close(); });

function studio() {
  const { data } = dataWorker();
  const store = createDatasetsStore({ repo: createMemoryRepository(), tools: data, autosaveMs: 5 });
  return () => store.getState();
}

describe('Hub datasets on the Data step (datasets store, data worker, local stand-in)', () => {
  it('lists a dataset, downloads a split through the worker with progress and a resumed drop, imports it as files are', async () => {
    const s = studio();
    await s().listHubDataset(`  ${WORLD_QA}@main `, hub.endpoint);
    expect(s().error).toBeNull();
    const listing = s().hubListing!;
    expect([listing.repo, listing.revision, listing.layout.defaultConfig]).toEqual([WORLD_QA, 'main', 'default']);
    expect(listing.layout.configs.map((c) => [c.name, c.splits.map((sp) => [sp.name, sp.files.map((f) => [f.path, f.size])])])).toEqual([
      ['default', [['test', [[TEST_FILE, dataset.files.get(TEST_FILE)!.length]]], ['train', TRAIN_SHARDS.map((p) => [p, dataset.files.get(p)!.length])]]],
    ]);

    const cut = Math.floor(dataset.files.get(TRAIN_SHARDS[1])!.length / 2);
    hub.dropOnce.set(TRAIN_SHARDS[1], cut);
    const seen: Progress[] = [];
    const before = hub.log.length;
    const stop = (() => { let last: Progress | null = null; return setInterval(() => { const p = s().progress; if (p && p !== last) { seen.push(p); last = p; } }, 0); })();
    await s().importHubSplit('default', 'train', hub.endpoint);
    clearInterval(stop);
    expect(s().error).toBeNull();
    expect(s().progress).toBeNull();
    expect(s().records).toHaveLength(dataset.train);
    expect(s().current?.name).toBe('world-qa');
    expect(s().files.map((f) => [f.file, f.format, f.shape])).toEqual(TRAIN_SHARDS.map((p) => [`${WORLD_QA}/${p}`, 'parquet', 'prompt-completion']));
    expect(s().records[0].messages).toEqual([{ role: 'user', content: 'Where does Juno live? (1.0)' }, { role: 'assistant', content: 'Juno lives in Rookwood.' }]);
    // Byte progress of the download, then the imports.
    const downloads = seen.filter((p) => p.phase === 'download');
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((p) => p.label.startsWith(`${WORLD_QA}/data/train-`) && p.fraction >= 0 && p.fraction <= 1)).toBe(true);
    // The shard broken off midway was asked again from its first missing byte.
    const size = dataset.files.get(TRAIN_SHARDS[1])!.length;
    const cdn = hub.log.slice(before).filter((l) => l.path === `/cdn/datasets/${WORLD_QA}/${TRAIN_SHARDS[1]}`);
    expect(cdn.map((l) => [l.range, l.status, l.sent])).toEqual([[`bytes=0-${16 * 2 ** 20 - 1}`, 206, cut], [`bytes=${cut}-${size - 1}`, 206, size - cut]]);

    // The test split into the same open dataset: its cut line is refused with its line and reason.
    await s().importHubSplit('default', 'test', hub.endpoint);
    expect(s().records).toHaveLength(dataset.train + dataset.test);
    expect(sel.errorIssues(s()).map((i) => [i.file, i.line, i.reason])).toEqual([[`${WORLD_QA}/${TEST_FILE}`, 3, expect.stringMatching(/^invalid JSON/)]]);
  });

  it('no such repository, no data files, a gated one, no answer, the network lost before the download: one line each, nothing imported', async () => {
    const outcome = async (spec: string, endpoint = hub.endpoint) => {
      const s = studio();
      await s().listHubDataset(spec, endpoint);
      expect(s().records).toEqual([]);
      expect(s().hubListing).toBeNull();
      return s().error;
    };
    expect(await outcome('standin-org/nothing-here')).toBe('standin-org/nothing-here: could not read the dataset at main: not found (or private or gated: this asks without a token)');
    expect(await outcome('standin-org/only-a-readme')).toBe('standin-org/only-a-readme has no data files we read (Parquet, JSON Lines, JSON, CSV, TSV)');
    expect(await outcome('standin-org/gated-qa')).toBe('standin-org/gated-qa is gated (its files need a signed-in account that accepted its conditions): the studio downloads public datasets only, without a token');
    expect(await outcome(WORLD_QA, 'http://127.0.0.1:9')).toMatch(/^standin-org\/world-qa: could not read the dataset at main: no answer from http:\/\/127\.0\.0\.1:9 \(.+\)$/);
    expect(await outcome('not a repo')).toBe('"not a repo" is not a Hub dataset (expected hub:OWNER/NAME or hub:OWNER/NAME@REVISION)');

    // Listed, then the network goes before the download.
    const gone = await startHubStandin();
    gone.repos.set(`datasets/${WORLD_QA}`, { files: dataset.files });
    const s = studio();
    await s().listHubDataset(WORLD_QA, gone.endpoint);
    await gone.close();
    await s().importHubSplit('default', 'train', gone.endpoint);
    expect(s().error).toMatch(new RegExp(`^${WORLD_QA}/${TRAIN_SHARDS[0]}: the download stopped, the network failed \\(.+\\); download again to resume \\(finished parts are kept\\)$`));
    expect([s().records.length, s().current, s().progress]).toEqual([0, null, null]);
  });
});
