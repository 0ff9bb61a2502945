// The command line's data files: a file on disk read as the page's importer reads it (src/data/import.ts), and the
// refusals when it yields nothing a command can use, said plainly and first: an empty file; a file whose every row
// was refused (how many, and the first reasons); a file whose records are all in the validation split when a command
// takes the train split. Each refusal carries the import's report, which `studio data --json` prints beside the error.
// Not here: Hub datasets (hub-data.ts), preference pairs (src/train/preference-pairs.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { memorySource } from '../src/data/bytes';
import { importSource } from '../src/data/import';
import type { DataImport } from './hub-data';

/** A data file that gives a command nothing to use; `report` is what `studio data --json` says of the file. */
export class NoUsableRecords extends Error {
  constructor(message: string, readonly report: Record<string, unknown>) {
    super(message);
  }
}

/** How many refusals a message quotes. */
const QUOTED = 3;

/** The first refused lines, quoted: "line 3: reason; line 7: reason; … (9 more)". */
function firstRefusals(d: DataImport): string {
  const errors = refused(d);
  const quoted = errors.slice(0, QUOTED).map((i) => `line ${i.line}: ${i.message.replace(/^error: /, '')}`).join('; ');
  return errors.length > QUOTED ? `${quoted}; … (${errors.length - QUOTED} more)` : quoted;
}

/** Rows (or lines that did not parse as one) refused with an error. */
function refused(d: DataImport): DataImport['issues'] {
  return d.issues.filter((i) => i.line > 0 && i.message.startsWith('error:'));
}

/**
 * Reads FILE (its rows, records and issues). `onProgress(fraction)` is told how far the read has gone. The file's
 * shape must be recognisable, and a `.json` must hold one JSON value: each is refused otherwise.
 */
export async function readDataFile(file: string, onProgress?: (fraction: number) => void): Promise<DataImport> {
  if (!existsSync(file)) throw new Error(`data file not found: ${file}`);
  if (statSync(file).isDirectory()) throw new Error(`${file} is a folder, not a data file`);
  return importBytes(basename(file), new Uint8Array(readFileSync(file)), onProgress);
}

/** One file's bytes through the importer, as the page imports them. */
export async function importBytes(name: string, bytes: Uint8Array, onProgress?: (fraction: number) => void): Promise<DataImport> {
  const r = await importSource(memorySource(name, bytes), { onProgress });
  if (r.needsMapping) {
    const cols = r.needsMapping.columns;
    throw new Error(`${name}: could not detect the dataset shape of its ${r.rowsRead} rows (${cols.length} columns: ${cols.slice(0, 10).join(', ')}${cols.length > 10 ? ', …' : ''})`);
  }
  // One JSON value followed by more: most likely JSON Lines under a .json name; reading on would train on its first row.
  if (r.context.format === 'json' && r.issues.some((i) => i.reason.startsWith('text after the top-level JSON value'))) {
    throw new Error(`${name}: more than one JSON value; if it is JSON Lines (one object per line), name it .jsonl`);
  }
  return {
    records: r.records, rows: r.rowsRead, format: r.context.format, shape: r.context.shape,
    issues: r.issues.map((i) => ({ line: i.line, message: `${i.severity}: ${i.reason}` })),
  };
}

/** What `studio data` reports of an import. */
export function dataReport(file: string, d: DataImport): Record<string, unknown> {
  return { file, format: d.format, shape: d.shape, rows: d.rows, records: d.records.length, errors: d.issues };
}

/** Throws NoUsableRecords when the import gave no record: the file is empty, or every row was refused (how many, the first reasons). */
export function assertUsable(file: string, d: DataImport, report: Record<string, unknown> = dataReport(file, d)): void {
  if (d.records.length > 0) return;
  const n = refused(d).length;
  if (n === 0) throw new NoUsableRecords(`${file} is empty: no rows, so no record to use`, report);
  throw new NoUsableRecords(`${file} has no usable record: ${n === 1 ? 'its one row was' : `all ${n} rows were`} refused (${firstRefusals(d)})`, report);
}

/**
 * assertUsable, and refused too when every record is in the validation split (a file whose rows are grouped under
 * "test", "validation", …): a run trains on the train split.
 */
export function assertTrainable(file: string, d: DataImport): void {
  assertUsable(file, d);
  if (d.records.some((r) => r.split === 'train')) return;
  const all = d.records.length === 1 ? 'its one record is' : `all ${d.records.length} records are`;
  throw new NoUsableRecords(`${file} has no training rows: ${all} in the validation split (grouped under val, validation, dev, eval or test); training takes the train split`, dataReport(file, d));
}

/** A note for stderr when some rows were refused but others are used: how many, and the first reasons. */
export function refusalNote(file: string, d: DataImport): string | null {
  const n = refused(d).length;
  return n === 0 ? null : `${file}: ${n} of ${n + d.records.length} rows refused (${firstRefusals(d)}); using the other ${d.records.length}`;
}
