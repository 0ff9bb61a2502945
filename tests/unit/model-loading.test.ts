// Loading at real size, on small shapes: a sparse safetensors file over 2 GiB read by ranges (only the tensors
// asked for, in far less memory than the file), a Hugging Face cache folder (snapshots whose files are symlinks
// into blobs/) giving the same tensors as the plain folder, Blobs read by slices (the browser path), and load
// progress. Everything is generated locally in a temporary folder.
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { loadHfModel, type Weight } from '../../src/io/hf';
import { filesFromBlobs, filesFromMap } from '../../src/io/model-files';
import { filesFromDirectory } from '../../src/io/node-files';
import { openSafetensors, writeSafetensors } from '../../src/io/safetensors';

const tmp = mkdtempSync(join(tmpdir(), 'model-loading-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeFolder(dir: string, files: Map<string, Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
}

function expectSameWeights(got: Map<string, Weight>, want: Map<string, Weight>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, w] of want) {
    expect(got.get(name)!.shape, name).toEqual(w.shape);
    expect(got.get(name)!.data, name).toEqual(w.data);
  }
}

describe('a safetensors file over 2 GiB', () => {
  test('opens from its header and reads only the tensors asked for, in far less memory than the file', async () => {
    // Layout: a 2.25 GiB U8 filler (a hole on disk: ftruncate), then three small tensors at the very end.
    const filler = 2.25 * 2 ** 30;
    const tail = {
      'model.norm.weight': { shape: [64], data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 3) },
      'lm_head.weight': { shape: [16, 8], data: Float32Array.from({ length: 128 }, (_, i) => (i - 64) / 8) },
      'model.bias': { shape: [5], data: Float32Array.of(1.5, -2, 0.25, 65504, -0.125) },
    };
    const dtypes = { 'model.norm.weight': 'F32', 'lm_head.weight': 'BF16', 'model.bias': 'F16' } as const;
    // The tail as the writer encodes it (exact in each dtype: values chosen to be representable).
    const tailFile = writeSafetensors(Object.entries(tail).map(([name, t]) => ({ name, ...t, dtype: dtypes[name as keyof typeof dtypes] })));
    const tailHeaderLength = Number(new DataView(tailFile.buffer).getBigUint64(0, true));
    const tailData = tailFile.subarray(8 + tailHeaderLength);
    const tailHeader = JSON.parse(new TextDecoder().decode(tailFile.subarray(8, 8 + tailHeaderLength))) as Record<string, { data_offsets: number[] }>;
    const header: Record<string, unknown> = { filler: { dtype: 'U8', shape: [filler], data_offsets: [0, filler] } };
    for (const [name, entry] of Object.entries(tailHeader)) header[name] = { ...entry, data_offsets: entry.data_offsets.map((o) => o + filler) };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const dir = join(tmp, 'big');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), '{}');   // filesFromDirectory takes a model folder: config.json at its top
    const path = join(dir, 'model.safetensors');
    const fd = openSync(path, 'w');
    const lengthBytes = new Uint8Array(8);
    new DataView(lengthBytes.buffer).setBigUint64(0, BigInt(json.byteLength), true);
    writeSync(fd, lengthBytes, 0, 8, 0);
    writeSync(fd, json, 0, json.byteLength, 8);
    const size = 8 + json.byteLength + filler + tailData.byteLength;
    ftruncateSync(fd, size);
    writeSync(fd, tailData, 0, tailData.byteLength, size - tailData.byteLength);
    closeSync(fd);

    const files = filesFromDirectory(dir);
    const reader = await openSafetensors(await files.open!('model.safetensors'), 'big/model.safetensors');
    try {
      expect(reader.size).toBe(size);
      expect(reader.size).toBeGreaterThan(2 ** 31);
      expect([...reader.tensors.keys()]).toEqual(['filler', ...Object.keys(tail)]);
      for (const [name, t] of Object.entries(tail)) {
        const got = await reader.readF32(name);
        expect(got.shape, name).toEqual(t.shape);
        expect(got.data, name).toEqual(t.data);
      }
    } finally {
      await reader.close();
    }
    // maxRSS is this test process's peak (each test file runs in its own fork). Reading the file whole, as
    // the loader did before, would put at least the file's 2.25 GiB in memory.
    const peakBytes = process.resourceUsage().maxRSS * 1024;
    console.log(`sparse ${(size / 2 ** 30).toFixed(2)} GiB file: process peak RSS ${(peakBytes / 2 ** 20).toFixed(0)} MiB`);
    expect(peakBytes).toBeLessThan(size / 4);
  });
});

