// Parquet with hyparquet, one row group at a time (for progress, and so memory holds one group); BigInt
// values become numbers or strings, dates ISO strings, byte arrays text.
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import type { ByteSource } from '../bytes';
import { isObject, JSON_ROWS, type FormatReader, type RawRow, type ReadOptions, type ReadResult, type Row, type RowProblem } from './rows';

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

export const parquetReader: FormatReader = { extensions: ['parquet', 'pq'], read: readParquet, ...JSON_ROWS };
