// The batch evaluation's per-example answers as a TanStack table: a search box filters on any text (prompt,
// reference, answers), a click on a column's header sorts by it (again: descending, a third time: as run),
// and with a base and a tuned column each row takes a verdict. Answers are React text, never HTML.
import { useMemo, useState } from 'react';
import {
  columnFilteringFeature, createColumnHelper, createFilteredRowModel, createSortedRowModel, filterFn_includesString, globalFilteringFeature,
  rowSortingFeature, sortFn_alphanumeric, sortFn_basic, tableFeatures, useTable, type SortingState,
} from '@tanstack/react-table';
import { promptText } from '../../../src/eval/export';
import type { Verdict } from '../../../src/eval/metrics';
import { batchKey, type BatchState } from './store';
import { ScrollRegion } from '../../components/ScrollRegion';

type Row = BatchState['rows'][number];
const VERDICTS: Verdict[] = ['base', 'tuned', 'tie'];

const features = tableFeatures({
  rowSortingFeature, columnFilteringFeature, globalFilteringFeature,
  sortedRowModel: createSortedRowModel(), filteredRowModel: createFilteredRowModel(),
  sortFns: { alphanumeric: sortFn_alphanumeric, basic: sortFn_basic }, filterFns: { includesString: filterFn_includesString },
});
const helper = createColumnHelper<typeof features, Row>();

export function BatchAnswersTable({ batch, canMark, tunedId, verdictOf, onMark }: {
  batch: BatchState;
  canMark: boolean;
  tunedId: string | undefined;
  verdictOf: (key: string) => Verdict | null;
  onMark: (key: string, v: Verdict | null, row: { prompt: Row['prompt']; base: string; tuned: string }) => void;
}) {
  const [sorting, setSorting] = useState<SortingState>([]);
  const [globalFilter, setGlobalFilter] = useState('');
  const columns = useMemo(() => helper.columns([
    helper.accessor((r) => r.index + 1, { id: 'index', header: '#', sortFn: 'basic' }),
    helper.accessor((r) => promptText(r.prompt), { id: 'prompt', header: 'Prompt', sortFn: 'alphanumeric' }),
    helper.accessor((r) => r.reference, { id: 'reference', header: 'Reference', sortFn: 'alphanumeric' }),
    ...batch.columns.map((c) => helper.accessor((r) => r.outputs[c.id]?.text ?? '', { id: `out:${c.id}`, header: c.label, sortFn: 'alphanumeric' })),
  ]), [batch.columns]);
  const table = useTable({
    features, columns, data: batch.rows, getRowId: (r) => String(r.index),
    state: { sorting, globalFilter }, onSortingChange: setSorting, onGlobalFilterChange: setGlobalFilter, globalFilterFn: 'includesString',
    sortDescFirst: false, // a first click sorts ascending on every column, numbers included
  });
  const rows = table.getRowModel().rows;
  return (
    <>
      <div className="data-table-tools">
        <label>
          Filter answers
          <input type="search" value={globalFilter} onChange={(e) => setGlobalFilter(e.target.value)} placeholder="Text in a prompt, reference or answer" />
        </label>
        <span className="hint" role="status" aria-label="Answers shown">{rows.length === batch.rows.length ? `${rows.length} examples` : `${rows.length} of ${batch.rows.length} examples`}</span>
      </div>
      <ScrollRegion label="Batch answers table">
        <table aria-label="Batch answers" className="data-table">
          <thead>
            {table.getHeaderGroups().map((g) => (
              <tr key={g.id}>
                {g.headers.map((h) => {
                  const dir = h.column.getIsSorted();
                  return (
                    <th key={h.id} scope="col" aria-sort={dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : undefined}>
                      <button type="button" onClick={h.column.getToggleSortingHandler()}>
                        {String(h.column.columnDef.header)}{dir === 'asc' ? ' ▲' : dir === 'desc' ? ' ▼' : ''}
                      </button>
                    </th>
                  );
                })}
                {canMark ? <th scope="col">Better answer</th> : null}
              </tr>
            ))}
          </thead>
          <tbody>
            {rows.map((row) => {
              const r = row.original;
              const key = batchKey(r);
              return (
                <tr key={row.id}>
                  {row.getAllCells().map((cell) => <td key={cell.id} className={cell.column.id === 'index' ? undefined : 'text'}>{String(cell.getValue())}</td>)}
                  {canMark ? (
                    <td>
                      <select
                        aria-label={`Better answer for example ${r.index + 1}`}
                        value={verdictOf(key) ?? ''}
                        onChange={(e) => onMark(key, VERDICTS.find((v) => v === e.target.value) ?? null, { prompt: r.prompt, base: r.outputs.base.text, tuned: r.outputs[tunedId!].text })}
                      >
                        <option value="">—</option>
                        <option value="base">Base</option>
                        <option value="tuned">Tuned</option>
                        <option value="tie">Tie</option>
                      </select>
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollRegion>
    </>
  );
}
