// `studio export MODEL [--adapter DIR] --format F [--dtype D] [--data FILE] --out PATH [--json]`
// The Export tab's files from the command line, made by the same builds the engine worker calls: the formats,
// their dtypes and what each needs come from the registry (src/export/formats; `studio export --help` lists them).
// With an adapter, a README.md model card goes beside the files. Output follows train's rules (src/io/output.ts):
// never an input or its folder, never a folder the studio did not write; written into a staging folder and
// swapped in whole, so a failure or a signal leaves what was there.
// --json prints { format, out, files: [{ name, bytes }] }.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { modelCard } from '../src/export/card';
import { EXPORT_FORMATS, EXPORT_FORMAT_IDS, exportFormat, pickDtype, type ExportFormat, type ExportFormatSpec } from '../src/export/formats';
import { kitModel as kitModelOf } from '../src/export/formats/kit';
import type { ExportFiles } from '../src/export/merged';
import { loraFromPeftConfig } from '../src/export/peft';
import { withReadme } from '../src/export/zip';
import type { ChatMessage } from '../src/data/types';
import type { Gpu } from '../src/gpu/runtime';
import type { ModelWithFiles } from '../src/io/hf';
import { filesFromDirectory } from '../src/io/node-files';
import { BUILT_IN_PATH } from '../src/io/validate';
import type { LoraConfig } from '../src/model/lora';
import type { Transformer } from '../src/model/transformer';
import { PRESETS } from '../src/train/presets';
import { abandon, claimOutputFolder, commit } from '../src/io/output';
import { str, type Parsed } from './args';
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
  loadModel(dir: string): Promise<ModelWithFiles>;
  buildModel(gpu: Gpu, m: ModelWithFiles, adapterDir: string | undefined): Promise<Transformer>;
  createGpu(): Promise<Gpu>;
  readRecords(file: string): Promise<{ records: { messages: ChatMessage[]; split: string }[] }>;
}

/** The run settings the adapter was trained with (cli train's training_log.json), for the kit and the card. */
function adapterRun(adapterDir: string, lora: LoraConfig) {
  const log = join(adapterDir, 'training_log.json');
  const base = PRESETS.quick;
  if (!existsSync(log)) return { ...base, lora };
  const saved = JSON.parse(readFileSync(log, 'utf8')) as { train?: typeof base.train };
  return { ...base, lora, train: { ...base.train, ...saved.train } };
}

export async function cmdExport(p: Parsed, deps: ExportDeps): Promise<{ json: unknown; text: string }> {
  const modelDir = p.positionals[1];
  const format = exportFormat(str(p, 'format'), '--format');
  const spec: ExportFormatSpec = EXPORT_FORMATS[format];
  const dtype = pickDtype(spec, p.options.has('dtype') ? str(p, 'dtype') : undefined, '--dtype');
  const out = str(p, 'out');
  const adapterDir = p.options.get('adapter')?.at(-1);
  if (spec.needs.adapter && !adapterDir) throw new Error(`--format ${format} needs --adapter DIR`);
  // The same rules as train's output (src/io/output.ts): never an input, never a folder the studio did not write.
  const claim = claimOutputFolder(out, [
    { path: modelDir, what: 'the model folder' },
    ...(adapterDir ? [{ path: adapterDir, what: 'the adapter folder' }] : []),
    ...(p.options.has('data') ? [{ path: str(p, 'data'), what: 'the data file' }] : []),
  ]);
  const release = onStop(() => abandon(claim));
  try {
    const files = await exportFiles(p, deps, format, dtype, modelDir, adapterDir);
    commit(claim, `export-${format}`, Object.fromEntries(files));
    const list = [...files].map(([file, bytes]) => ({ name: file, bytes: bytes.length }));
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

/** The export's files, in memory: the registry's build, as the Export tab runs it. */
async function exportFiles(p: Parsed, deps: ExportDeps, format: ExportFormat, dtype: string | undefined, modelDir: string, adapterDir: string | undefined): Promise<ExportFiles> {
  const spec: ExportFormatSpec = EXPORT_FORMATS[format];
  const m = await deps.loadModel(modelDir);
  const source = filesFromDirectory(modelDir);
  // As exports name it: the built-in model by its folder, a Hugging Face cache folder by its repository id.
  const name = resolve(modelDir) === resolve(BUILT_IN_PATH) ? BUILT_IN_PATH : source.name;
  const configPath = adapterDir && join(adapterDir, 'adapter_config.json');
  const run = configPath ? adapterRun(adapterDir!, loraFromPeftConfig(readFileSync(configPath, 'utf8'), configPath).lora) : undefined;
  const records = spec.needs.records ? (await deps.readRecords(str(p, 'data'))).records.filter((r) => r.split === 'train') : undefined;
  // The kit's base model: a cache folder's repository by id, any other folder carried in the kit.
  const kitModel = format !== 'kit' ? undefined : source.name.includes('/') ? { hub: source.name } : await kitModelOf(source, name);
  const net = spec.needs.weights ? await deps.buildModel(await deps.createGpu(), m, adapterDir) : null;
  let files: ExportFiles;
  try {
    files = await spec.build({ name, dtype, run, records, kitModel, model: net ? { net, info: m, files: source } : undefined });
  } finally {
    net?.destroy();
  }
  if (adapterDir && run) {
    const trained = existsSync(join(adapterDir, 'training_log.json'));
    files = withReadme(files, modelCard({
      kind: format, baseModel: name, title: `${name} + ${basename(adapterDir)}`, dataset: null, metrics: {},
      run: trained ? run : { lora: run.lora, importedFrom: adapterDir },
    }));
  }
  return files;
}
