// File formats → rows. Each reader turns a ByteSource into plain row objects with their 1-based line (or
// Parquet row number), and reports every row it cannot read with file, line and reason while reading on.
// Readers know nothing of shapes (shapes.ts) or records (import.ts).
//   jsonl   streamed line by line; empty lines skipped and counted; invalid UTF-8 and oversized lines named
//   json    an array of rows, or an object whose values are arrays of rows ({"train": [...], "test": [...]});
//           elements are found by a string-aware scanner and parsed one by one, so one bad element costs
//           only itself
//   csv/tsv papaparse with a header row; rows with the wrong number of fields are reported, not guessed
//   parquet hyparquet, read in row-group-sized slices for progress; BigInt values become numbers/strings
import Papa from 'papaparse';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { decodeUtf8, forEachLine, readAll, sniffEncoding, utf16ToUtf8, memorySource, type ByteSource } from './bytes';
import type { FileFormat } from './record';
import type { Row } from './shapes';

export interface RawRow {
  line: number;
  value: Row;
  /** For object-of-arrays JSON: the key the row sat under ("train", "validation", ...). */
  group?: string;
}

export interface RowProblem {
  line: number;
  severity: 'error' | 'warning';
  reason: string;
  raw: string;
  fixable: boolean;
}

export interface ReadResult {
  rows: RawRow[];
  problems: RowProblem[];
  /** CSV/TSV header, for re-parsing a fixed row. */
  header?: string[];
}

export interface ReadOptions {
  /** Rows (lines, JSON elements, CSV records) larger than this are reported and skipped. */
  maxRowBytes: number;
  onProgress?: (fraction: number) => void;
}

export const DEFAULT_MAX_ROW_BYTES = 16 * 1024 * 1024;
const RAW_KEEP = 4096; // how much of an unfixable (oversized) row is kept for the report

function isObject(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function formatFromName(name: string): FileFormat | null {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  if (ext === 'json') return 'json';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv' || ext === 'tab') return 'tsv';
  if (ext === 'parquet' || ext === 'pq') return 'parquet';
  return null;
}

/** Format from name, else from the first bytes: PAR1 → parquet, '[' → json, '{' → jsonl, else csv. */
export function sniffFormat(name: string, head: Uint8Array): FileFormat {
  const byName = formatFromName(name);
  if (byName) return byName;
  if (head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31) return 'parquet';
  const text = decodeUtf8(head.subarray(0, 256)).text.replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('[')) return 'json';
  if (text.startsWith('{')) return 'jsonl';
  return text.includes('\t') && !text.includes(',') ? 'tsv' : 'csv';
}

function oversized(line: number, seen: number, max: number, head: string): RowProblem {
  return { line, severity: 'error', reason: `row is over ${max} bytes (${seen}+ bytes seen); skipped`, raw: head.slice(0, RAW_KEEP), fixable: false };
}

/** Parses one JSON row; the reason names what is wrong. */
export function parseJsonRow(text: string): { ok: true; value: Row } | { ok: false; reason: string } {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { return { ok: false, reason: `invalid JSON: ${(e as Error).message}` }; }
  if (!isObject(v)) return { ok: false, reason: `expected a JSON object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}` };
  return { ok: true, value: v };
}

// ---- JSONL ------------------------------------------------------------------------------------------

export async function readJsonl(src: ByteSource, opts: ReadOptions): Promise<ReadResult> {
  const rows: RawRow[] = [];
  const problems: RowProblem[] = [];
  let empty = 0;
  let chunks = src.chunks();
  // UTF-16 files are rare but real (Windows tools); convert once, then read like any other.
  const head = await readHead(src);
  const enc = sniffEncoding(head);
  if (enc === 'utf-16le' || enc === 'utf-16be') {
    chunks = memorySource(src.name, utf16ToUtf8(await readAll(src), enc)).chunks();
    problems.push({ line: 0, severity: 'warning', reason: `file is ${enc.toUpperCase()}; converted to UTF-8`, raw: '', fixable: false });
  }
  await forEachLine(chunks, opts.maxRowBytes,
    ({ line, bytes }) => {
      const { text, valid } = decodeUtf8(bytes);
      if (text.trim() === '') { empty++; return; }
      if (!valid) {
        problems.push({ line, severity: 'error', reason: 'invalid UTF-8 bytes (shown as \uFFFD)', raw: text, fixable: true });
        return;
      }
      const r = parseJsonRow(text);
      if (r.ok) rows.push({ line, value: r.value });
      else problems.push({ line, severity: 'error', reason: r.reason, raw: text, fixable: true });
    },
    (o) => problems.push(oversized(o.line, o.bytesSeen, opts.maxRowBytes, decodeUtf8(o.head).text)),
    (done) => opts.onProgress?.(src.size ? done / src.size : 1),
  );
  if (empty) problems.push({ line: 0, severity: 'warning', reason: `${empty} empty line${empty > 1 ? 's' : ''} skipped`, raw: '', fixable: false });
  return { rows, problems };
}

