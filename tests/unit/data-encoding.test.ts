// Import of files as a newcomer's tools write them (issue 15): a CSV saved by Excel in Windows-1252 is read
// with a warning instead of refusing every row (and its rows can still be fixed and retried), a UTF-8 file
// with one broken sequence stays UTF-8, and an empty file or a header-only CSV says so in words. Files are
// read through the streaming path in 3-byte chunks, so multi-byte characters and lines straddle chunks.
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../src/data/bytes';
import { looksWindows1252 } from '../../src/data/formats/rows';
import { importSource, retryIssue } from '../../src/data/import';

const ascii = (t: string) => [...t].map((c) => c.charCodeAt(0));
/** Windows-1252 bytes: é E9, è E8, û FB, € 80, ’ 92 (the last two exist in 1252 but not in Latin-1). */
const CP1252_CSV = new Uint8Array([
  ...ascii('prompt,completion\nCaf'), 0xe9, ...ascii(',Cr'), 0xe8, ...ascii('me br'), 0xfb, ...ascii('l'), 0xe9, 0x0d, 0x0a,
  ...ascii('Price?,5 '), 0x80, ...ascii(' it'), 0x92, ...ascii('s cheap\r\n'),
  ...ascii('only one field\r\n'),
]);
const warnings = (r: Awaited<ReturnType<typeof importSource>>) => r.issues.filter((i) => i.severity === 'warning').map((i) => i.reason);
const errors = (r: Awaited<ReturnType<typeof importSource>>) => r.issues.filter((i) => i.severity === 'error');

describe('character encodings', () => {
  it('reads a Windows-1252 CSV as such, says so, and a refused row of it is fixed and retried', async () => {
    const r = await importSource(memorySource('excel.csv', CP1252_CSV, 3), {});
    expect(r.records.map((x) => x.messages.map((m) => m.content))).toEqual([['Café', 'Crème brûlé'], ['Price?', '5 € it’s cheap']]);
    expect(warnings(r)).toEqual(['file is not UTF-8: read as Windows-1252 (Latin-1), as Excel saves CSV; check accented letters']);
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatchObject({ line: 4, raw: 'only one field', fixable: true });
    const fixed = retryIssue(errors(r)[0], 'Où est-il ?,Ici.', r.context);
    expect('messages' in fixed && fixed.messages.map((m) => m.content)).toEqual(['Où est-il ?', 'Ici.']);
  });

  it('the same bytes as a TSV are read as Windows-1252 too', async () => {
    const tsv = new Uint8Array([...ascii('prompt\tcompletion\nna'), 0xef, ...ascii('ve\tr'), 0xe9, ...ascii('sum'), 0xe9, 0x0a]);
    const r = await importSource(memorySource('t.tsv', tsv, 3), {});
    expect(r.records.map((x) => x.messages.map((m) => m.content))).toEqual([['naïve', 'résumé']]);
    expect(warnings(r)).toHaveLength(1);
  });

  it('a UTF-8 CSV with one broken sequence stays UTF-8: only that row is refused, with no encoding warning', async () => {
    const enc = new TextEncoder();
    const csv = new Uint8Array([...enc.encode('prompt,completion\nCafé,Crème\nbro'), 0xc3, 0x28, ...enc.encode('ken,x\n')]);
    const r = await importSource(memorySource('u.csv', csv, 3), {});
    expect(r.records.map((x) => x.messages.map((m) => m.content))).toEqual([['Café', 'Crème']]);
    expect(errors(r).map((e) => [e.line, e.reason])).toEqual([[3, 'invalid UTF-8 bytes (shown as \uFFFD)']]);
    expect(warnings(r)).toEqual([]);
  });

  it('tells an 8-bit code page from UTF-8 by whether any well-formed UTF-8 sequence appears', () => {
    expect(looksWindows1252(new Uint8Array(ascii('plain ascii')))).toBe(false);
    expect(looksWindows1252(new Uint8Array([...ascii('caf'), 0xe9]))).toBe(true);
    expect(looksWindows1252(new TextEncoder().encode('5 € and café'))).toBe(false);
    expect(looksWindows1252(new Uint8Array([0xe2, 0x82, 0xac, 0xe9]))).toBe(false); // one real € is enough
  });
});

describe('files with nothing to import say so', () => {
  const reasons = async (name: string, body: string) => warnings(await importSource(memorySource(name, new TextEncoder().encode(body), 3), {}));

  it('an empty CSV, JSONL or JSON file', async () => {
    expect(await reasons('e.csv', '')).toEqual(['file is empty']);
    expect(await reasons('e.jsonl', '')).toEqual(['file is empty']);
    expect(await reasons('b.jsonl', '\n\n')).toEqual(['file is empty (2 empty lines)']);
    expect(await reasons('e.json', '')).toEqual(['file is empty']);
  });

  it('a CSV with only its header row', async () => {
    const r = await importSource(memorySource('h.csv', new TextEncoder().encode('prompt,completion\r\n'), 3), {});
    expect(r.records).toEqual([]);
    expect(warnings(r)).toEqual(['only a header row (prompt, completion), no data rows']);
  });
});
