// File formats → rows. Each reader turns a ByteSource into plain row objects with their 1-based line (or
// Parquet row number), and reports every row it cannot read with file, line and reason while reading on.
// Readers know nothing of shapes (shapes.ts) or records (import.ts).
// Every reader streams: the text formats go line by line through bytes.forEachLine (one row in memory at a
// time besides the rows read), Parquet row group by row group through slices of the file.
//   jsonl   one row per line; empty lines skipped and counted; invalid UTF-8 and oversized lines named
//   json    an array of rows, or an object whose values are arrays of rows ({"train": [...], "test": [...]});
//           elements are found by a string-aware push scanner (JsonScanner) and parsed one by one, so one
//           bad element costs only itself
//   csv/tsv a header row; lines gathered into records by following quotes, each record parsed by
//           papaparse; rows with the wrong number of fields are reported, not guessed
//   parquet hyparquet, one row group at a time for progress; BigInt values become numbers/strings
import Papa from 'papaparse';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { decodeUtf8, forEachLine, joinBytes, readAll, sniffEncoding, utf16ToUtf8, memorySource, withoutBom, type ByteSource } from './bytes';
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

/**
 * Format from the first bytes where they are unmistakable, else from the name, else from the bytes: PAR1 →
 * parquet whatever the name; a .json file whose first line is a whole object followed by another object
 * line is JSON Lines (read as one JSON value it would give its first row only); a .jsonl or .csv file that
 * opens with '[' is a JSON array; a .parquet without the magic is read as text.
 */
export function sniffFormat(name: string, head: Uint8Array): FileFormat {
  if (head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31) return 'parquet';
  const text = decodeUtf8(head.subarray(0, 512)).text.replace(/^\uFEFF/, '').trimStart();
  const byName = formatFromName(name);
  if (byName === 'json' && text.startsWith('{') && looksLikeJsonLines(text)) return 'jsonl';
  if ((byName === 'jsonl' || byName === 'csv') && text.startsWith('[')) return 'json';
  if (byName && byName !== 'parquet') return byName;
  if (text.startsWith('[')) return 'json';
  if (text.startsWith('{')) return 'jsonl';
  return text.includes('\t') && !text.includes(',') ? 'tsv' : 'csv';
}

/** The first line parses as a JSON object on its own and the next non-empty line opens another. */
function looksLikeJsonLines(text: string): boolean {
  const lines = text.split('\n');
  if (lines.length < 2 || !parseJsonRow(lines[0]).ok) return false;
  const next = lines.slice(1).find((l) => l.trim() !== '');
  return next !== undefined && next.trimStart().startsWith('{');
}

function oversized(line: number, seen: number, max: number, head: string): RowProblem {
  return { line, severity: 'error', reason: `row is over ${max} bytes (${seen}+ bytes seen); skipped`, raw: head.slice(0, RAW_KEEP), fixable: false };
}

/**
 * Deepest nesting a row may have. Real rows nest a few levels (messages → message → content parts); 100 000
 * brackets would otherwise parse and then overflow the stack of whatever walks the value next.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether the JSON text nests arrays and objects deeper than `max` (brackets inside strings skipped). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) { if (++depth > max) return true; }
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Parses one JSON row; the reason names what is wrong. */
export function parseJsonRow(text: string): { ok: true; value: Row } | { ok: false; reason: string } {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, reason: `nested more than ${MAX_JSON_DEPTH} levels deep` };
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { return { ok: false, reason: `invalid JSON: ${(e as Error).message}` }; }
  if (!isObject(v)) return { ok: false, reason: `expected a JSON object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}` };
  return { ok: true, value: v };
}

// ---- lines (all text formats) -------------------------------------------------------------------------

interface TextLine {
  line: number;
  text: string;
  /** False when the line held invalid UTF-8 (its bytes are U+FFFD in text). */
  valid: boolean;
}

/**
 * Streams a text file as decoded lines (BOM dropped; a UTF-16 file converted first, and named). A line
 * over maxRowBytes is skipped and handed to onOversized; onProgress follows the bytes read.
 */
