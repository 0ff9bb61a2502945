// The curated set, handed on: JSONL in the messages form ({"messages": [...]}; a preference pair as TRL's
// {"prompt", "chosen", "rejected"} messages) or in each row's original shape (edited rows rebuilt from their
// messages, other fields kept), and Parquet with a messages column of list<struct<role, content>> (what Hugging
// Face chat datasets use; a set of pairs only: TRL's prompt / chosen / rejected columns) plus split and source columns.
// Records flagged for removal are the caller's business: export writes what it is given.
import { parquetWriteBuffer } from 'hyparquet-writer';
import { preferenceParts, type ColumnMap, type DatasetRecord } from './record';
import { toShape, trlPreferenceRow } from './shapes';
import type { ChatMessage } from './types';

export type JsonlForm = 'messages' | 'original';

/** The writer's own schema element (it bundles its own hyparquet types). */
type SchemaElement = NonNullable<Parameters<typeof parquetWriteBuffer>[0]['schema']>[number];

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

/** A list<struct<role, content>> column's schema (what Hugging Face chat datasets use). */
function turnsSchema(name: string): SchemaElement[] {
  return [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
    { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  ];
}

/** A set of preference pairs only is written as TRL's prompt / chosen / rejected columns; anything else as messages. */
export function exportParquet(records: readonly DatasetRecord[]): ArrayBuffer {
  const pairs = records.length && records.every((r) => r.rejected) ? records.map((r) => preferenceParts(r)!) : null;
  const turns: [string, ChatMessage[][]][] = pairs
    ? [['prompt', pairs.map((p) => p.prompt)], ['chosen', pairs.map((p) => p.chosen)], ['rejected', pairs.map((p) => p.rejected)]]
    : [['messages', records.map((r) => r.messages)]];
  return parquetWriteBuffer({
    columnData: [
      ...turns.map(([name, data]) => ({ name, data: data.map((ms) => ms.map((m) => ({ role: m.role, content: m.content }))) })),
      { name: 'split', data: records.map((r) => r.split) },
      { name: 'source_file', data: records.map((r) => r.source.file) },
      { name: 'source_line', data: records.map((r) => r.source.line) },
    ],
    schema: [
      { name: 'root', num_children: turns.length + 3 },
      ...turns.flatMap(([name]) => turnsSchema(name)),
      { name: 'split', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'source_file', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'source_line', type: 'INT32', repetition_type: 'REQUIRED' },
    ],
  });
}
