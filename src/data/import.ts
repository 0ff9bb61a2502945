// One file → records + issues. Reads rows with the format's reader (formats/), detects the shape on a
// sample (shapes.ts), normalises every row, and reports what it could not use. When the shape is unsure
// and no remembered ColumnMap fits the file's columns, it returns needsMapping (columns + sample rows)
// and no records: the caller asks the user and imports again with the map.
// Contract: never throws for bad input; a file that cannot be read at all is one issue at line 0.
import type { ByteSource } from './bytes';
import { READERS, sniffFormat, type FileFormat } from './formats';
import { DEFAULT_MAX_ROW_BYTES, type RawRow, type Row } from './formats/rows';
import { shortId } from './hash';
import type { ColumnMap, DatasetRecord, ImportIssue, ShapeName, Split } from './record';
import { columnSignature, columnsOf, detectShape, normaliseRow, unknownFields } from './shapes';

export interface ImportOptions {
  /** Remembered maps by column signature (shapes.columnSignature). */
  columnMaps?: Record<string, ColumnMap>;
  /** A map chosen for this file now; wins over detection. */
  columnMap?: ColumnMap;
  maxRowBytes?: number;
  onProgress?: (fraction: number) => void;
}

export interface NeedsMapping {
  columns: string[];
  signature: string;
  sample: Row[];
}

/** What the importer remembers about a file so a fixed row can be read the same way later. */
export interface FileContext {
  file: string;
  format: FileFormat;
  shape: ShapeName | null;
  columnMap?: ColumnMap;
  header?: string[];
}

export interface FileImport {
  context: FileContext;
  columns: string[];
  records: DatasetRecord[];
  issues: ImportIssue[];
  rowsRead: number;
  needsMapping?: NeedsMapping;
}

const SAMPLE = 500;
const SPLIT_GROUPS = /^(val|valid|validation|dev|eval|test)$/i;

export async function importSource(src: ByteSource, opts: ImportOptions = {}): Promise<FileImport> {
  const maxRowBytes = opts.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
  const head = await firstBytes(src);
  const format = sniffFormat(src.name, head);
  const readOpts = { maxRowBytes, onProgress: (f: number) => opts.onProgress?.(0.9 * f) };
  const read = await READERS[format].read(src, readOpts);
  const issues: ImportIssue[] = read.problems.map((p) => ({ id: shortId(), file: src.name, ...p }));
  const sample = read.rows.slice(0, SAMPLE).map((r) => r.value);
  const columns = read.header ?? columnsOf(sample);
  const signature = columnSignature(columns);
  const detection = detectShape(sample);
  const columnMap = opts.columnMap ?? (detection.shape ? undefined : opts.columnMaps?.[signature]);
  const shape: ShapeName | null = opts.columnMap ? 'mapped' : detection.shape ?? (columnMap ? 'mapped' : null);
  const context: FileContext = { file: src.name, format, shape, columnMap, header: read.header };

  if (!shape) {
    opts.onProgress?.(1);
    const needsMapping = read.rows.length ? { columns, signature, sample: sample.slice(0, 5) } : undefined;
    return { context, columns, records: [], issues, rowsRead: read.rows.length, needsMapping };
  }

  const records: DatasetRecord[] = [];
  const tag = shortId();
  for (let i = 0; i < read.rows.length; i++) {
    const rec = toRecord(read.rows[i], context, `${tag}-${i}`);
    if ('reason' in rec) issues.push(rec);
    else records.push(rec);
  }
  const unknown = unknownFields(columns, shape, columnMap);
  if (unknown.length) {
    issues.push({
      id: shortId(), file: src.name, line: 0, severity: 'warning', fixable: false, raw: '',
      reason: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')} not used for training; kept for export in the original shape`,
    });
  }
  issues.sort((a, b) => a.line - b.line);
  opts.onProgress?.(1);
  return { context, columns, records, issues, rowsRead: read.rows.length };
}

function toRecord(row: RawRow, ctx: FileContext, id: string): DatasetRecord | ImportIssue {
  const n = normaliseRow(row.value, ctx.shape!, ctx.columnMap);
  if (!n.ok) {
    return { id: shortId(), file: ctx.file, line: row.line, severity: 'error', reason: n.reason, raw: rawText(row.value, ctx), fixable: true };
  }
  const split: Split = row.group && SPLIT_GROUPS.test(row.group) ? 'validation' : 'train';
  return {
    id, messages: n.messages, ...(n.rejected ? { rejected: n.rejected } : {}), source: { file: ctx.file, line: row.line }, original: row.value,
    shape: ctx.shape!, flagged: false, split, edited: false, rev: 0,
  };
}

function rawText(row: Row, ctx: FileContext): string {
  return READERS[ctx.format].rowText(row, ctx.header);
}

/**
 * Re-reads one issue's raw text after the user fixed it, the way its file was read. Returns the record,
 * or the issue again with the new raw text and the new reason.
 */
export function retryIssue(issue: ImportIssue, raw: string, ctx: FileContext): DatasetRecord | ImportIssue {
  const again = (reason: string): ImportIssue => ({ ...issue, raw, reason });
  const parsed = READERS[ctx.format].parseRow(raw, ctx.header);
  if (!parsed.ok) return again(parsed.reason);
  if (!ctx.shape) return again('the file needs a column map first');
  const rec = toRecord({ line: issue.line, value: parsed.value }, ctx, `${shortId()}-fix`);
  return 'reason' in rec ? again(rec.reason) : rec;
}

async function firstBytes(src: ByteSource): Promise<Uint8Array> {
  for await (const c of src.chunks()) return c.slice(0, 512);
  return new Uint8Array(0);
}