async function readLines(
  src: ByteSource, opts: ReadOptions, problems: RowProblem[], onLine: (l: TextLine) => void,
  onOversized: (line: number, seen: number, head: string) => void, keepCr = false, legacy8bit = false,
): Promise<void> {
  await forEachLine(await utf8Chunks(src, problems, legacy8bit), opts.maxRowBytes,
    ({ line, bytes }) => onLine({ line, ...decodeUtf8(bytes) }),
    (o) => onOversized(o.line, o.bytesSeen, decodeUtf8(o.head).text),
    (done) => opts.onProgress?.(src.size ? done / src.size : 1),
    keepCr,
  );
}

/**
 * The file's bytes as UTF-8 chunks. UTF-16 files are rare but real (Windows tools): converted once, and named.
 * With legacy8bit (CSV/TSV: Excel saves them in the system's 8-bit code page), a file whose first
 * LEGACY_SNIFF_BYTES hold bytes above 0x7F and not one well-formed UTF-8 sequence is read as Windows-1252
 * (a superset of Latin-1's printable characters), chunk by chunk (one byte is one character), and named.
 */
async function utf8Chunks(src: ByteSource, problems: RowProblem[], legacy8bit = false): Promise<AsyncIterable<Uint8Array>> {
  const head = await readHead(src, legacy8bit ? LEGACY_SNIFF_BYTES : 4);
  const enc = sniffEncoding(head);
  if (enc === 'utf-8' && legacy8bit && looksWindows1252(head)) {
    problems.push({ line: 0, severity: 'warning', reason: 'file is not UTF-8: read as Windows-1252 (Latin-1), as Excel saves CSV; check accented letters', raw: '', fixable: false });
    return windows1252ToUtf8(src.chunks());
  }
  if (enc !== 'utf-16le' && enc !== 'utf-16be') return src.chunks();
  problems.push({ line: 0, severity: 'warning', reason: `file is ${enc.toUpperCase()}; converted to UTF-8`, raw: '', fixable: false });
  return memorySource(src.name, utf16ToUtf8(await readAll(src), enc)).chunks();
}

/** How much of a CSV is looked at to tell UTF-8 from an 8-bit code page. */
const LEGACY_SNIFF_BYTES = 64 * 1024;

async function readHead(src: ByteSource, bytes: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of src.chunks()) {
    parts.push(c.slice(0, bytes - n));
    n += parts[parts.length - 1].byteLength;
    if (n >= bytes) break;
  }
  return joinBytes(parts.slice(0, -1), n - (parts.at(-1)?.byteLength ?? 0), parts.at(-1) ?? new Uint8Array(0));
}

/** Bytes above 0x7F, none of them part of a well-formed UTF-8 sequence: an 8-bit code page, not broken UTF-8. */
export function looksWindows1252(head: Uint8Array): boolean {
  let high = false;
  for (let i = 0; i < head.length; i++) {
    const b = head[i];
    if (b < 0x80) continue;
    high = true;
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > head.length) continue;
    let ok = true;
    for (let k = 1; k < len; k++) if ((head[i + k] & 0xc0) !== 0x80) ok = false;
    if (ok) return false;
  }
  return high;
}

async function* windows1252ToUtf8(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const decoder = new TextDecoder('windows-1252');
  const encoder = new TextEncoder();
  for await (const c of chunks) yield encoder.encode(decoder.decode(c, { stream: true }));
}

/** How much of a line is held before its text is handed on in pieces (JSON only). */
const PIECE_BYTES = 1 << 20;

/**
 * Streams a text file as decoded pieces for the JSON scanner: whole lines, and lines longer than
 * PIECE_BYTES (a minified array on one line) in pieces cut between characters, so no line is held whole
 * and none is too long to read. BOM dropped; UTF-16 converted first, and named.
 */
