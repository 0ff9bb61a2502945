// The export registry (src/export/formats) is the one list: every entry builds, says what it needs and
// refuses to build without it; `studio export` accepts exactly its dtypes (any case) and refuses the others
// before writing anything; --help and the --format error list its ids; the Export tab renders one item per
// entry, in its order, with its dtypes; the model card names each format with its own line and library.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatList } from '../../app/features/export/FormatList';
import { parseArgs } from '../../cli/args';
import { cmdExport, exportUsage } from '../../cli/export';
import { modelCard } from '../../src/export/card';
import { EXPORT_FORMAT_IDS, EXPORT_FORMATS, type ExportFormatSpec } from '../../src/export/formats';
import { PRESETS } from '../../src/train/presets';

const formats: [string, ExportFormatSpec][] = Object.entries(EXPORT_FORMATS);
const dir = mkdtempSync(join(tmpdir(), 'export-formats-'));
mkdirSync(join(dir, 'model'));
mkdirSync(join(dir, 'adapter'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `studio export` in-process up to loading the model, which stops it: the arguments were accepted. */
async function cliExport(...args: string[]): Promise<string> {
  const p = parseArgs(['export', join(dir, 'model'), ...args], { flags: ['json'], options: ['adapter', 'format', 'dtype', 'data', 'out'] });
  const stop = () => Promise.reject(new Error('accepted'));
  try {
    await cmdExport(p, { engineWith: stop, importAdapterFolder: stop, readRecords: stop });
    return 'finished';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('export formats registry', () => {
  it('each entry is keyed by its id, has a label, a line, distinct dtypes and a build', () => {
    expect(EXPORT_FORMAT_IDS).toEqual(['peft', 'merged', 'gguf', 'gguf-lora', 'onnx', 'kit']);
    for (const [key, f] of formats) {
      expect(f.id).toBe(key);
      expect(f.label.trim(), key).not.toBe('');
      expect(f.description.trim(), key).not.toBe('');
      expect(new Set(f.dtypes).size, key).toBe(f.dtypes.length);
      expect(typeof f.build, key).toBe('function');
    }
    expect(new Set(formats.map(([, f]) => f.label)).size).toBe(formats.length);
  });

  it('a build refuses without what its format needs, with one line; one that needs no weights builds from what it declares', async () => {
    const records = [{ messages: [{ role: 'user' as const, content: 'q' }, { role: 'assistant' as const, content: 'a' }] }];
    for (const [id, f] of formats) {
      const declared = { name: 'm', run: PRESETS.quick, ...(f.needs.records ? { records } : {}) };
      if (f.needs.weights) await expect(f.build(declared), id).rejects.toThrow(new RegExp(`^the ${id} export needs the model with its adapter$`));
      else expect((await f.build(declared)).size, id).toBeGreaterThan(0);
      if (f.needs.records) await expect(f.build({ name: 'm', run: PRESETS.quick }), id).rejects.toThrow(new RegExp(`^the ${id} export needs the records$`));
    }
  });

  it('studio export accepts each format\'s dtypes in any case and refuses the others before writing', async () => {
    const all = [...new Set([...formats.flatMap(([, f]) => f.dtypes), 'Q4_0', 'F8'])];
    for (const [id, f] of formats) {
      const base = ['--format', id, '--adapter', join(dir, 'adapter'), '--data', join(dir, 'data.jsonl')];
      expect(await cliExport(...base, '--out', join(dir, `out-${id}`)), id).toBe('accepted');
      for (const d of all) {
        const out = join(dir, `out-${id}-${d}`);
        const message = await cliExport(...base, '--dtype', d.toLowerCase(), '--out', out);
        if (f.dtypes.includes(d)) expect(message, `${id} ${d}`).toBe('accepted');
        else expect(message, `${id} ${d}`).toBe(f.dtypes.length ? `--dtype for ${id} must be one of ${f.dtypes.join(', ')}` : `--dtype does not apply to ${id}`);
        expect(readdirSync(dir).filter((n) => n.includes('.studio-new-')), `${id} ${d}`).toEqual([]);
        if (!f.dtypes.includes(d)) expect(existsSync(out)).toBe(false);
      }
      if (f.needs.adapter) expect(await cliExport('--format', id, '--out', join(dir, 'o')), id).toBe(`--format ${id} needs --adapter DIR`);
    }
  });

  it('--help and the --format error list the registry\'s formats, labels and dtypes', async () => {
    const help = exportUsage();
    expect(help).toContain(`--format ${EXPORT_FORMAT_IDS.join('|')}`);
    const lines = help.split('\n').slice(1);
    expect(lines.map((l) => l.trim().split(/\s+/)[0])).toEqual(EXPORT_FORMAT_IDS);
    for (const [i, [, f]] of formats.entries()) {
      expect(lines[i]).toContain(`${f.label}: ${f.description}`);
      if (f.dtypes.length) expect(lines[i]).toContain(`--dtype ${f.dtypes[0]} (default) | ${f.dtypes.slice(1).join(' | ')}`);
      expect(lines[i].includes('--adapter'), f.id).toBe(f.needs.adapter);
    }
    expect(await cliExport('--format', 'exe', '--out', join(dir, 'o'))).toBe(`--format must be one of ${EXPORT_FORMAT_IDS.join(', ')}, not exe`);
  });

  it('the Export tab lists one item per format, in the registry\'s order, with its dtypes', () => {
    const html = renderToStaticMarkup(createElement(FormatList, {
      ready: (f) => f.id !== 'kit', busy: false, dtypes: { gguf: 'Q8_0' }, onDtype: () => {}, onDownload: () => {},
    }));
    const items = [...html.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1]);
    expect(items.map((li) => /<button[^>]*>([^<]*)<\/button>/.exec(li)![1])).toEqual(EXPORT_FORMAT_IDS.map((id) => `Download ${EXPORT_FORMATS[id].label} (zip)`));
    for (const [i, [id, f]] of formats.entries()) {
      expect(items[i]).toContain(f.description.replace(/'/g, '&#x27;'));
      expect(/<button[^>]*disabled/.test(items[i]), id).toBe(id === 'kit');
      const options = [...items[i].matchAll(/<option value="([^"]*)"( selected)?/g)];
      expect(options.map((o) => o[1]), id).toEqual(f.dtypes.length > 1 ? f.dtypes : []);
      if (options.length) expect(options.find((o) => o[2])![1], id).toBe(id === 'gguf' ? 'Q8_0' : f.dtypes[0]);
    }
  });

  it('the model card names each format with its own line, usage and library', () => {
    const cards = formats.map(([id, f]) => {
      const card = modelCard({ kind: id as keyof typeof EXPORT_FORMATS, baseModel: 'org/base', dataset: null, run: { lora: PRESETS.quick.lora, importedFrom: 'a.zip' }, metrics: {} });
      expect(card, id).toContain(`library_name: ${JSON.stringify(f.card.library)}\n`);
      expect(card, id).toContain(f.card.what);
      expect(card, id).toContain(f.card.usage('"org/base"'));
      const tags = /^tags: (.*)$/m.exec(card)![1];
      for (const tag of f.card.tags) expect(tags, id).toContain(JSON.stringify(tag));
      return card;
    });
    expect(new Set(formats.map(([, f]) => f.card.what)).size).toBe(formats.length);
    expect(new Set(cards).size).toBe(formats.length);
  });
});
