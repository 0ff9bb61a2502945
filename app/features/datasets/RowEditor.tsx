// Editing one example: a textarea per turn with its role, add/remove turns, save or cancel. Saving is one
// undoable step. Shown as a labelled dialog-like region beside the table (rows keep a fixed height there).
import { useState } from 'react';
import type { DatasetRecord } from '../../../src/data/record';
import type { ChatMessage, Role } from '../../../src/data/types';
import { useDatasets } from '../../store';

export function RowEditor({ record, onClose }: { record: DatasetRecord; onClose: () => void }) {
  const editRecord = useDatasets((s) => s.editRecord);
  const [messages, setMessages] = useState<ChatMessage[]>(record.messages);
  const where = `${record.source.file}, line ${record.source.line}`;
  const update = (i: number, m: Partial<ChatMessage>) => setMessages(messages.map((x, k) => (k === i ? { ...x, ...m } : x)));
  return (
    <form
      role="dialog" aria-label={`Edit example from ${where}`} className="row-editor"
      onSubmit={(e) => { e.preventDefault(); editRecord(record.id, messages); onClose(); }}
      onKeyDown={(e) => { if (e.key === 'Escape') onClose(); }}
    >
      <h3>Edit example from {where}</h3>
      {messages.map((m, i) => (
        <fieldset key={i}>
          <legend>Turn {i + 1}</legend>
          <label>
            Role of turn {i + 1}
            <select value={m.role} onChange={(e) => update(i, { role: e.target.value as Role })}>
              <option value="system">system</option><option value="user">user</option><option value="assistant">assistant</option>
            </select>
          </label>
          <label>
            Text of turn {i + 1} ({m.role})
            <textarea value={m.content} rows={Math.min(12, 2 + m.content.split('\n').length)} onChange={(e) => update(i, { content: e.target.value })} />
          </label>
          <button type="button" onClick={() => setMessages(messages.filter((_, k) => k !== i))}>Remove turn {i + 1}</button>
        </fieldset>
      ))}
      <button type="button" onClick={() => setMessages([...messages, { role: messages.at(-1)?.role === 'user' ? 'assistant' : 'user', content: '' }])}>Add turn</button>
      <button type="submit">Save changes</button>
      <button type="button" onClick={onClose}>Cancel</button>
    </form>
  );
}