async function readHead(src: ByteSource): Promise<Uint8Array> {
  for await (const c of src.chunks()) return c.slice(0, 4);
  return new Uint8Array(0);
}

// ---- whole-file text (JSON, CSV) ----------------------------------------------------------------------

interface WholeText {
  text: string;
  /** 1-based lines holding invalid UTF-8 (their bytes are U+FFFD in text). */
  badLines: Set<number>;
  problems: RowProblem[];
}

async function readText(src: ByteSource, opts: ReadOptions): Promise<WholeText> {
  let bytes = await readAll(src, (n) => opts.onProgress?.(0.5 * (src.size ? n / src.size : 1)));
  const problems: RowProblem[] = [];
  const enc = sniffEncoding(bytes);
  if (enc === 'utf-8-bom') bytes = bytes.subarray(3);
  if (enc === 'utf-16le' || enc === 'utf-16be') {
    bytes = utf16ToUtf8(bytes, enc);
    problems.push({ line: 0, severity: 'warning', reason: `file is ${enc.toUpperCase()}; converted to UTF-8`, raw: '', fixable: false });
  }
  const whole = decodeUtf8(bytes);
  const badLines = new Set<number>();
  if (!whole.valid) {
    let line = 1, start = 0;
    for (;;) {
      const nl = bytes.indexOf(0x0a, start);
      const end = nl < 0 ? bytes.byteLength : nl;
      if (!decodeUtf8(bytes.subarray(start, end)).valid) badLines.add(line);
      if (nl < 0) break;
      start = nl + 1; line++;
    }
  }
  return { text: whole.text, badLines, problems };
}

function linesIn(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function touchesBadLine(bad: Set<number>, first: number, last: number): boolean {
  if (bad.size === 0) return false;
  for (let l = first; l <= last; l++) if (bad.has(l)) return true;
  return false;
}

// ---- JSON -------------------------------------------------------------------------------------------

interface Span { start: number; end: number; line: number }

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Finds the top-level elements of the JSON array opening at text[open] without parsing them: tracks
 * strings (with escapes) and bracket depth. Returns each element's span and the index after ']' (or
 * text.length if the array never closes). line is the element's first line.
 */
export function scanArray(text: string, open: number, openLine: number): { spans: Span[]; end: number; line: number; closed: boolean } {
  const spans: Span[] = [];
  // Open brackets inside the current element. A closer that does not match the top pops down to its
  // opener, so a missing ']' or '}' costs one element instead of swallowing the rest of the file.
  const stack: number[] = [];
  let inStr = false, start = -1, startLine = openLine, line = openLine;
  for (let i = open + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) line++;
    if (inStr) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inStr = false;
      continue;
    }
    if (c === 0x22) { inStr = true; if (start < 0) { start = i; startLine = line; } }
    else if (c === 0x7b || c === 0x5b) { stack.push(c); if (start < 0) { start = i; startLine = line; } }
    else if (c === 0x7d || c === 0x5d) {
      const opener = c === 0x7d ? 0x7b : 0x5b;
      const at = stack.lastIndexOf(opener);
      if (at < 0 && c === 0x5d && stack.length === 0) {
        if (start >= 0) spans.push({ start, end: i, line: startLine });
        return { spans, end: i + 1, line, closed: true };
      }
      if (at >= 0) stack.length = at;
    } else if (c === 0x2c && stack.length === 0) {
      spans.push({ start: start < 0 ? i : start, end: i, line: start < 0 ? line : startLine });
      start = -1;
    } else if (!isSpace(c) && start < 0) { start = i; startLine = line; }
  }
  if (start >= 0) spans.push({ start, end: text.length, line: startLine });
  return { spans, end: text.length, line, closed: false };
}

