// Import: each format and its malformed variants (BOM, CRLF, empty lines, invalid UTF-8, huge rows,
// unknown fields, cut-off files). Every fixture is read through the streaming path with a tiny chunk size
// so lines straddle chunk boundaries. Expected values come from the fixture's stated contents
// (tests/fixtures/data/README.md), never from running the importer.
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { forEachLine, memorySource, type ByteSource } from '../../src/data/bytes';
import { readCsv } from '../../src/data/formats/csv';
import { JsonScanner, readJson } from '../../src/data/formats/json';
import { readParquet } from '../../src/data/formats/parquet';
import { DEFAULT_MAX_ROW_BYTES } from '../../src/data/formats/rows';
import { importSource, retryIssue, type FileImport } from '../../src/data/import';
import type { ImportIssue } from '../../src/data/record';

const fixture = (name: string) => new Uint8Array(readFileSync(`tests/fixtures/data/${name}`));

async function load(name: string, opts: Parameters<typeof importSource>[1] = {}, chunk = 7): Promise<FileImport> {
  return importSource(memorySource(name, fixture(name), chunk), opts);
}

const errors = (r: FileImport) => r.issues.filter((i) => i.severity === 'error');
const warnings = (r: FileImport) => r.issues.filter((i) => i.severity === 'warning');
const lines = (issues: ImportIssue[]) => issues.map((i) => i.line);

describe('jsonl', () => {
  it('alpaca with BOM, CRLF, an empty line, a cut-off line and a missing output', async () => {
    const r = await load('alpaca.jsonl');
    expect(r.context.shape).toBe('alpaca');
    expect(r.records.map((x) => x.source.line)).toEqual([1, 3, 6]);
    expect(r.records[0].messages).toEqual([{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'Blue is a colour.' }]);
    expect(r.records[1].messages[0].content).toBe('Add the numbers.\n\n2 and 3');
    expect(lines(errors(r))).toEqual([4, 5]);
    expect(errors(r)[0].reason).toMatch(/invalid JSON/);
    expect(errors(r)[1].reason).toBe("missing field 'output'");
    expect(errors(r).every((e) => e.file === 'alpaca.jsonl' && e.fixable)).toBe(true);
    const w = warnings(r).map((i) => i.reason).join('\n');
    expect(w).toMatch(/1 empty line skipped/);
    expect(w).toMatch(/unknown field 'category'/);
    expect(r.records[0].original.category).toBe('open_qa'); // unknown fields are kept
  });

  it('messages: multi-turn, unknown roles and non-object lines are named', async () => {
    const r = await load('messages.jsonl');
    expect(r.context.shape).toBe('messages');
    expect(r.records.map((x) => x.source.line)).toEqual([1, 2, 5]);
    expect(r.records[1].messages).toHaveLength(4);
    expect(errors(r).map((e) => [e.line, e.reason])).toEqual([
      [3, "messages[1] has unknown role 'tool'"],
      [4, 'expected a JSON object, got an array'],
    ]);
  });

  it('invalid UTF-8 in one line costs only that line, which is kept for fixing', async () => {
    const r = await load('invalid-utf8.jsonl');
    expect(r.records.map((x) => x.source.line)).toEqual([1, 3]);
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatchObject({ line: 2, fixable: true });
    expect(errors(r)[0].reason).toMatch(/invalid UTF-8/);
    expect(errors(r)[0].raw).toContain('\uFFFD');
  });

  it('UTF-16LE with a BOM is converted and named', async () => {
    const r = await load('utf16.jsonl');
    expect(r.records.map((x) => x.messages[0].content)).toEqual(['utf sixteen']);
    expect(warnings(r).some((w) => /UTF-16LE/.test(w.reason))).toBe(true);
  });

  it('a huge single row is reported and skipped without losing its neighbours', async () => {
    const big = JSON.stringify({ text: 'x'.repeat(5000) });
    const src = memorySource('big.jsonl', `{"text":"before"}\n${big}\n{"text":"after"}`, 100);
    const r = await importSource(src, { maxRowBytes: 1000 });
    expect(r.records.map((x) => x.messages[0].content)).toEqual(['before', 'after']);
    expect(r.records.map((x) => x.source.line)).toEqual([1, 3]);
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatchObject({ line: 2, fixable: false });
    expect(errors(r)[0].reason).toMatch(/over 1000 bytes/);
  });

  it('a last line without a newline and a multi-byte character split across chunks', async () => {
    const text = '{"text":"é€😀 one"}\n{"text":"two"}';
    for (const chunk of [1, 2, 3, 5, 64]) {
      const r = await importSource(memorySource('t.jsonl', text, chunk));
      expect(r.records.map((x) => x.messages[0].content)).toEqual(['é€😀 one', 'two']);
      expect(r.issues).toEqual([]);
    }
  });
});

