// The examples table: @tanstack/react-table for the column model, @tanstack/react-virtual so only the
// rows in view exist in the DOM (100k rows scroll as smoothly as 100). Rows have a fixed height; long
// text is cut by CSS and shown whole in the editor. Filtering and sorting happen in the slice's selector
// (src/data/view.ts); the header's sort buttons write the query. All user text renders as React text.
import { useCallback, useMemo, useRef, useState } from 'react';
import { createColumnHelper, tableFeatures, useTable } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { QualityCheck } from '../../../src/data/quality';
import { promptOf, responseOf, type DatasetRecord } from '../../../src/data/record';
import type { SortColumn } from '../../../src/data/view';
import { appDatasetsStore, datasetsSelectors as sel, useDatasets } from '../../store';
import { ariaShortcut, TABLE_COMMANDS, useCommandShortcuts } from './commands';
import { Filters } from './Filters';
import { RowEditor } from './RowEditor';

const ROW_HEIGHT = 44;

const CHECK_SHORT: Record<QualityCheck, string> = {
  'empty-response': 'empty', 'repeats-prompt': 'repeats prompt', 'too-long': 'too long', 'short-answer': 'short',
};

const features = tableFeatures({});
const helper = createColumnHelper<typeof features, DatasetRecord>();

function SortButton({ column, label }: { column: SortColumn; label: string }) {
  const sort = useDatasets((s) => s.query.sort);
  const setQuery = useDatasets((s) => s.setQuery);
  const active = sort?.column === column;
  const next = !active ? { column, desc: false } : !sort.desc ? { column, desc: true } : null;
  return (
    <button type="button" className="sort" onClick={() => setQuery({ sort: next })} aria-label={`Sort by ${label}`}>
      {label}{active ? (sort.desc ? ' ▼' : ' ▲') : ''}
    </button>
  );
}

function ariaSort(sort: { column: SortColumn; desc: boolean } | null, column: SortColumn) {
  return sort?.column === column ? (sort.desc ? 'descending' : 'ascending') : undefined;
}

