// Editing one example: a textarea per turn with its role, add/remove turns, save or cancel. Saving is one
// undoable step. Shown as a labelled dialog-like region beside the table (rows keep a fixed height there).
// A preference pair edits its rejected answer below the prompt and chosen answer (the record's messages).
import { useState } from 'react';
import type { DatasetRecord } from '../../../src/data/record';
import type { ChatMessage, Role } from '../../../src/data/types';
import { useDatasets } from '../../store';

/** One list of turns; `name` prefixes every control's label ("turn 2", "rejected turn 1"). */
function Turns({ name, messages, onChange, newRole }: {
  name: string; messages: ChatMessage[]; onChange: (m: ChatMessage[]) => void; newRole: (last: ChatMessage | undefined) => Role;
}) {
  const update = (i: number, m: Partial<ChatMessage>) => onChange(messages.map((x, k) => (k === i ? { ...x, ...m } : x)));
  const cap = name[0].toUpperCase() + name.slice(1);
  return (
    <>
      {messages.map((m, i) => (
        <fieldset key={i}>
          <legend>{cap} {i + 1}</legend>
          <label>
            Role of {name} {i + 1}
            <select value={m.role} onChange={(e) => update(i, { role: e.target.value as Role })}>
              <option value="system">system</option><option value="user">user</option><option value="assistant">assistant</option>
            </select>
          </label>
          <label>
            Text of {name} {i + 1} ({m.role})
            <textarea value={m.content} rows={Math.min(12, 2 + m.content.split('\n').length)} onChange={(e) => update(i, { content: e.target.value })} />
          </label>
          <button type="button" onClick={() => onChange(messages.filter((_, k) => k !== i))}>Remove {name} {i + 1}</button>
        </fieldset>
      ))}
      <button type="button" onClick={() => onChange([...messages, { role: newRole(messages.at(-1)), content: '' }])}>Add {name}</button>
    </>
  );
}

export function RowEditor({ record, onClose }: { record: DatasetRecord; onClose: () => void }) {
  const editRecord = useDatasets((s) => s.editRecord);
  const [messages, setMessages] = useState<ChatMessage[]>(record.messages);
  const [rejected, setRejected] = useState<ChatMessage[] | undefined>(record.rejected);
  const where = `${record.source.file}, line ${record.source.line}`;
  return (
    <form
      role="dialog" aria-label={`Edit example from ${where}`} className="row-editor"
      onSubmit={(e) => { e.preventDefault(); editRecord(record.id, messages, rejected); onClose(); }}
      onKeyDown={(e) => { if (e.key === 'Escape') onClose(); }}
    >
      <h3>Edit example from {where}</h3>
      {rejected && <p className="hint">A preference pair: the turns below are the prompt and the chosen answer (its last assistant turns); the rejected answer follows them.</p>}
      <Turns name="turn" messages={messages} onChange={setMessages} newRole={(last) => (last?.role === 'user' ? 'assistant' : 'user')} />
      {rejected && (
        <>
          <h4>Rejected answer</h4>
          <Turns name="rejected turn" messages={rejected} onChange={setRejected} newRole={() => 'assistant'} />
        </>
      )}
      <button type="submit">Save changes</button>
      <button type="button" onClick={onClose}>Cancel</button>
    </form>
  );
}
