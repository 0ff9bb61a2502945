// JSON Lines: one row per line; empty lines skipped and counted; invalid UTF-8 and oversized lines named.
import type { ByteSource } from '../bytes';
import { BAD_UTF8, JSON_ROWS, oversized, parseJsonRow, readLines, type FormatReader, type RawRow, type ReadOptions, type ReadResult, type RowProblem } from './rows';

async function readJsonl(src: ByteSource, opts: ReadOptions): Promise<ReadResult> {
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

export const jsonlReader: FormatReader = { extensions: ['jsonl', 'ndjson'], read: readJsonl, ...JSON_ROWS };
