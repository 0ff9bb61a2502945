// CSV / TSV: a header row; lines gathered into records by following quotes, each record parsed by
// papaparse; rows with the wrong number of fields are reported, not guessed. Excel's 8-bit files are read
// as Windows-1252 (rows.ts).
import Papa from 'papaparse';
import type { ByteSource } from '../bytes';
import { BAD_UTF8, oversized, RAW_KEEP, readLines, type FormatReader, type RawRow, type ReadOptions, type ReadResult, type Row, type RowProblem } from './rows';

const QUOTE = 0x22;

/**
 * Whether a CSV record is still inside a quoted field after this line, given the state before it.
 * As papaparse reads: a quote opens a field only at the field's start, and "" inside one is a quote.
 */
function insideQuotesAfter(line: string, delimiter: number, inside: boolean): boolean {
  let atFieldStart = !inside;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inside) {
      if (c === QUOTE) {
        if (line.charCodeAt(i + 1) === QUOTE) i++;
        else inside = false;
      }
    } else if (c === QUOTE && atFieldStart) {
      inside = true;
      atFieldStart = false;
    } else atFieldStart = c === delimiter;
  }
  return inside;
}

/**
 * CSV/TSV with a header row, streamed: lines are gathered into records (a quoted field may span lines),
 * and each record is parsed by papaparse on its own, so memory holds one record, and every row keeps its
 * first line's number. delimiter '' guesses it from the header line.
 */
export async function readCsv(src: ByteSource, opts: ReadOptions, delimiter: ',' | '\t' | '' = ''): Promise<ReadResult> {
  const rows: RawRow[] = [];
  const problems: RowProblem[] = [];
  let header: string[] | undefined;
  let delim: string = delimiter;
  // The record being gathered.
  let lines: string[] = [];
  let size = 0, first = 0, bad = false, inside = false;

  const finish = () => {
    const raw = lines.join('\n').replace(/\r$/, '');
    const seen = size, wasBad = bad;
    lines = []; size = 0; bad = false; inside = false;
    if (seen > opts.maxRowBytes) { problems.push(oversized(first, seen, opts.maxRowBytes, raw)); return; }
    if (raw.trim() === '') return; // blank lines between records
    if (!header) {
      header = Papa.parse<Row>(raw, { header: true, delimiter: delim, newline: '\n' }).meta.fields ?? [];
      return;
    }
    const res = Papa.parse<string[]>(raw, { delimiter: delim, newline: '\n' });
    const fields = res.data[0] ?? [];
    if (!res.errors.length && fields.every((f) => f.trim() === '')) return; // a row of empty fields, skipped like a blank line
    const problem = (reason: string) => problems.push({ line: first, severity: 'error', reason, raw, fixable: true });
    if (wasBad) return problem(BAD_UTF8);
    if (res.errors.length) return problem(res.errors.map((e) => e.message).join('; '));
    if (fields.length !== header.length) {
      return problem(`Too ${fields.length < header.length ? 'few' : 'many'} fields: expected ${header.length} fields but parsed ${fields.length}`);
    }
    const value: Row = {};
    header.forEach((h, k) => { value[h] = fields[k]; });
    rows.push({ line: first, value });
  };

  await readLines(src, opts, problems,
    ({ line, text, valid }) => {
      if (!lines.length) {
        if (!inside && text.trim() === '') return;
        first = line;
        delim ||= Papa.parse(text, { preview: 1 }).meta.delimiter || ',';
      }
      if (!valid) bad = true;
      size += text.length + 1;
      // A record too big to keep: its text is dropped, its quotes still followed to find where it ends.
      lines.push(size > opts.maxRowBytes ? (lines.length ? '' : text.slice(0, RAW_KEEP)) : text);
      inside = insideQuotesAfter(text, delim.charCodeAt(0), inside);
      if (!inside) finish();
    },
    (line, seen, head) => {
      // A line over the limit: whatever record it belongs to is lost; start afresh after it.
      problems.push(oversized(lines.length ? first : line, seen, opts.maxRowBytes, lines.length ? lines.join('\n') : head));
      lines = []; size = 0; bad = false; inside = false;
    },
    true, true,
  );
  if (lines.length) finish(); // an unclosed quote at the end: papaparse names it
  // Said in words: otherwise an empty or header-only file imports nothing without a reason.
  if (!header && !problems.some((p) => p.severity === 'error')) problems.push({ line: 0, severity: 'warning', reason: 'file is empty', raw: '', fixable: false });
  else if (header && rows.length === 0 && !problems.some((p) => p.severity === 'error')) {
    problems.push({ line: 0, severity: 'warning', reason: `only a header row (${header.join(', ').slice(0, 200)}), no data rows`, raw: '', fixable: false });
  }
  opts.onProgress?.(1);
  return { rows, problems, header };
}

/** Parses one fixed CSV row against the file's header. */
function parseCsvRow(raw: string, header: string[], delimiter: ',' | '\t'): { ok: true; value: Row } | { ok: false; reason: string } {
  const headerLine = Papa.unparse([header], { delimiter });
  const res = Papa.parse<Row>(`${headerLine}\n${raw}`, { header: true, delimiter, skipEmptyLines: 'greedy' });
  if (res.errors.length) return { ok: false, reason: res.errors.map((e) => e.message).join('; ') };
  if (res.data.length !== 1) return { ok: false, reason: `expected one row, got ${res.data.length}` };
  return { ok: true, value: res.data[0] };
}

/** A .csv's delimiter is guessed from its header line (Excel writes ';' in some locales); a fixed row reads back with ','. */
function delimitedReader(delimiter: ',' | '\t', extensions: string[]): FormatReader {
  return {
    extensions,
    read: (src, opts) => readCsv(src, opts, delimiter === ',' ? '' : delimiter),
    rowText: (row, header) => (header ? header.map((h) => {
      const v = row[h] == null ? '' : String(row[h]);
      return /[",\t\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
    }).join(delimiter) : JSON.stringify(row)),
    parseRow: (raw, header) => (header ? parseCsvRow(raw, header, delimiter) : { ok: false, reason: 'no header known for this file' }),
  };
}

export const csvReader = delimitedReader(',', ['csv']);
export const tsvReader = delimitedReader('\t', ['tsv', 'tab']);
