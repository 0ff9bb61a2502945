// Zip packaging: every export zips to one archive that fflate's own unzip AND Python's zipfile (an independent
// implementation) read back to the same files, byte for byte; our reader strips a common folder and refuses
// unsafe names and oversized contents. A PEFT adapter zip imports onto a fresh model with bit-identical logits.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPeftAdapter, exportPeftAdapter, loraFromPeftConfig, peftExportFiles, peftFilesFrom } from '../../src/export/peft';
import { unzipExport, withReadme, zipExport } from '../../src/export/zip';
import { initWeights, tinyConfig } from '../../src/model/init';
import { Transformer } from '../../src/model/transformer';
import { rng } from '../helpers/check';
import { testGpu } from '../helpers/gpu';
import { venvPython } from '../helpers/torch';
import { logitsOf } from '../helpers/model';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sampleFiles(): Map<string, Uint8Array> {
  const r = rng(3);
  const binary = Uint8Array.from({ length: 70_001 }, () => Math.floor(r() * 256));
  const enc = new TextEncoder();
  return withReadme(new Map([
    ['model.safetensors', binary],
    ['adapter-f32.gguf', binary.subarray(5, 1005)],
    ['config.json', enc.encode(JSON.stringify({ model_type: 'llama', note: 'ünïcødé' }, null, 2))],
    ['onnx/model.onnx', binary.subarray(0, 333)],
    ['empty.txt', new Uint8Array(0)],
  ]), '# card\n'.repeat(100));
}

describe('export zips', () => {
  it('unzip (fflate, Python zipfile, ours) to the same files', () => {
    const files = sampleFiles();
    const zip = zipExport(files);
    const back = unzipSync(zip);
    expect(new Set(Object.keys(back))).toEqual(new Set(files.keys()));
    for (const [name, bytes] of files) expect(back[name], name).toEqual(bytes);
    expect(unzipExport(zip)).toEqual(files);
    // inside a folder: ours strips it
    const foldered = zipExport(files, { folder: 'my-export' });
    expect(Object.keys(unzipSync(foldered)).every((n) => n.startsWith('my-export/'))).toBe(true);
    expect(unzipExport(foldered)).toEqual(files);

    const dir = mkdtempSync(join(tmpdir(), 'zip-check-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'x.zip'), zip);
    const listing = JSON.parse(execFileSync(venvPython(), ['-c',
      'import hashlib, json, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; '
      + 'print(json.dumps({i.filename: [i.file_size, hashlib.sha256(z.read(i)).hexdigest(), i.compress_type] for i in z.infolist()}))',
      join(dir, 'x.zip')], { encoding: 'utf8' })) as Record<string, [number, string, number]>;
    for (const [name, bytes] of files) {
      const [size, sha, method] = listing[name];
      expect(size, name).toBe(bytes.length);
      expect(sha, name).toBe(createHash('sha256').update(bytes).digest('hex'));
      // weights are stored, text deflated
      if (/\.(safetensors|gguf|onnx)$/.test(name)) expect(method, name).toBe(0);
    }
    expect(listing['README.md'][2]).toBe(8);
  });

  it('PEFT files convert to the same map', () => {
    const f = peftExportFiles({ 'adapter_model.safetensors': Uint8Array.of(1, 2, 3), 'adapter_config.json': '{"r": 4}' });
    expect([...f.keys()]).toEqual(['adapter_model.safetensors', 'adapter_config.json']);
    expect(new TextDecoder().decode(f.get('adapter_config.json'))).toBe('{"r": 4}');
  });

  it('refuses unsafe names, too many or too large contents, and non-zips', () => {
    const evil = zipSync({ '../escape.txt': new Uint8Array(3) });
    expect(() => unzipExport(evil, {}, 'evil.zip')).toThrow(/evil.zip: unsafe file name "..\/escape.txt"/);
    expect(() => unzipExport(zipSync({ '/abs.txt': new Uint8Array(3) }))).toThrow(/unsafe file name/);
    const big = zipExport(sampleFiles());
    expect(() => unzipExport(big, { maxBytes: 50_000 })).toThrow(/contents exceed 50000 bytes/);
    expect(() => unzipExport(big, { maxFiles: 2 })).toThrow(/more than 2 files/);
    expect(() => unzipExport(Uint8Array.of(1, 2, 3, 4), {}, 'junk.zip')).toThrow(/junk.zip: not a readable zip/);
    expect(() => zipExport(new Map([['a/../b', new Uint8Array(1)]]))).toThrow(/unsafe file name/);
  });

  it('a PEFT adapter zip (in a folder, with its card) imports onto a fresh model with identical logits', async () => {
    const gpu = await testGpu();
    const config = tinyConfig('llama');
    const weights = initWeights(config, 8, 0.2);
    const lora = { rank: 2, alpha: 4, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] };
    const model = new Transformer(gpu, config, weights, { kind: 'lora', lora }, 3);
    const r = rng(4);
    for (const name of model.params.trainableNames()) {
      const shape = model.params.specs.get(name)!.shape;
      gpu.write(model.params.get(name), Float32Array.from({ length: shape[0] * shape[1] }, () => r() - 0.5));
    }
    const ids = Uint32Array.from([1, 5, 9, 33]);
    const logits = (m: Transformer) => logitsOf(m, ids);
    const zip = zipExport(withReadme(peftExportFiles(await exportPeftAdapter(model, 'tiny-llama')), '# card\n'), { folder: 'my-adapter' });
    const peft = peftFilesFrom(unzipExport(zip, {}, 'my-adapter.zip'), 'my-adapter.zip');
    const { lora: back, baseModel } = loraFromPeftConfig(peft['adapter_config.json']);
    expect(baseModel).toBe('tiny-llama');
    const fresh = new Transformer(gpu, config, weights, { kind: 'lora', lora: back }, 99);
    applyPeftAdapter(fresh, peft['adapter_model.safetensors']);
    expect(await logits(fresh)).toEqual(await logits(model));
    expect(() => peftFilesFrom(new Map([['adapter_config.json', new Uint8Array(2)], ['adapter_model.bin', new Uint8Array(2)]]), 'x.zip')).toThrow(/x.zip: no adapter_model.safetensors \(adapter_model.bin is PyTorch pickle/);
    expect(() => peftFilesFrom(new Map(), 'y.zip')).toThrow(/y.zip: no adapter_config.json/);
    fresh.destroy();
    model.destroy();
  });
});
