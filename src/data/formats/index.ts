// File formats → rows: the registry. Each format is one file here (its reader, its extensions, how a fixed
// row reads back); adding one is that file, a line below and its test. Every reader streams: the text
// formats line by line (one row in memory besides the rows read), Parquet row group by row group, and
// reports every row it cannot read with line and reason while reading on.
import { decodeUtf8 } from '../bytes';
import { csvReader, tsvReader } from './csv';
import { jsonReader } from './json';
import { jsonlReader } from './jsonl';
import { parquetReader } from './parquet';
import { parseJsonRow, type FormatReader } from './rows';

export const READERS = {
  jsonl: jsonlReader,
  json: jsonReader,
  csv: csvReader,
  tsv: tsvReader,
  parquet: parquetReader,
} satisfies Record<string, FormatReader>;

export type FileFormat = keyof typeof READERS;

function formatFromName(name: string): FileFormat | null {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  return (Object.keys(READERS) as FileFormat[]).find((f) => READERS[f].extensions.includes(ext)) ?? null;
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