export function RecordsTable() {
  const rows = useDatasets(sel.visibleRecords);
  const total = useDatasets((s) => s.records.length);
  const quality = useDatasets(sel.quality);
  const selection = useDatasets((s) => s.selection);
  const sort = useDatasets((s) => s.query.sort);
  const setSelected = useDatasets((s) => s.setSelected);
  const clearSelection = useDatasets((s) => s.clearSelection);
  const setFlag = useDatasets((s) => s.setFlag);
  const deleteRecords = useDatasets((s) => s.deleteRecords);
  const store = appDatasetsStore();
  // One string of enabled flags, so the table re-renders only when a command's availability changes.
  const enabled = useDatasets((s) => TABLE_COMMANDS.map((c) => (c.enabled(s) ? '1' : '0')).join(''));
  useCommandShortcuts(store);
  const previewExample = useDatasets((s) => s.previewExample);
  const hasTokenizer = useDatasets((s) => s.tokenizer !== null);
  const [editing, setEditing] = useState<string | null>(null);
  const byId = useDatasets(sel.recordById);
  const pairs = useDatasets(sel.hasPairs);
  const scrollRef = useRef<HTMLDivElement>(null);

  const columns = useMemo(() => helper.columns([
    helper.display({
      id: 'select', header: () => null,
      cell: ({ row }) => {
        const r = row.original;
        return (
          <input type="checkbox" aria-label={`Select ${r.source.file} line ${r.source.line}`}
            checked={selection.has(r.id)} onChange={(e) => setSelected([r.id], e.target.checked)} />
        );
      },
    }),
    helper.display({ id: 'source', header: () => <SortButton column="source" label="Source" />, cell: ({ row }) => `${row.original.source.file}:${row.original.source.line}` }),
    helper.display({ id: 'split', header: () => <SortButton column="split" label="Split" />, cell: ({ row }) => row.original.split }),
    helper.display({ id: 'prompt', header: () => <SortButton column="prompt" label="Prompt" />, cell: ({ row }) => promptOf(row.original) }),
    helper.display({ id: 'response', header: () => <SortButton column="response" label={pairs ? 'Response (chosen)' : 'Response'} />, cell: ({ row }) => responseOf(row.original) }),
    // A preference pair's rejected answer beside its chosen one; SFT rows leave the cell empty.
    ...(pairs ? [helper.display({ id: 'rejected', header: () => 'Rejected', cell: ({ row }) => (row.original.rejected ? responseOf({ messages: row.original.rejected }) : '') })] : []),
    helper.display({ id: 'turns', header: () => <SortButton column="turns" label="Turns" />, cell: ({ row }) => row.original.messages.length }),
    helper.display({
      id: 'tokens', header: () => <SortButton column="tokens" label="Tokens" />,
      cell: ({ row }) => {
        const q = quality(row.original);
        return `${q.estimated ? '≈' : ''}${q.tokens}`;
      },
    }),
    helper.display({
      id: 'checks', header: () => 'Checks',
      cell: ({ row }) => {
        const r = row.original;
        const q = quality(r);
        const { checks } = q;
        return (
          <>
            {r.flagged && <span className="badge flag">flagged</span>}
            {r.edited && <span className="badge">edited</span>}
            {checks.map((c) => (
              <span key={c} className="badge warn">{CHECK_SHORT[c]}{c === 'too-long' ? ` (${q.estimated ? '≈' : ''}${q.overBy} cut)` : ''}</span>
            ))}
          </>
        );
      },
    }),
    helper.display({
      id: 'actions', header: () => 'Actions',
      cell: ({ row }) => {
        const r = row.original;
        const name = `${r.source.file} line ${r.source.line}`;
        return (
          <>
            <button type="button" onClick={() => setEditing(r.id)} aria-label={`Edit ${name}`}>Edit</button>
            <button type="button" onClick={() => setFlag([r.id], !r.flagged)} aria-label={`${r.flagged ? 'Unflag' : 'Flag'} ${name}`}>{r.flagged ? 'Unflag' : 'Flag'}</button>
            <button type="button" onClick={() => deleteRecords([r.id])} aria-label={`Delete ${name}`}>Delete</button>
            {hasTokenizer && <button type="button" onClick={() => void previewExample(r.id)} aria-label={`Preview tokens of ${name}`}>Tokens</button>}
          </>
        );
      },
    }),
  ]), [quality, selection, setSelected, setFlag, deleteRecords, hasTokenizer, previewExample, pairs]);

  // Stable callbacks: the virtualizer re-measures all rows whenever getItemKey changes identity.
  const getItemKey = useCallback((i: number) => rows[i].id, [rows]);
  const getScrollElement = useCallback(() => scrollRef.current, []);
  const estimateSize = useCallback(() => ROW_HEIGHT, []);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement, estimateSize, overscan: 12, getItemKey });
  const items = virtualizer.getVirtualItems();
  // The table model holds only the rows on screen: a model of all 100k would build 100k row objects on
  // every change of the records.
  const windowRows = useMemo(() => items.map((it) => rows[it.index]), [items, rows]);
  const table = useTable({ features, columns, data: windowRows, getRowId: (r) => r.id });
  const modelRows = table.getRowModel().rows;
  const padTop = items.length ? items[0].start : 0;
  const padBottom = items.length ? virtualizer.getTotalSize() - items[items.length - 1].end : 0;
  const selected = [...selection];
  const allVisibleSelected = rows.length > 0 && rows.every((r) => selection.has(r.id));
  const editRecord = editing ? byId.get(editing) : undefined;

  return (
    <section aria-labelledby="table-heading" className="panel">
      <h2 id="table-heading">Examples</h2>
      <Filters />
      <div className="toolbar" role="toolbar" aria-label="Bulk actions">
        <span role="status">{rows.length === total ? `${total} examples` : `${rows.length} of ${total} examples shown`}{selected.length ? `, ${selected.length} selected` : ''}</span>
        <label>
          <input type="checkbox" checked={allVisibleSelected} onChange={(e) => (e.target.checked ? setSelected(rows.map((r) => r.id), true) : clearSelection())} />
          Select all shown
        </label>
        {TABLE_COMMANDS.map((c, i) => (
          <button key={c.id} type="button" disabled={enabled[i] !== '1'} aria-keyshortcuts={ariaShortcut(c.shortcut)} onClick={() => c.perform(store.getState())}>
            {c.label}
          </button>
        ))}
      </div>
      {editRecord && <RowEditor key={editRecord.id + editRecord.rev} record={editRecord} onClose={() => setEditing(null)} />}
      <div ref={scrollRef} className="table-scroll" role="region" aria-label="Examples table" tabIndex={0}>
        <table aria-rowcount={rows.length + 1}>
          <thead>
            {table.getHeaderGroups().map((g) => (
              <tr key={g.id} aria-rowindex={1}>
                {g.headers.map((h) => (
                  <th key={h.id} className={`col-${h.column.id}`} scope="col" aria-sort={ariaSort(sort, h.column.id as SortColumn)}>
                    {h.column.id === 'select' ? <span className="visually-hidden">Select</span> : <table.FlexRender header={h} />}
                  </th>
                ))}
              </tr>
            ))}
          </thead>
          <tbody>
            {padTop > 0 && <tr aria-hidden="true"><td style={{ height: padTop }} colSpan={columns.length} /></tr>}
            {items.map((it, k) => {
              const row = modelRows[k];
              return (
                <tr key={row.id} aria-rowindex={it.index + 2} className={row.original.flagged ? 'flagged' : undefined} style={{ height: ROW_HEIGHT }}>
                  {row.getAllCells().map((c) => (
                    <td key={c.id} className={`col-${c.column.id}`}><table.FlexRender cell={c} /></td>
                  ))}
                </tr>
              );
            })}
            {padBottom > 0 && <tr aria-hidden="true"><td style={{ height: padBottom }} colSpan={columns.length} /></tr>}
          </tbody>
        </table>
        {total === 0 && <p>No examples yet: import a file above.</p>}
      </div>
    </section>
  );
}