describe('json', () => {
  it('array: a malformed element is reported by line, the elements after it still import', async () => {
    const r = await load('sharegpt.json');
    expect(r.context.shape).toBe('sharegpt');
    expect(r.records.map((x) => x.source.line)).toEqual([2, 3, 5]);
    expect(r.records[1].messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(r.records[2].messages[0].content).toBe('Last one, with a "quoted" word and a ] bracket.');
    expect(lines(errors(r))).toEqual([4]);
    expect(errors(r)[0].reason).toMatch(/element 2: invalid JSON/);
  });

  it('object of arrays: groups named validation go to the validation split; other keys are named', async () => {
    const r = await load('splits.json');
    expect(r.context.shape).toBe('prompt-completion');
    expect(r.records.map((x) => [x.source.line, x.split])).toEqual([[4, 'train'], [5, 'train'], [8, 'validation']]);
    expect(warnings(r).map((w) => w.reason)).toEqual(["top-level key 'version' is not a list of rows; ignored"]);
  });

  it('a file cut short keeps what was complete', async () => {
    const r = await load('truncated.json');
    expect(r.records.map((x) => x.messages[0].content)).toEqual(['ok one']);
    expect(errors(r).map((e) => e.reason).join('\n')).toMatch(/not closed/);
  });

  it('the scanner finds element boundaries around strings with brackets and escapes', () => {
    const found: string[] = [];
    const s = new JsonScanner(1 << 20, { element: (e) => found.push(e.text), row: () => {}, problem: (p) => { throw new Error(p.reason); } });
    s.feed('[{"a":"]\\"},"}, [1,[2]] , "x,y"]', 1);
    s.end();
    expect(found).toEqual(['{"a":"]\\"},"}', '[1,[2]]', '"x,y"']);
  });
});

describe('csv / tsv', () => {
  it('CRLF, quoted fields, a multi-line field, a blank line and a short row', async () => {
    const r = await load('prompt_completion.csv');
    expect(r.context.format).toBe('csv');
    expect(r.context.shape).toBe('prompt-completion');
    expect(r.records.map((x) => x.source.line)).toEqual([2, 3, 7]);
    expect(r.records[0].messages[0].content).toBe('What is "quoted"?');
    expect(r.records[0].messages[1].content).toBe('A word in quotes, with a comma.');
    expect(r.records[1].messages[0].content).toBe('Two\r\nlines');
    expect(errors(r).map((e) => [e.line, e.raw])).toEqual([[6, 'bad row with too few fields']]);
    expect(errors(r)[0].reason).toMatch(/Too few fields/);
    expect(warnings(r).map((w) => w.reason).join()).toMatch(/unknown field 'split'/);
  });

  it('a fixed CSV row re-imports against the file header', async () => {
    const r = await load('prompt_completion.csv');
    const issue = errors(r)[0];
    const stillBad = retryIssue(issue, 'only one field', r.context);
    expect('reason' in stillBad && stillBad.reason).toMatch(/Too few fields/);
    const fixed = retryIssue(issue, '"Fixed prompt","Fixed answer here.",train', r.context);
    expect('messages' in fixed && fixed.messages.map((m) => m.content)).toEqual(['Fixed prompt', 'Fixed answer here.']);
    expect('source' in fixed && fixed.source).toEqual({ file: 'prompt_completion.csv', line: 6 });
  });

  it('a BOM before the header, and invalid UTF-8 in one row of CSV and of JSON', async () => {
    const enc = (t: string) => new TextEncoder().encode(t);
    const join = (...parts: Uint8Array[]) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; };
    const bad = new Uint8Array([0xc3, 0x28]); // a broken two-byte sequence
    const csv = join(new Uint8Array([0xef, 0xbb, 0xbf]), enc('prompt,completion\nfine,ok answer\nbro'), bad, enc('ken,x\nalso fine,ok\n'));
    const r = await importSource(memorySource('b.csv', csv, 5));
    expect(r.context.shape).toBe('prompt-completion');
    expect(r.records.map((x) => x.source.line)).toEqual([2, 4]);
    expect(errors(r).map((e) => [e.line, e.reason])).toEqual([[3, 'invalid UTF-8 bytes (shown as \uFFFD)']]);
    const json = join(enc('[{"text":"one"},\n{"text":"t'), bad, enc('o"},\n{"text":"three"}]'));
    const j = await importSource(memorySource('b.json', json, 5));
    expect(j.records.map((x) => x.messages[0].content)).toEqual(['one', 'three']);
    expect(errors(j).map((e) => e.line)).toEqual([2]);
  });

  it('tsv with plain text rows', async () => {
    const r = await load('text.tsv');
    expect(r.context.format).toBe('tsv');
    expect(r.context.shape).toBe('text');
    expect(r.records.map((x) => x.messages)).toEqual([
      [{ role: 'assistant', content: 'The quick brown fox jumps over the lazy dog.' }],
      [{ role: 'assistant', content: 'A second plain text example for pretraining style.' }],
    ]);
  });

  it('unknown columns ask for a map, and a remembered map is used the next time', async () => {
    const first = await load('custom.csv');
    expect(first.records).toEqual([]);
    expect(first.needsMapping?.columns).toEqual(['question', 'answer', 'topic']);
    const map = { prompt: 'question', response: 'answer' };
    const second = await load('custom.csv', { columnMaps: { [first.needsMapping!.signature]: map } });
    expect(second.context.shape).toBe('mapped');
    expect(second.records[1].messages).toEqual([
      { role: 'user', content: 'Who wrote Hamlet?' }, { role: 'assistant', content: 'William Shakespeare wrote Hamlet.' },
    ]);
    expect(warnings(second).map((w) => w.reason).join()).toMatch(/unknown field 'topic'/);
  });
});

