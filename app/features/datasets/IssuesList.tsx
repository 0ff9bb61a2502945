// Rows that could not be imported, each with file, line and reason. Fixable rows open an editor with the
// row's text: "Retry" reads it again the way its file was read; "Drop" discards it. Warnings (things that
// were adjusted, such as skipped empty lines or unknown fields) are listed for the record.
import { useState } from 'react';
import type { ImportIssue } from '../../../src/data/record';
import { useDatasets } from '../../store';

function where(i: ImportIssue): string {
  return i.line > 0 ? `${i.file}, line ${i.line}` : i.file;
}

function IssueRow({ issue }: { issue: ImportIssue }) {
  const fixIssue = useDatasets((s) => s.fixIssue);
  const dropIssues = useDatasets((s) => s.dropIssues);
  const [open, setOpen] = useState(false);
  const [raw, setRaw] = useState(issue.raw);
  return (
    <li>
      <span className="issue-where">{where(issue)}</span>: <span>{issue.reason}</span>{' '}
      {issue.fixable && (
        <button type="button" aria-expanded={open} onClick={() => { setOpen(!open); setRaw(issue.raw); }} aria-label={`Fix ${where(issue)}`}>
          Fix
        </button>
      )}
      <button type="button" onClick={() => dropIssues([issue.id])} aria-label={`Drop ${where(issue)}`}>Drop</button>
      {open && (
        <div className="issue-fix">
          <label>
            Text of {where(issue)}
            <textarea value={raw} onChange={(e) => setRaw(e.target.value)} rows={4} spellCheck={false} />
          </label>
          <button type="button" onClick={() => fixIssue(issue.id, raw)}>Retry {where(issue)}</button>
        </div>
      )}
    </li>
  );
}

export function IssuesList() {
  const issues = useDatasets((s) => s.issues);
  const dropIssues = useDatasets((s) => s.dropIssues);
  const errors = issues.filter((i) => i.severity === 'error');
  const warnings = issues.filter((i) => i.severity === 'warning');
  if (!issues.length) return null;
  return (
    <div className="issues">
      {errors.length > 0 && (
        <section aria-label="Rows not imported">
          <h3>{errors.length} row{errors.length > 1 ? 's' : ''} not imported</h3>
          <button type="button" onClick={() => dropIssues(errors.map((e) => e.id))}>Drop all rows not imported</button>
          <ul>{errors.slice(0, 200).map((i) => <IssueRow key={i.id} issue={i} />)}</ul>
          {errors.length > 200 && <p>…and {errors.length - 200} more.</p>}
        </section>
      )}
      {warnings.length > 0 && (
        <details>
          <summary>{warnings.length} import note{warnings.length > 1 ? 's' : ''}</summary>
          <ul aria-label="Import notes">
            {warnings.map((i) => (
              <li key={i.id}>
                <span className="issue-where">{where(i)}</span>: <span>{i.reason}</span>{' '}
                <button type="button" onClick={() => dropIssues([i.id])} aria-label={`Dismiss note on ${where(i)}`}>Dismiss</button>
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
