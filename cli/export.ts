// `studio export MODEL [--adapter DIR] --format F [--dtype D] [--data FILE] --out PATH [--json]`
// The Export tab's files from the command line, made by the same engine call (exportModel): the formats, their
// dtypes and what each needs come from the registry (src/export/formats; `studio export --help` lists them).
// With an adapter (imported into the engine, its training_log.json bringing the run's settings), the engine's
// README.md model card goes beside the files. Output follows train's rules (src/io/output.ts):
// never an input or its folder, never a folder the studio did not write; written into a staging folder and
// swapped in whole, so a failure or a signal leaves what was there.
// --json prints { format, out, files: [{ name, bytes }] }.
import type { ChatMessage } from '../src/data/types';
import type { AdapterChoice, Engine } from '../src/engine/api';
import { EXPORT_FORMATS, EXPORT_FORMAT_IDS, exportFormat, pickDtype, type ExportFormatSpec } from '../src/export/formats';
import { abandon, claimOutputFolder, commit } from '../src/io/output';
import type { AdapterRecord } from '../src/storage/runs';
import { str, UsageError, type Parsed } from './args';
import { classed, EXIT } from './exit';
import { onStop } from './stop';

/** `studio export --help`: each format's line, dtypes and needs, from the registry. */
export function exportUsage(): string {
  const width = Math.max(...EXPORT_FORMAT_IDS.map((id) => id.length));
  return [
    `usage: studio export MODEL [--adapter DIR] --format ${EXPORT_FORMAT_IDS.join('|')} [--dtype D] [--data FILE] --out PATH [--json]`,
    ...Object.values(EXPORT_FORMATS).map((f: ExportFormatSpec) => {
      const dtypes = f.dtypes.length ? ` --dtype ${f.dtypes.map((d, i) => (i === 0 ? `${d} (default)` : d)).join(' | ')}.` : '';
      const needs = [f.needs.adapter ? '--adapter' : '', f.needs.records ? '--data' : ''].filter(Boolean);
      return `  ${f.id.padEnd(width)}  ${f.label}: ${f.description}${dtypes}${needs.length ? ` Needs ${needs.join(' and ')}.` : ''}`;
    }),
  ].join('\n');
}

interface ExportDeps {
  /** The engine with MODEL loaded. */
  engineWith(): Promise<{ engine: Engine }>;
  importAdapterFolder(engine: Engine, dir: string): Promise<AdapterRecord>;
  readRecords(file: string): Promise<{ records: { messages: ChatMessage[]; split: string }[] }>;
}

export async function cmdExport(p: Parsed, deps: ExportDeps): Promise<{ json: unknown; text: string }> {
  const modelDir = p.positionals[1];
  const format = classed(EXIT.usage, () => exportFormat(str(p, 'format'), '--format'));
  const spec: ExportFormatSpec = EXPORT_FORMATS[format];
  const dtype = classed(EXIT.usage, () => pickDtype(spec, p.options.has('dtype') ? str(p, 'dtype') : undefined, '--dtype'));
  const out = str(p, 'out');
  const adapterDir = p.options.get('adapter')?.at(-1);
  if (spec.needs.adapter && !adapterDir) throw new UsageError(`--format ${format} needs --adapter DIR`);
  // The same rules as train's output (src/io/output.ts): never an input, never a folder the studio did not write.
  const claim = classed(EXIT.output, () => claimOutputFolder(out, [
    { path: modelDir, what: 'the model folder' },
    ...(adapterDir ? [{ path: adapterDir, what: 'the adapter folder' }] : []),
    ...(p.options.has('data') ? [{ path: str(p, 'data'), what: 'the data file' }] : []),
  ]));
  for (const line of claim.recovered) process.stderr.write(`note: ${line}\n`); // what killed runs left beside it, cleaned
  const release = onStop(() => abandon(claim));
  try {
    const records = spec.needs.records ? (await deps.readRecords(str(p, 'data'))).records.filter((r) => r.split === 'train') : undefined;
    const { engine } = await deps.engineWith();
    const adapter: AdapterChoice = adapterDir ? { kind: 'imported', adapterId: (await deps.importAdapterFolder(engine, adapterDir)).id } : { kind: 'base' };
    const { files } = await engine.exportModel({ adapter, format, dtype, records });
    commit(claim, `export-${format}`, Object.fromEntries(files));
    const list = files.map(([file, bytes]) => ({ name: file, bytes: bytes.length }));
    return {
      json: { format, out, files: list },
      text: [`${format} export written to ${out}:`, ...list.map((f) => `  ${f.name} (${(f.bytes / 1024).toFixed(1)} KiB)`)].join('\n'),
    };
  } catch (e) {
    abandon(claim);
    throw e;
  } finally {
    release();
  }
}