describe('parquet', () => {
  it('reads nested messages and BigInt columns', async () => {
    const r = await load('messages.parquet', {}, 64);
    expect(r.context.shape).toBe('messages');
    expect(r.records).toHaveLength(3);
    expect(r.records[1].messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(r.records[2].original.score).toBe(3);
    expect(r.records.map((x) => x.source.line)).toEqual([1, 2, 3]);
  });

  it('a corrupt file is one issue, not a crash', async () => {
    const r = await load('corrupt.parquet', {}, 64);
    expect(r.records).toEqual([]);
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatchObject({ line: 0, file: 'corrupt.parquet' });
    expect(errors(r)[0].reason).toMatch(/not a readable Parquet file/);
  });
});

describe('retry', () => {
  it('a fixed JSON line becomes a record with its original file and line', async () => {
    const r = await load('alpaca.jsonl');
    const cut = errors(r)[0];
    const rec = retryIssue(cut, '{"instruction": "broken", "output": "now whole"}', r.context);
    expect('messages' in rec && rec.messages[1].content).toBe('now whole');
    expect('source' in rec && rec.source).toEqual({ file: 'alpaca.jsonl', line: 4 });
  });
});

describe('bytes', () => {
  it('forEachLine strips CR and BOM and numbers lines from 1', async () => {
    const got: [number, string][] = [];
    await forEachLine(memorySource('x', '\uFEFFa\r\nb\n\nc', 2).chunks(), 100, (l) => got.push([l.line, new TextDecoder().decode(l.bytes)]), () => {});
    expect(got).toEqual([[1, 'a'], [2, 'b'], [3, ''], [4, 'c']]);
  });
});

// The streamed readers against whole-text references (papaparse on the whole text, JSON.parse of the
// whole file) at every small chunk size, so each quote, escape, CRLF and bracket falls on a boundary.
describe('streaming', () => {
  const CHUNKS = Array.from({ length: 23 }, (_, i) => i + 1);

  it('csv: quoted fields with newlines, CRLF, "" and delimiters across chunk boundaries match a whole-text parse', async () => {
    const csv = 'prompt,completion\r\n' +
      '"He said ""hi""\r\nthen left","a, b"\r\n' + // lines 2-3
      '\r\n' + //                                     line 4: blank
      'plain,"three\nline\n""field"""\r\n' + //       lines 5-7
      '"x","y"'; //                                   line 8, no line end
    const reference = Papa.parse<Record<string, string>>(csv, { header: true, skipEmptyLines: 'greedy' });
    expect(reference.errors).toEqual([]);
    for (const chunk of CHUNKS) {
      const r = await readCsv(memorySource('s.csv', csv, chunk), { maxRowBytes: DEFAULT_MAX_ROW_BYTES });
      expect(r.problems).toEqual([]);
      expect(r.rows.map((x) => x.value)).toEqual(reference.data);
      expect(r.rows.map((x) => x.line)).toEqual([2, 5, 8]);
    }
  });

  it('csv: a quote left open at the end is named with its first line; rows before it stay', async () => {
    const r = await readCsv(memorySource('o.csv', 'a,b\n1,2\n"open,3\nmore\n', 4), { maxRowBytes: DEFAULT_MAX_ROW_BYTES });
    expect(r.rows.map((x) => x.value)).toEqual([{ a: '1', b: '2' }]);
    expect(r.problems.map((p) => [p.line, p.severity])).toEqual([[3, 'error']]);
    expect(r.problems[0].reason).toMatch(/Quoted field unterminated/);
  });

  it('json: elements spanning lines and chunks, with brackets and escapes in strings, match JSON.parse', async () => {
    const rows = [
      { text: 'a ] and a [ and a "quote" and a \\ backslash', n: [1, [2, { x: '}' }]] },
      { messages: [{ role: 'user', content: 'line one\nline two' }, { role: 'assistant', content: 'é ü 字 🙂' }] },
      { text: '{"not":"parsed"}' },
    ];
    const json = '[\n' + rows.map((r) => JSON.stringify(r, null, 2)).join(',\n') + '\n]\n';
    const starts = [2, 2 + JSON.stringify(rows[0], null, 2).split('\n').length];
    for (const chunk of CHUNKS) {
      const r = await readJson(memorySource('s.json', json, chunk), { maxRowBytes: DEFAULT_MAX_ROW_BYTES });
      expect(r.problems).toEqual([]);
      expect(r.rows.map((x) => x.value)).toEqual(JSON.parse(json));
      expect(r.rows.slice(0, 2).map((x) => x.line)).toEqual(starts);
    }
  });

  it('json: an element over the row limit is named and skipped; its neighbours import', async () => {
    const json = `[{"text":"short"},\n{"text":"${'x'.repeat(300)}"},\n{"text":"after"}]`;
    const r = await readJson(memorySource('big.json', json, 16), { maxRowBytes: 100 });
    expect(r.rows.map((x) => x.value.text)).toEqual(['short', 'after']);
    expect(r.problems.map((p) => [p.line, p.fixable])).toEqual([[2, false]]);
    expect(r.problems[0].reason).toMatch(/over 100 bytes/);
  });

  it('parquet: read row group by row group through slices, never the whole file at once', async () => {
    const n = 30;
    const buf = parquetWriteBuffer({
      columnData: [{ name: 'prompt', data: Array.from({ length: n }, (_, i) => `p${i}`) }, { name: 'completion', data: Array.from({ length: n }, (_, i) => `c${i}`) }],
      rowGroupSize: 10,
    });
    const inner = memorySource('g.parquet', new Uint8Array(buf));
    const slices: number[] = [];
    const src: ByteSource = { ...inner, slice: (a, b) => { slices.push(b - a); return inner.slice(a, b); } };
    const progress: number[] = [];
    const r = await readParquet(src, { maxRowBytes: DEFAULT_MAX_ROW_BYTES, onProgress: (f) => progress.push(f) });
    expect(r.rows.map((x) => [x.line, x.value.prompt, x.value.completion])).toEqual(Array.from({ length: n }, (_, i) => [i + 1, `p${i}`, `c${i}`]));
    expect(progress.map((f) => f.toFixed(3))).toEqual(['0.333', '0.667', '1.000']);
    expect(Math.max(...slices.slice(1))).toBeLessThan(buf.byteLength / 2); // after the footer: one group's columns at a time
  });
});

describe('streaming a minified JSON array', () => {
  it('a one-line array far longer than a piece is read element by element, multi-byte characters intact', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ prompt: `Frage ${i}: é 字 🙂?`, completion: `Antwort ${i} — ${'ü'.repeat(i % 40)}` }));
    const json = JSON.stringify(rows); // ~1.9 MB on one line: cut into pieces at 1 MiB, inside characters
    expect(json.includes('\n')).toBe(false);
    const r = await readJson(memorySource('min.json', json, 4096), { maxRowBytes: 1000 });
    expect(r.problems).toEqual([]);
    expect(r.rows.map((x) => x.value)).toEqual(rows);
    expect(new Set(r.rows.map((x) => x.line))).toEqual(new Set([1]));
  });
});
