// The Export tab's zips: an export's files (the engine's, with their README model card) in one folder
// `<run or adapter>-<format>` inside one zip, built whole in memory before anything is offered for download (so a
// failure leaves nothing half-written).
import type { ExportFormat } from '../../../src/export/formats';
import type { ExportFiles } from '../../../src/export/merged';
import { zipExport } from '../../../src/export/zip';

/** A file-system-safe stem from a run's name ('Run 1' → 'Run_1'). */
export function fileStem(name: string): string {
  return name.replace(/[^\w.-]+/g, '_').replace(/^[._]+|_+$/g, '') || 'run';
}

/** The zip of an export of `name` (a run's or an adapter's) in `format`. */
export function exportZip(name: string, format: ExportFormat, files: ExportFiles): { name: string; bytes: Uint8Array } {
  const stem = `${fileStem(name)}-${format}`;
  return { name: `${stem}.zip`, bytes: zipExport(files, { folder: stem }) };
}

