// The Export tab's list of formats: one item per registry entry (src/export/formats), in its order, with its
// download button, its dtype choice when it has one and its line. What each button does is the page's.
import { EXPORT_FORMAT_IDS, EXPORT_FORMATS, type ExportFormat, type ExportFormatSpec } from '../../../src/export/formats';

interface FormatListProps {
  /** Whether the format can be made from what is chosen and loaded now. */
  ready(format: ExportFormatSpec): boolean;
  busy: boolean;
  /** The chosen dtype per format; a format not in it writes its default. */
  dtypes: Partial<Record<ExportFormat, string>>;
  onDtype(format: ExportFormat, dtype: string): void;
  onDownload(format: ExportFormat): void;
}

export function FormatList({ ready, busy, dtypes, onDtype, onDownload }: FormatListProps) {
  return (
    <ul className="export-list" aria-label="Export formats">
      {EXPORT_FORMAT_IDS.map((id) => {
        const f: ExportFormatSpec = EXPORT_FORMATS[id];
        return (
          <li key={id}>
            <button type="button" disabled={!ready(f) || busy} onClick={() => onDownload(id)}>Download {f.label} (zip)</button>
            {f.dtypes.length > 1 ? (
              <label> weights as{' '}
                <select aria-label={`weights as (${f.label})`} value={dtypes[id] ?? f.dtypes[0]} onChange={(e) => onDtype(id, e.target.value)} disabled={busy}>
                  {f.dtypes.map((d) => <option key={d} value={d}>{d}</option>)}
                </select>
              </label>
            ) : null}
            <span> {f.description}</span>
          </li>
        );
      })}
    </ul>
  );
}