async function readPieces(
  src: ByteSource, opts: ReadOptions, problems: RowProblem[],
  onPiece: (text: string, line: number, valid: boolean, endsLine: boolean) => void,
): Promise<void> {
  const chunks = await utf8Chunks(src, problems);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let line = 1, done = 0, first = true;
  const take = (tail: Uint8Array): Uint8Array => {
    let bytes = joinBytes(pending, pendingBytes, tail);
    pending = []; pendingBytes = 0;
    if (first) { first = false; bytes = withoutBom(bytes); }
    return bytes;
  };
  const emit = (bytes: Uint8Array, endsLine: boolean) => {
    const { text, valid } = decodeUtf8(bytes);
    onPiece(text, line, valid, endsLine);
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      emit(take(chunk.subarray(start, nl)), true);
      line++;
      start = nl + 1;
    }
    if (start < chunk.byteLength) {
      // Keep a copy: the stream may reuse its chunk buffers.
      pending.push(chunk.slice(start)); pendingBytes += chunk.byteLength - start;
      if (pendingBytes > PIECE_BYTES) {
        const bytes = take(new Uint8Array(0));
        let cut = bytes.byteLength;
        while (cut > 0 && (bytes[cut - 1] & 0xc0) === 0x80) cut--; // back to a character's first byte...
        if (cut > 0 && bytes[cut - 1] >= 0xc0) cut--; //                 ...and before it
        if (cut === 0) cut = bytes.byteLength; // no character start at all: invalid bytes, decoded as they are
        emit(bytes.subarray(0, cut), false);
        if (cut < bytes.byteLength) { pending = [bytes.slice(cut)]; pendingBytes = bytes.byteLength - cut; }
      }
    }
    done += chunk.byteLength;
    opts.onProgress?.(src.size ? done / src.size : 1);
  }
  if (pendingBytes) emit(take(new Uint8Array(0)), true);
}

const BAD_UTF8 = 'invalid UTF-8 bytes (shown as \uFFFD)';

// ---- JSONL ------------------------------------------------------------------------------------------

export async function readJsonl(src: ByteSource, opts: ReadOptions): Promise<ReadResult> {
  const rows: RawRow[] = [];
  const problems: RowProblem[] = [];
  let empty = 0;
  await readLines(src, opts, problems,
    ({ line, text, valid }) => {
      if (text.trim() === '') { empty++; return; }
      if (!valid) { problems.push({ line, severity: 'error', reason: BAD_UTF8, raw: text, fixable: true }); return; }
      const r = parseJsonRow(text);
      if (r.ok) rows.push({ line, value: r.value });
      else problems.push({ line, severity: 'error', reason: r.reason, raw: text, fixable: true });
    },
    (line, seen, head) => problems.push(oversized(line, seen, opts.maxRowBytes, head)),
  );
  const blank = empty ? `${empty} empty line${empty > 1 ? 's' : ''}` : '';
  // An empty file says so in words (otherwise it imports nothing without a reason).
  if (rows.length === 0 && problems.length === 0) problems.push({ line: 0, severity: 'warning', reason: `file is empty${blank ? ` (${blank})` : ''}`, raw: '', fixable: false });
  else if (empty) problems.push({ line: 0, severity: 'warning', reason: `${blank} skipped`, raw: '', fixable: false });
  return { rows, problems };
}

// ---- JSON -------------------------------------------------------------------------------------------

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, NEWLINE = 0x0a;
const OPEN_OBJ = 0x7b, CLOSE_OBJ = 0x7d, OPEN_ARR = 0x5b, CLOSE_ARR = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === NEWLINE || c === 0x0d || c === 0x09;
}

/** One element of a top-level array, as JsonScanner finds it (not parsed). */
export interface JsonElement {
  /** Trimmed text ('' for an empty element: a stray comma); only its head when size > maxRowBytes. */
  text: string;
  /** Characters seen. */
  size: number;
  line: number;
  lastLine: number;
  /** It touched a line holding invalid UTF-8. */
  bad: boolean;
  /** The key of the array in an object of arrays ({"train": [...]}). */
  group?: string;
  /** Its index in its array. */
  index: number;
}

export interface JsonScanEvents {
  element(e: JsonElement): void;
  /** A top-level object without any array value: one row on its own. */
  row(text: string, line: number): void;
  problem(p: RowProblem): void;
}

type Mode = 'top' | 'array' | 'key' | 'keyString' | 'colon' | 'value' | 'skip' | 'next' | 'after' | 'done';

