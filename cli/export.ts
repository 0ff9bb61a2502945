// `studio export MODEL [--adapter DIR] --format peft|merged|gguf|gguf-lora|onnx|kit [--dtype D] [--data FILE] --out PATH [--json]`
// The Export tab's files from the command line, made by the same src/export functions the engine worker calls:
//   peft       the adapter as PEFT writes it (needs --adapter)
//   merged     Hugging Face folder, LoRA folded in           --dtype F32 (default) | F16 | BF16
//   gguf       one GGUF model + Ollama Modelfile              --dtype F16 (default) | Q8_0 | Q4_K_M | F32
//   gguf-lora  GGUF LoRA + base GGUF + Modelfile (ADAPTER)    --dtype of the base: F16 (default) | Q8_0 | Q4_K_M | F32
//   onnx       ONNX for transformers.js (LoRA merged)
//   kit        dataset + TRL script + Axolotl config (needs --data; settings from the adapter's training_log.json)
// With an adapter, a README.md model card goes beside the files. Output follows train's rules (src/io/output.ts):
// never an input or its folder, never a folder the studio did not write; written into a staging folder and
// swapped in whole, so a failure or a signal leaves what was there.
// --json prints { format, out, files: [{ name, bytes }] }.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { modelCard, type ExportKind } from '../src/export/card';
import { exportGgufFiles, type GgufModelDtype } from '../src/export/gguf-model';
import { exportMergedModel, type ExportFiles } from '../src/export/merged';
import { exportOnnxModel } from '../src/export/onnx';
import { exportPeftAdapter, loraFromPeftConfig, peftExportFiles } from '../src/export/peft';
import { exportTrainingKit } from '../src/export/trl';
import { withReadme } from '../src/export/zip';
import type { ChatMessage } from '../src/data/types';
import type { Gpu } from '../src/gpu/runtime';
import type { ModelWithFiles } from '../src/io/hf';
import { filesFromDirectory } from '../src/io/node-files';
import type { LoraConfig } from '../src/model/lora';
import type { Transformer } from '../src/model/transformer';
import { PRESETS } from '../src/train/presets';
import { abandon, claimOutputFolder, commit } from '../src/io/output';
import { str, type Parsed } from './args';
import { onStop } from './stop';

const FORMATS = ['peft', 'merged', 'gguf', 'gguf-lora', 'onnx', 'kit'] as const;
type Format = (typeof FORMATS)[number];
const DTYPES: Record<Format, readonly string[]> = {
  peft: [], merged: ['F32', 'F16', 'BF16'], gguf: ['F16', 'Q8_0', 'Q4_K_M', 'F32'], 'gguf-lora': ['F16', 'Q8_0', 'Q4_K_M', 'F32'], onnx: [], kit: [],
};
const CARD_KIND: Record<Format, ExportKind> = { peft: 'peft', merged: 'merged', gguf: 'gguf-model', 'gguf-lora': 'gguf', onnx: 'onnx', kit: 'training-kit' };

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
  const format = str(p, 'format') as Format;
  if (!FORMATS.includes(format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}, not ${format}`);
  const allowed = DTYPES[format];
  const dtype = p.options.has('dtype') ? str(p, 'dtype').toUpperCase() : allowed[0];
  if (p.options.has('dtype') && !allowed.includes(dtype!)) throw new Error(allowed.length ? `--dtype for ${format} must be one of ${allowed.join(', ')}` : `--dtype does not apply to ${format}`);
  const out = str(p, 'out');
  const adapterDir = p.options.get('adapter')?.at(-1);
  if ((format === 'peft' || format === 'gguf-lora' || format === 'kit') && !adapterDir) throw new Error(`--format ${format} needs --adapter DIR`);
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

/** The export's files, in memory: the same src/export functions as the Export tab. */
async function exportFiles(p: Parsed, deps: ExportDeps, format: Format, dtype: string | undefined, modelDir: string, adapterDir: string | undefined): Promise<ExportFiles> {
  const m = await deps.loadModel(modelDir);
  const source = filesFromDirectory(modelDir);
  const name = basename(modelDir.replace(/\/+$/, ''));
  const configPath = adapterDir && join(adapterDir, 'adapter_config.json');
  const run = configPath ? adapterRun(adapterDir!, loraFromPeftConfig(readFileSync(configPath, 'utf8'), configPath).lora) : null;
  let files: ExportFiles;
  if (format === 'kit') {
    const data = await deps.readRecords(str(p, 'data'));
    files = exportTrainingKit({ baseModel: name, records: data.records.filter((r) => r.split === 'train'), run: run! });
  } else {
    const model = await deps.buildModel(await deps.createGpu(), m, adapterDir);
    switch (format) {
      case 'peft': files = peftExportFiles(await exportPeftAdapter(model, name)); break;
      case 'merged': files = await exportMergedModel(model, source, { dtype: dtype as 'F32' | 'F16' | 'BF16' }); break;
      case 'gguf': case 'gguf-lora': files = await exportGgufFiles(model, m, source, { format, dtype: dtype as GgufModelDtype, name }); break;
      case 'onnx': files = await exportOnnxModel(model, source, { lora: 'merged' }); break;
    }
    model.destroy();
  }
  if (adapterDir && run) {
    const trained = existsSync(join(adapterDir, 'training_log.json'));
    files = withReadme(files, modelCard({
      kind: CARD_KIND[format], baseModel: name, title: `${name} + ${basename(adapterDir)}`, dataset: null, metrics: {},
      run: trained ? run : { lora: run.lora, importedFrom: adapterDir },
    }));
  }
  return files;
}
