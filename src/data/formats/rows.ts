// What every format reader gives (rows with their line, problems with their reason) and the text machinery the
// text formats share: lines and pieces streamed from a ByteSource with UTF-16 and Windows-1252 files
// converted (and named), oversized rows reported, one JSON row parsed with its nesting bounded.
// Readers know nothing of shapes (shapes.ts) or records (import.ts).
import { decodeUtf8, forEachLine, joinBytes, readAll, sniffEncoding, utf16ToUtf8, memorySource, withoutBom, type ByteSource } from '../bytes';

/** One row as a reader gives it: plain JSON-like fields, not yet a conversation. */
export type Row = Record<string, unknown>;

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
export const RAW_KEEP = 4096; // how much of an unfixable (oversized) row is kept for the report

export function isObject(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A file format: the extensions that name it, its reader, and how one of its rows reads back when fixed. */
export interface FormatReader {
  /** File name extensions (lowercase, without the dot). */
  extensions: readonly string[];
  read(src: ByteSource, opts: ReadOptions): Promise<ReadResult>;
  /** One row as the file held it: what the issue list shows and the user edits. */
  rowText(row: Row, header?: string[]): string;
  /** A fixed row's text read back the way the file was read. */
  parseRow(raw: string, header?: string[]): { ok: true; value: Row } | { ok: false; reason: string };
}

/** Row text and re-reading for the formats whose rows are JSON objects. */
export const JSON_ROWS = { rowText: (row: Row) => JSON.stringify(row), parseRow: (raw: string) => parseJsonRow(raw) };

export function oversized(line: number, seen: number, max: number, head: string): RowProblem {
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
export async function readLines(
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
export async function readPieces(
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

export const BAD_UTF8 = 'invalid UTF-8 bytes (shown as \uFFFD)';
