// `studio export` end to end, as a user runs it: a PEFT adapter on a tiny model exported as a GGUF model (+
// Modelfile + model card), as GGUF LoRA + base, and as a merged HF folder; the files are byte for byte what the
// Export tab's code (src/export, called in-process here) makes from the same weights; an --out that exists and
// is not empty is refused and left as it was; a bad --format or --dtype exits non-zero with one line.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { exportGgufFiles } from '../../src/export/gguf-model';
import { exportPeftAdapter } from '../../src/export/peft';
import { loadHfModel, type LoadedModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import type { Transformer } from '../../src/model/transformer';
import { withRandomLora } from '../helpers/random-lora';
import { studio } from '../helpers/cli';

let dir = '', modelDir = '', adapterDir = '';
let base: LoadedModel, model: Transformer;


beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-export-'));
  modelDir = join(dir, 'tiny');
  adapterDir = join(dir, 'adapter');
  makeTinyModel('llama-small', modelDir, 3);
  base = await loadHfModel(filesFromDirectory(modelDir));
  ({ model } = await withRandomLora(base, 4, 9, ['q_proj', 'k_proj', 'v_proj', 'o_proj']));
  const peft = await exportPeftAdapter(model, 'tiny');
  mkdirSync(adapterDir);
  writeFileSync(join(adapterDir, 'adapter_model.safetensors'), peft['adapter_model.safetensors']);
  writeFileSync(join(adapterDir, 'adapter_config.json'), peft['adapter_config.json']);
});
afterAll(() => { model?.destroy(); rmSync(dir, { recursive: true, force: true }); });

describe('studio export', () => {
  it('gguf and gguf-lora: the Export tab\'s files, with a Modelfile and a model card', async () => {
    for (const [format, dtype] of [['gguf', 'Q4_K_M'], ['gguf-lora', 'F16']] as const) {
      const out = join(dir, `out-${format}`);
      const r = studio('export', modelDir, '--adapter', adapterDir, '--format', format, '--dtype', dtype.toLowerCase(), '--out', out, '--json');
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { format: string; out: string; files: { name: string; bytes: number }[] };
      const expected = await exportGgufFiles(model, base, filesFromDirectory(modelDir), { format, dtype, name: 'tiny' });
      expect(j.files.map((f) => f.name).sort()).toEqual([...expected.keys(), 'README.md'].sort());
      expect(readdirSync(out).sort()).toEqual([...j.files.map((f) => f.name), '.studio-output.json'].sort());   // + the studio's manifest
      for (const [name, bytes] of expected) expect(Buffer.compare(readFileSync(join(out, name)), bytes), name).toBe(0);
      const card = readFileSync(join(out, 'README.md'), 'utf8');
      expect(card).toContain('ollama create my-model -f Modelfile');
      expect(card).toContain('ollama run my-model');
    }
  });

  it('merged: a Hugging Face folder that loads back; a folder the studio wrote is replaced, one it did not is refused and kept', async () => {
    const out = join(dir, 'out-merged');
    const r = studio('export', modelDir, '--adapter', adapterDir, '--format', 'merged', '--dtype', 'F16', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const back = await loadHfModel(filesFromDirectory(out));
    expect(back.config.numLayers).toBe(base.config.numLayers);
    const again = studio('export', modelDir, '--format', 'gguf', '--out', out);
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);   // replaced whole, as train's outputs are
    const foreign = join(dir, 'mine');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'keep me');
    const refused = studio('export', modelDir, '--format', 'gguf', '--out', foreign);
    expect(refused.code).toBe(5);
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: /)]);
    expect(readdirSync(foreign)).toEqual(['notes.txt']);
    expect(readdirSync(dir).filter((f) => f.includes('.studio-new-'))).toEqual([]);
  });

  it('bad --format or --dtype: one line, nothing written', () => {
    for (const args of [['--format', 'exe'], ['--format', 'gguf', '--dtype', 'Q4_0'], ['--format', 'gguf-lora']]) {
      const out = join(dir, `bad-${args.join('')}`);
      const r = studio('export', modelDir, ...args, '--out', out);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: (--format must be one of|--dtype for gguf must be one of|--format gguf-lora needs --adapter)/);
      expect(existsSync(out)).toBe(false);
    }
  });
});
