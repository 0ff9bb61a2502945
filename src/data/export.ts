// The curated set, handed on: JSONL in the messages form ({"messages": [...]}; a preference pair as TRL's
// {"prompt", "chosen", "rejected"} messages) or in each row's original shape (edited rows rebuilt from their
// messages, other fields kept), and Parquet with a messages column
// of list<struct<role, content>> (what Hugging Face chat datasets use) plus split and source columns.
// Records flagged for removal are the caller's business: export writes what it is given.
import { parquetWriteBuffer } from 'hyparquet-writer';
import { preferenceParts, type ColumnMap, type DatasetRecord } from './record';
import { toShape, trlPreferenceRow } from './shapes';

export type JsonlForm = 'messages' | 'original';

function toExportRow(r: DatasetRecord, form: JsonlForm, maps?: Record<string, ColumnMap>): Record<string, unknown> {
  if (form === 'messages') {
    const pair = preferenceParts(r);
    return pair ? trlPreferenceRow(pair) : { messages: r.messages.map((m) => ({ role: m.role, content: m.content })) };
  }
  return r.edited ? toShape(r, maps?.[r.source.file]) : r.original;
}

export function exportJsonl(records: readonly DatasetRecord[], form: JsonlForm, maps?: Record<string, ColumnMap>): string {
  let out = '';
  for (const r of records) out += JSON.stringify(toExportRow(r, form, maps)) + '\n';
  return out;
}

export function exportParquet(records: readonly DatasetRecord[]): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      { name: 'messages', data: records.map((r) => r.messages.map((m) => ({ role: m.role, content: m.content }))) },
      { name: 'split', data: records.map((r) => r.split) },
      { name: 'source_file', data: records.map((r) => r.source.file) },
      { name: 'source_line', data: records.map((r) => r.source.line) },
    ],
    schema: [
      { name: 'root', num_children: 4 },
      { name: 'messages', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'split', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'source_file', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'source_line', type: 'INT32', repetition_type: 'REQUIRED' },
    ],
  });
}