export async function readJson(src: ByteSource, opts: ReadOptions): Promise<ReadResult> {
  const { text, badLines, problems } = await readText(src, opts);
  const rows: RawRow[] = [];
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  const lineAt = (pos: number) => 1 + linesIn(text, 0, pos);
  const takeArray = (open: number, openLine: number, group?: string) => {
    const scan = scanArray(text, open, openLine);
    if (!scan.closed) problems.push({ line: scan.line, severity: 'error', reason: 'JSON array is not closed (file cut short?)', raw: '', fixable: false });
    scan.spans.forEach((s, k) => {
      const raw = text.slice(s.start, s.end).trim();
      const lastLine = s.line + linesIn(text, s.start, s.end);
      if (raw === '') {
        problems.push({ line: s.line, severity: 'error', reason: `empty element ${k} (stray comma?)`, raw: '', fixable: false });
      } else if (raw.length > opts.maxRowBytes) {
        problems.push(oversized(s.line, raw.length, opts.maxRowBytes, raw));
      } else if (touchesBadLine(badLines, s.line, lastLine)) {
        problems.push({ line: s.line, severity: 'error', reason: 'invalid UTF-8 bytes (shown as \uFFFD)', raw, fixable: true });
      } else {
        const r = parseJsonRow(raw);
        if (r.ok) rows.push({ line: s.line, value: r.value, group });
        else problems.push({ line: s.line, severity: 'error', reason: `element ${k}: ${r.reason}`, raw, fixable: true });
      }
      if ((k & 1023) === 0) opts.onProgress?.(0.5 + 0.5 * (s.end / text.length));
    });
    return scan;
  };

  if (text[i] === '[') {
    const scan = takeArray(i, lineAt(i));
    trailing(text, scan.end, scan.line, problems);
  } else if (text[i] === '{') {
    // An object of arrays ({"train": [...]}), or one row on its own.
    let whole: unknown;
    try { whole = JSON.parse(text); } catch { whole = undefined; }
    if (isObject(whole) && !Object.values(whole).some(Array.isArray)) {
      rows.push({ line: lineAt(i), value: whole });
    } else {
      readObjectOfArrays(text, i, lineAt(i), takeArray, problems);
    }
  } else if (i < text.length) {
    problems.push({ line: lineAt(i), severity: 'error', reason: 'expected a JSON array or object at the top level', raw: text.slice(i, i + 200), fixable: false });
  } else {
    problems.push({ line: 0, severity: 'warning', reason: 'file is empty', raw: '', fixable: false });
  }
  opts.onProgress?.(1);
  return { rows, problems };
}

function trailing(text: string, end: number, line: number, problems: RowProblem[]) {
  const rest = text.slice(end).trim();
  if (rest) problems.push({ line, severity: 'warning', reason: 'text after the top-level JSON value ignored', raw: rest.slice(0, 200), fixable: false });
}

/** Walks {"key": [...], ...}; arrays are read element by element, other values are reported. */
function readObjectOfArrays(
  text: string, open: number, openLine: number,
  takeArray: (open: number, line: number, group?: string) => { end: number; line: number },
  problems: RowProblem[],
) {
  let i = open + 1, line = openLine;
  const skip = () => { while (i < text.length && isSpace(text.charCodeAt(i))) { if (text.charCodeAt(i) === 0x0a) line++; i++; } };
  for (;;) {
    skip();
    if (i >= text.length) { problems.push({ line, severity: 'error', reason: 'JSON object is not closed', raw: '', fixable: false }); return; }
    if (text[i] === '}') return trailing(text, i + 1, line, problems);
    if (text[i] === ',') { i++; continue; }
    if (text[i] !== '"') { problems.push({ line, severity: 'error', reason: `unexpected '${text[i]}' in top-level object`, raw: text.slice(i, i + 200), fixable: false }); return; }
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    const key = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1; skip();
    if (text[i] !== ':') { problems.push({ line, severity: 'error', reason: `expected ':' after key '${key}'`, raw: '', fixable: false }); return; }
    i++; skip();
    if (text[i] === '[') {
      const scan = takeArray(i, line, key);
      i = scan.end; line = scan.line;
    } else {
      // A non-array value (metadata such as {"version": 2}): skip it by scanning as a one-element array.
      const fake = scanArray(text, i - 1, line);
      const span = fake.spans[0];
      problems.push({ line, severity: 'warning', reason: `top-level key '${key}' is not a list of rows; ignored`, raw: '', fixable: false });
      i = span ? span.end : text.length;
      line = span ? span.line + linesIn(text, span.start, span.end) : line;
    }
  }
}