/**
 * The top level of a JSON file, fed line by line so a file of any size streams through with only one
 * element in memory: a top-level array yields its elements; an object yields the elements of each array
 * value, grouped by key (other values are named and skipped), or is one row when it has no array value.
 * Elements are found without parsing them, by tracking strings (with escapes) and bracket depth; a closer
 * that does not match the innermost opener pops down to its opener, so a missing ']' or '}' costs one
 * element instead of swallowing the rest of the file. The caller parses each element, so one bad element
 * costs only itself.
 */
export class JsonScanner {
  private mode: Mode = 'top';
  private line = 0;
  private lineBad = false;
  private seenText = false;
  // The top-level object, if that is what the file holds.
  private inObject = false;
  private objectLine = 0;
  private key = '';
  private keyEsc = false;
  private skipped: RowProblem[] = [];
  /** The object's whole text while it may still be a single row (no array value seen yet, not too big). */
  private whole: string[] | null = null;
  private wholeSize = 0;
  // The array being walked.
  private group: string | undefined;
  private index = 0;
  // The value being collected (an element, or a skipped non-array value).
  private started = false;
  private parts: string[] = [];
  private size = 0;
  private startLine = 0;
  private bad = false;
  private inStr = false;
  private esc = false;
  private stack: number[] = [];
  // After the top-level value.
  private closedLine = 0;
  private trailing = '';

  constructor(private readonly maxRowBytes: number, private readonly on: JsonScanEvents) {}

