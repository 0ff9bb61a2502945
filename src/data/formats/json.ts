// JSON: an array of rows, or an object whose values are arrays of rows ({"train": [...], "test": [...]});
// elements are found by a string-aware push scanner (JsonScanner) and parsed one by one, so one bad element
// costs only itself, and a file of any size streams through with one element in memory.
import type { ByteSource } from '../bytes';
import { BAD_UTF8, JSON_ROWS, oversized, parseJsonRow, RAW_KEEP, readPieces, type FormatReader, type RawRow, type ReadOptions, type ReadResult, type RowProblem } from './rows';

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, NEWLINE = 0x0a;
const OPEN_OBJ = 0x7b, CLOSE_OBJ = 0x7d, OPEN_ARR = 0x5b, CLOSE_ARR = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === NEWLINE || c === 0x0d || c === 0x09;
}

/** One element of a top-level array, as JsonScanner finds it (not parsed). */
interface JsonElement {
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

interface JsonScanEvents {
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

export const jsonReader: FormatReader = { extensions: ['json'], read: readJson, ...JSON_ROWS };