// ---- CSV / TSV ----------------------------------------------------------------------------------------

export async function readCsv(src: ByteSource, opts: ReadOptions, delimiter: ',' | '\t' | '' = ''): Promise<ReadResult> {
  const { text, badLines, problems } = await readText(src, opts);
  const rows: RawRow[] = [];
  let header: string[] | undefined;
  // Line numbers: the header is line 1 (a quoted newline in a header is not supported); each record
  // starts after the previous record's end, past any blank lines papaparse skipped.
  const headerEnd = text.indexOf('\n');
  let prevCursor = headerEnd < 0 ? text.length : headerEnd + 1, prevLine = 2, count = 0;
  Papa.parse<Row>(text, {
    header: true, delimiter, skipEmptyLines: 'greedy',
    step(res) {
      const cursor = res.meta.cursor;
      header ??= res.meta.fields;
      let start = prevCursor, line = prevLine;
      while (start < cursor && (text[start] === '\n' || text[start] === '\r')) { if (text[start] === '\n') line++; start++; }
      const raw = text.slice(start, cursor).replace(/\r?\n$/, '').replace(/\r$/, '');
      const lastLine = line + linesIn(text, start, start + raw.length);
      prevLine = line + linesIn(text, start, cursor); prevCursor = cursor;
      if (raw.length > opts.maxRowBytes) problems.push(oversized(line, raw.length, opts.maxRowBytes, raw));
      else if (touchesBadLine(badLines, line, lastLine)) problems.push({ line, severity: 'error', reason: 'invalid UTF-8 bytes (shown as \uFFFD)', raw, fixable: true });
      else if (res.errors.length) problems.push({ line, severity: 'error', reason: res.errors.map((e) => e.message).join('; '), raw, fixable: true });
      else rows.push({ line, value: res.data });
      if ((++count & 1023) === 0) opts.onProgress?.(0.5 + 0.5 * cursor / text.length);
    },
  });
  opts.onProgress?.(1);
  return { rows, problems, header };
}

/** Parses one fixed CSV row against the file's header. */
export function parseCsvRow(raw: string, header: string[], delimiter: ',' | '\t'): { ok: true; value: Row } | { ok: false; reason: string } {
  const headerLine = Papa.unparse([header], { delimiter });
  const res = Papa.parse<Row>(`${headerLine}\n${raw}`, { header: true, delimiter, skipEmptyLines: 'greedy' });
  if (res.errors.length) return { ok: false, reason: res.errors.map((e) => e.message).join('; ') };
  if (res.data.length !== 1) return { ok: false, reason: `expected one row, got ${res.data.length}` };
  return { ok: true, value: res.data[0] };
}

// ---- Parquet ------------------------------------------------------------------------------------------

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (isObject(v)) {
    const o: Row = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

export async function readParquet(src: ByteSource, opts: ReadOptions): Promise<ReadResult> {
  const bytes = await readAll(src, (n) => opts.onProgress?.(0.3 * (src.size ? n / src.size : 1)));
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows: RawRow[] = [];
  const problems: RowProblem[] = [];
  let numRows: number;
  try {
    numRows = Number(parquetMetadata(file).num_rows);
  } catch (e) {
    problems.push({ line: 0, severity: 'error', reason: `not a readable Parquet file: ${(e as Error).message}`, raw: '', fixable: false });
    return { rows, problems };
  }
  const slice = 5000;
  for (let r = 0; r < numRows; r += slice) {
    const end = Math.min(r + slice, numRows);
    try {
      const objs = await parquetReadObjects({ file, rowStart: r, rowEnd: end });
      objs.forEach((o, k) => rows.push({ line: r + k + 1, value: plain(o) as Row }));
    } catch (e) {
      problems.push({ line: r + 1, severity: 'error', reason: `rows ${r + 1}–${end} could not be read: ${(e as Error).message}`, raw: '', fixable: false });
    }
    opts.onProgress?.(0.3 + 0.7 * end / numRows);
  }
  return { rows, problems };
}