  /**
   * Text of one line of the file (its line number), without the line end; endsLine false when the line
   * goes on in the next call (a line too long to hold whole, such as a minified array on one line).
   */
  feed(text: string, line: number, valid = true, endsLine = true): void {
    this.line = line;
    this.lineBad = !valid;
    if (this.started && !valid) this.bad = true;
    const eol = endsLine ? '\n' : '';
    if (this.whole && this.mode !== 'top') this.keepWhole(text + eol);
    let seg = 0; // where the value being collected starts in this line
    const n = text.length;
    const last = endsLine ? n : n - 1;
    for (let i = 0; i <= last; i++) {
      const c = i === n ? NEWLINE : text.charCodeAt(i); // the line end reads as a newline
      switch (this.mode) {
        case 'top':
          if (isSpace(c)) break;
          this.seenText = true;
          if (c === OPEN_ARR) this.openArray(undefined);
          else if (c === OPEN_OBJ) {
            this.mode = 'key'; this.inObject = true; this.objectLine = line;
            this.whole = []; this.keepWhole(text.slice(i) + eol);
          } else return this.fail('expected a JSON array or object at the top level', text.slice(i, i + 200));
          break;
        case 'key':
          if (isSpace(c) || c === COMMA) break;
          if (c === CLOSE_OBJ) this.closeObject();
          else if (c === QUOTE) { this.mode = 'keyString'; this.key = '"'; this.keyEsc = false; }
          else return this.fail(`unexpected '${text[i]}' in top-level object`, text.slice(i, i + 200));
          break;
        case 'keyString':
          this.key += i === n ? '\n' : text[i];
          if (this.keyEsc) this.keyEsc = false;
          else if (c === BACKSLASH) this.keyEsc = true;
          else if (c === QUOTE) this.mode = 'colon';
          break;
        case 'colon':
          if (isSpace(c)) break;
          if (c !== COLON) return this.fail(`expected ':' after key '${this.keyName()}'`, '');
          this.mode = 'value';
          break;
        case 'value':
          if (isSpace(c)) break;
          if (c === OPEN_ARR) { this.whole = null; this.openArray(this.keyName()); break; }
          // A non-array value (metadata such as {"version": 2}): walked like an element, then named.
          this.mode = 'skip';
          this.begin(); seg = i;
          i--; // read this character again as part of the value
          break;
        case 'array':
        case 'skip': {
          if (this.inStr) {
            if (this.esc) this.esc = false;
            else if (c === BACKSLASH) this.esc = true;
            else if (c === QUOTE) this.inStr = false;
            break;
          }
          const closer = this.mode === 'array' ? CLOSE_ARR : CLOSE_OBJ;
          if (this.stack.length === 0 && (c === COMMA || c === closer)) {
            if (this.started) this.take(text.slice(seg, i));
            this.endValue(c === COMMA);
            if (c === closer) {
              if (this.mode === 'array') this.closeArray();
              else this.closeObject();
            } else if (this.mode === 'skip') this.mode = 'key';
            break;
          }
          if (!this.started && !isSpace(c)) { this.begin(); seg = i; }
          if (c === QUOTE) this.inStr = true;
          else if (c === OPEN_OBJ || c === OPEN_ARR) this.stack.push(c);
          else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
            const at = this.stack.lastIndexOf(c === CLOSE_OBJ ? OPEN_OBJ : OPEN_ARR);
            if (at >= 0) this.stack.length = at;
          }
          break;
        }
        case 'next':
          if (isSpace(c)) break;
          if (c === COMMA) this.mode = 'key';
          else if (c === CLOSE_OBJ) this.closeObject();
          else return this.fail(`unexpected '${text[i]}' in top-level object`, text.slice(i, i + 200));
          break;
        case 'after':
          if (this.trailing.length < 200) this.trailing += i === n ? '\n' : text[i];
          break;
        case 'done':
          return;
      }
    }
    if (this.started) this.take(text.slice(seg) + eol);
  }

  /** The file ended: reports what was left open. */
  end(): void {
    const open = (what: string) => this.on.problem({ line: this.line, severity: 'error', reason: what, raw: '', fixable: false });
    switch (this.mode) {
      case 'top':
        if (!this.seenText) this.on.problem({ line: 0, severity: 'warning', reason: 'file is empty', raw: '', fixable: false });
        break;
      case 'array':
        if (this.started) this.endValue(false);
        open('JSON array is not closed (file cut short?)');
        if (this.inObject) open('JSON object is not closed');
        break;
      case 'after': {
        const rest = this.trailing.trim();
        if (rest) this.on.problem({ line: this.closedLine, severity: 'warning', reason: 'text after the top-level JSON value ignored', raw: rest.slice(0, 200), fixable: false });
        break;
      }
      case 'done':
        break;
      default:
        for (const p of this.skipped) this.on.problem(p);
        open('JSON object is not closed');
    }
  }

  private fail(reason: string, raw: string) {
    this.on.problem({ line: this.line, severity: 'error', reason, raw, fixable: false });
    this.mode = 'done';
  }

  private keyName(): string {
    try { return JSON.parse(this.key) as string; } catch { return this.key; }
  }

  private keepWhole(piece: string) {
    if (!this.whole) return;
    this.wholeSize += piece.length;
    if (this.wholeSize > this.maxRowBytes) this.whole = null;
    else this.whole.push(piece);
  }

  private openArray(group: string | undefined) {
    this.mode = 'array'; this.group = group; this.index = 0;
  }

  private closeArray() {
    if (this.inObject) this.mode = 'next';
    else { this.mode = 'after'; this.closedLine = this.line; }
  }

  private closeObject() {
    this.mode = 'after'; this.closedLine = this.line;
    if (this.whole) {
      // No array value anywhere: the object is one row of its own (cut after its closing brace).
      const text = this.whole.join('');
      this.whole = null;
      const end = text.lastIndexOf('}') + 1;
      if (parseJsonRow(text.slice(0, end)).ok) { this.on.row(text.slice(0, end), this.objectLine); return; }
    }
    for (const p of this.skipped) this.on.problem(p);
  }

  private begin() {
    this.started = true; this.parts = []; this.size = 0; this.startLine = this.line; this.bad = this.lineBad;
    this.inStr = false; this.esc = false; this.stack = [];
  }

  private take(piece: string) {
    const before = this.size;
    this.size += piece.length;
    if (this.size <= this.maxRowBytes) this.parts.push(piece);
    else if (before <= this.maxRowBytes) this.parts = [(this.parts.join('') + piece).slice(0, RAW_KEEP)]; // keep the head for the report
  }

  /** The value being collected ended at a ',' (byComma) or at its closer. */
  private endValue(byComma: boolean) {
    const started = this.started;
    this.started = false;
    if (this.mode === 'skip') {
      this.skipped.push({ line: this.startLine, severity: 'warning', reason: `top-level key '${this.keyName()}' is not a list of rows; ignored`, raw: '', fixable: false });
      return;
    }
    if (!started) {
      // '[1,,2]' or '[,1]': an empty element. A trailing comma before ']' is accepted.
      if (byComma) this.on.element({ text: '', size: 0, line: this.line, lastLine: this.line, bad: false, group: this.group, index: this.index++ });
      return;
    }
    this.on.element({
      text: this.parts.join('').trim(), size: this.size, line: this.startLine, lastLine: this.line,
      bad: this.bad || this.lineBad, group: this.group, index: this.index++,
    });
  }
}

