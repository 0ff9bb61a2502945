// What each import was read as: the file, its detected format and row shape, the columns mapped to the prompt
// and response (when a column map was used), and how many of its rows are in the dataset now. A newcomer sees
// at once whether "Question"/"Answer" became the prompt and the answer, or why a file gave nothing (the
// file's own notes: empty, header only, read as Windows-1252 or UTF-16).
import { useMemo } from 'react';
import type { ShapeName } from '../../../src/data/record';
import { useDatasets } from '../../store';
import { ScrollRegion } from '../../components/ScrollRegion';

const SHAPE: Record<ShapeName, string> = {
  messages: 'OpenAI messages', sharegpt: 'ShareGPT', alpaca: 'Alpaca (instruction / input / output)',
  'prompt-completion': 'prompt / completion', text: 'plain text',
  preference: 'preference pairs (prompt / chosen / rejected)', 'preference-implicit': 'preference pairs (chosen / rejected conversations)',
  'hh-rlhf': 'preference pairs (Anthropic HH)', mapped: 'columns mapped by hand',
};

export function ImportedFiles() {
  const files = useDatasets((s) => s.files);
  const records = useDatasets((s) => s.records);
  const issues = useDatasets((s) => s.issues);
  const rows = useMemo(() => {
    const n = new Map<string, number>();
    for (const r of records) n.set(r.source.file, (n.get(r.source.file) ?? 0) + 1);
    return n;
  }, [records]);
  if (files.length === 0) return null;
  return (
    <ScrollRegion label="Imported files table">
      <table aria-label="Imported files">
        <thead><tr><th scope="col">File</th><th scope="col">Format</th><th scope="col">Read as</th><th scope="col">Columns</th><th scope="col">Rows in the dataset</th><th scope="col">Notes</th></tr></thead>
        <tbody>
          {files.map((f) => (
            <tr key={f.file}>
              <td>{f.file}</td>
              <td>{f.format.toUpperCase()}</td>
              <td>{f.shape ? SHAPE[f.shape] : 'not recognised'}</td>
              <td>
                {f.columnMap
                  ? `prompt ← ${f.columnMap.prompt}${f.columnMap.input ? `, input ← ${f.columnMap.input}` : ''}, response ← ${f.columnMap.response}${f.columnMap.system ? `, system ← ${f.columnMap.system}` : ''}`
                  : f.header?.length ? f.header.join(', ') : '—'}
              </td>
              <td>{rows.get(f.file) ?? 0}</td>
              <td className="file-notes">{issues.filter((i) => i.file === f.file && i.line === 0).map((i) => i.reason).join('; ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