describe('a Hugging Face cache folder', () => {
  // models--org--name/{blobs/<hash>, snapshots/<revision>/<file> -> ../../blobs/<hash>, refs/main}, as
  // huggingface_hub lays it out; the blob names here are stand-ins for the content hashes.
  function writeCache(repoDir: string, revision: string, files: Map<string, Uint8Array>): string {
    const snapshot = join(repoDir, 'snapshots', revision);
    mkdirSync(join(repoDir, 'blobs'), { recursive: true });
    mkdirSync(snapshot, { recursive: true });
    for (const [name, bytes] of files) {
      const blob = `${revision}-${name.replace(/[^a-z0-9]/gi, '')}`;
      writeFileSync(join(repoDir, 'blobs', blob), bytes);
      symlinkSync(join('..', '..', 'blobs', blob), join(snapshot, name));
    }
    return snapshot;
  }

  test.each([
    ['single file', {}],
    ['sharded', { maxShardBytes: 20_000 }],
  ])('%s: the repository folder and its snapshot load the same tensors as the plain folder', async (_, opts) => {
    const files = buildTinyModel('llama-small', 3, { dtype: 'BF16', ...opts });
    const tag = 'maxShardBytes' in opts ? 'sharded' : 'single';
    const plain = join(tmp, `plain-${tag}`);
    writeFolder(plain, files);
    const repo = join(tmp, `hub-${tag}`, `models--test-org--tiny-${tag}`);
    const snapshot = writeCache(repo, 'abc123', files);
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), 'abc123');

    const want = await loadHfModel(filesFromDirectory(plain));
    for (const dir of [repo, snapshot]) {
      const cached = filesFromDirectory(dir);
      expect(cached.name).toBe(`test-org/tiny-${tag}`);
      expect(cached.list().sort()).toEqual([...files.keys()].sort());
      const got = await loadHfModel(cached);
      expect(got.config).toEqual(want.config);
      expectSameWeights(got.weights, want.weights);
    }
  });

  test('several snapshots: refs/main picks one; without it the error says which folder to pass', async () => {
    const repo = join(tmp, 'hub-two', 'models--org--two');
    writeCache(repo, 'old111', buildTinyModel('gpt2', 1));
    writeCache(repo, 'new222', buildTinyModel('gpt2', 2));
    expect(() => filesFromDirectory(repo)).toThrow(/a Hugging Face cache folder with 2 snapshots \((old111, new222|new222, old111)\) and no refs\/main naming one of them; pass the snapshots\/<hash> folder/);
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), 'new222\n');
    const got = await loadHfModel(filesFromDirectory(repo));
    const want = await loadHfModel(filesFromMap('new', buildTinyModel('gpt2', 2)));
    expectSameWeights(got.weights, want.weights);
  });

  test('a shard whose blob is missing (an interrupted download) is a missing file, named', async () => {
    const files = buildTinyModel('llama-small', 3, { maxShardBytes: 20_000 });
    const repo = join(tmp, 'hub-partial', 'models--org--partial');
    writeCache(repo, 'rev', files);
    const shard = [...files.keys()].find((k) => k.startsWith('model-00002-of-'))!;
    rmSync(join(repo, 'blobs', `rev-${shard.replace(/[^a-z0-9]/gi, '')}`));
    await expect(loadHfModel(filesFromDirectory(repo))).rejects.toThrow(`org/partial: missing file ${shard} (listed in model.safetensors.index.json)`);
  });
});

describe('Blobs (the browser path) and progress', () => {
  test('weights are read by slices, never a whole safetensors file, with progress up to the tensor bytes', async () => {
    const files = buildTinyModel('llama-small', 5, { dtype: 'F16', maxShardBytes: 30_000 });
    const slices: number[] = [];
    const blobs = [...files].map(([path, bytes]) => {
      const blob = new Blob([bytes.slice()]);
      // Only the whole-file read is refused: small files (configs) are read whole, weights must not be.
      const arrayBuffer = path.endsWith('.safetensors') ? () => Promise.reject(new Error(`${path} read whole`)) : () => blob.arrayBuffer();
      const slice = (start: number, end: number) => { slices.push(end - start); return blob.slice(start, end); };
      return { path, file: { size: blob.size, arrayBuffer, slice } as unknown as Blob };
    });
    const progress: { loaded: number; total: number }[] = [];
    const got = await loadHfModel(filesFromBlobs('blobs', blobs), (p) => progress.push(p));
    expectSameWeights(got.weights, (await loadHfModel(filesFromMap('map', files))).weights);
    const largestFile = Math.max(...[...files].filter(([p]) => p.endsWith('.safetensors')).map(([, b]) => b.byteLength));
    expect(Math.max(...slices)).toBeLessThan(largestFile);
    // Progress: from 0, never backwards, ending at every tensor's bytes (2 per F16 value).
    const tensorBytes = [...got.weights.values()].reduce((n, w) => n + 2 * w.data.length, 0);
    expect(progress[0]).toEqual({ loaded: 0, total: tensorBytes });
    expect(progress.at(-1)).toEqual({ loaded: tensorBytes, total: tensorBytes });
    for (let i = 1; i < progress.length; i++) expect(progress[i].loaded).toBeGreaterThan(progress[i - 1].loaded);
  });
});