export async function readJson(src: ByteSource, opts: ReadOptions): Promise<ReadResult> {
  const rows: RawRow[] = [];
  const problems: RowProblem[] = [];
  const scanner = new JsonScanner(opts.maxRowBytes, {
    element(e) {
      const where = { line: e.line, severity: 'error' as const };
      if (e.text === '') problems.push({ ...where, reason: `empty element ${e.index} (stray comma?)`, raw: '', fixable: false });
      else if (e.size > opts.maxRowBytes) problems.push(oversized(e.line, e.size, opts.maxRowBytes, e.text));
      else if (e.bad) problems.push({ ...where, reason: BAD_UTF8, raw: e.text, fixable: true });
      else {
        const r = parseJsonRow(e.text);
        if (r.ok) rows.push({ line: e.line, value: r.value, group: e.group });
        else problems.push({ ...where, reason: `element ${e.index}: ${r.reason}`, raw: e.text, fixable: true });
      }
    },
    row(text, line) {
      const r = parseJsonRow(text);
      if (r.ok) rows.push({ line, value: r.value });
    },
    problem: (p) => problems.push(p),
  });
  await readPieces(src, opts, problems, (text, line, valid, endsLine) => scanner.feed(text, line, valid, endsLine));
  scanner.end();
  opts.onProgress?.(1);
  return { rows, problems };
}

// ---- CSV / TSV ----------------------------------------------------------------------------------------

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

/**
 * Parquet through an AsyncBuffer over the source's slices: the footer first, then one row group at a time
 * (hyparquet reads only the column chunks of that group), so memory holds one row group, not the file.
 */
export async function readParquet(src: ByteSource, opts: ReadOptions): Promise<ReadResult> {
  const file: AsyncBuffer = { byteLength: src.size, slice: (start, end) => src.slice(start, end ?? src.size) };
  const rows: RawRow[] = [];
  const problems: RowProblem[] = [];
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    problems.push({ line: 0, severity: 'error', reason: `not a readable Parquet file: ${(e as Error).message}`, raw: '', fixable: false });
    return { rows, problems };
  }
  const numRows = Number(metadata.num_rows);
  // Column chunks that belong to no top-level field of the schema (a damaged footer) are read by hyparquet
  // but never awaited: their failure would escape as an unhandled rejection. Such a group is a problem here.
  let fields: Set<string>;
  try {
    fields = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  } catch (e) {
    problems.push({ line: 0, severity: 'error', reason: `not a readable Parquet file: ${(e as Error).message}`, raw: '', fixable: false });
    return { rows, problems };
  }
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const stray = group.columns.find((c) => !fields.has(c.meta_data?.path_in_schema?.[0] ?? ''));
    if (stray) {
      problems.push({ line: start + 1, severity: 'error', reason: `rows ${start + 1}–${end} could not be read: a column chunk outside the schema (damaged file)`, raw: '', fixable: false });
      start = end;
      continue;
    }
    try {
      const objs = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end });
      objs.forEach((o, k) => rows.push({ line: start + k + 1, value: plain(o) as Row }));
    } catch (e) {
      problems.push({ line: start + 1, severity: 'error', reason: `rows ${start + 1}–${end} could not be read: ${(e as Error).message}`, raw: '', fixable: false });
    }
    start = end;
    opts.onProgress?.(numRows ? end / numRows : 1);
  }
  return { rows, problems };
}
