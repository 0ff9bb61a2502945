// PEFT LoRA adapters, exactly as Hugging Face PEFT writes and reads them:
//   adapter_model.safetensors  keys 'base_model.model.<module path>.lora_A.weight' [r, in] and '.lora_B.weight' [out, r]
//   adapter_config.json        peft_type LORA, task_type CAUSAL_LM, r, lora_alpha, lora_dropout, target_modules,
//                              use_rslora, fan_in_fan_out (true for GPT-2's Conv1D), bias 'none', base_model_name_or_path, ...
// Import checks the adapter against the model it is loaded onto: unknown modules, wrong shapes and a
// different base are clear errors. peftFilesFromUpload finds the two files in a dropped zip, folder or pair.
import { parseSafetensors, readTensorF32, writeSafetensors } from '../io/safetensors';
import { assertFinite, MAX_LORA_RANK } from '../io/validate';
import type { LoraConfig } from '../model/lora';
import type { Transformer } from '../model/transformer';
import { unzipExport } from './zip';
import type { ExportFiles } from './merged';

const PREFIX = 'base_model.model.';

export interface PeftAdapterFiles {
  'adapter_model.safetensors': Uint8Array;
  'adapter_config.json': string;
}

function peftConfig(model: Transformer, lora: LoraConfig, baseModel: string): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: model.recipe.conv1d,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: lora.rank,
    rank_pattern: {},
    revision: null,
    target_modules: [...lora.targetModules].sort(),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: lora.useRslora,
  };
}

export async function exportPeftAdapter(model: Transformer, baseModel: string): Promise<PeftAdapterFiles> {
  if (model.mode.kind !== 'lora') throw new Error('export: this model has no LoRA adapter');
  const values = await model.params.readTrainable();
  const tensors = [...values].map(([name, data]) => ({
    name: `${PREFIX}${name}.weight`, shape: model.params.specs.get(name)!.shape, data,
  }));
  return {
    'adapter_model.safetensors': writeSafetensors(tensors, { metadata: { format: 'pt' } }),
    'adapter_config.json': JSON.stringify(peftConfig(model, model.mode.lora, baseModel), null, 2),
  };
}

/** Reads adapter_config.json into our LoRA config (refusing what we cannot apply). */
export function loraFromPeftConfig(text: string, fileName = 'adapter_config.json'): { lora: LoraConfig; baseModel: string | null } {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(text);
  } catch (e) {
    throw new Error(`${fileName}: not valid JSON (${(e as Error).message})`);
  }
  if (c.peft_type !== 'LORA') throw new Error(`${fileName}: peft_type ${String(c.peft_type)} is not LORA`);
  if (c.use_dora) throw new Error(`${fileName}: DoRA adapters are not supported`);
  if (c.bias && c.bias !== 'none') throw new Error(`${fileName}: bias "${String(c.bias)}" is not supported (only "none")`);
  if (c.rank_pattern && Object.keys(c.rank_pattern as object).length) throw new Error(`${fileName}: per-module rank_pattern is not supported`);
  if (c.alpha_pattern && Object.keys(c.alpha_pattern as object).length) throw new Error(`${fileName}: per-module alpha_pattern is not supported`);
  const r = Number(c.r), alpha = Number(c.lora_alpha);
  if (!(r > 0) || !(alpha > 0)) throw new Error(`${fileName}: r and lora_alpha must be positive numbers`);
  // Checked before any model is built: r sizes every LoRA buffer (r = 50 000 000 would exhaust memory first).
  if (!Number.isInteger(r) || r > MAX_LORA_RANK) throw new Error(`${fileName}: r must be a whole number up to ${MAX_LORA_RANK} (got ${String(c.r)})`);
  const targets = typeof c.target_modules === 'string' ? [c.target_modules] : (c.target_modules as string[] | undefined);
  if (!Array.isArray(targets) || targets.length === 0) throw new Error(`${fileName}: no target_modules`);
  return {
    lora: { rank: r, alpha, dropout: Number(c.lora_dropout ?? 0), useRslora: Boolean(c.use_rslora), targetModules: targets },
    baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null,
  };
}

/** Loads adapter weights onto a model built with the adapter's LoRA config. */
export function applyPeftAdapter(model: Transformer, bytes: Uint8Array, fileName = 'adapter_model.safetensors'): void {
  const file = parseSafetensors(bytes, fileName);
  const expected = new Set(model.params.trainableNames());
  const seen = new Set<string>();
  for (const key of file.tensors.keys()) {
    const name = key.startsWith(PREFIX) ? key.slice(PREFIX.length).replace(/\.weight$/, '').replace(/\.default(?=$)/, '') : key;
    if (!expected.has(name)) throw new Error(`${fileName}: tensor ${key} does not match any LoRA module of this ${model.config.modelType} model`);
    const { shape, data } = readTensorF32(file, key);
    assertFinite(data, fileName, key);
    const want = model.params.specs.get(name)!.shape;
    if (shape.join(',') !== want.join(',')) throw new Error(`${fileName}: ${key} has shape [${shape}] but this model needs [${want}]`);
    model.gpu.write(model.params.get(name), data);
    seen.add(name);
  }
  const missing = [...expected].filter((n) => !seen.has(n));
  if (missing.length) throw new Error(`${fileName}: missing ${missing.length} LoRA tensors (first: ${PREFIX}${missing[0]}.weight)`);
}

/**
 * The two PEFT files from what a user dropped: one adapter zip (as our Export writes it, the files at the
 * top or inside one folder), or the loose files (or a folder of them; paths may carry folder names).
 * Several adapters at once, or neither form, is a clear error naming what was dropped.
 */
export function peftFilesFromUpload(entries: { path: string; bytes: Uint8Array }[], name: string): PeftAdapterFiles {
  const zips = entries.filter((e) => /\.zip$/i.test(e.path));
  if (zips.length > 1) throw new Error(`${name}: ${zips.length} zip files; import one adapter at a time`);
  if (zips.length === 1 && entries.length > 1) throw new Error(`${name}: a zip together with other files; import the zip alone`);
  const files = zips.length === 1 ? unzipExport(zips[0].bytes, {}, zips[0].path) : new Map<string, Uint8Array>();
  if (zips.length === 0) {
    for (const e of entries) {
      const base = e.path.split('/').at(-1)!;
      if (files.has(base)) throw new Error(`${name}: two files named ${base}; import one adapter at a time`);
      files.set(base, e.bytes);
    }
  }
  const nested = [...files.keys()].filter((k) => k.endsWith('/adapter_config.json'));
  if (!files.has('adapter_config.json') && nested.length > 0) {
    throw new Error(`${name}: adapter_config.json is in ${nested.length > 1 ? 'several folders' : `folder ${nested[0].split('/').slice(0, -1).join('/')}`}; import one adapter folder at a time`);
  }
  return peftFilesFrom(files, name);
}

/** PEFT's { name: bytes | string } object as files. */
export function peftExportFiles(files: PeftAdapterFiles): ExportFiles {
  return new Map([
    ['adapter_model.safetensors', files['adapter_model.safetensors']],
    ['adapter_config.json', new TextEncoder().encode(files['adapter_config.json'])],
  ]);
}

/**
 * The two PEFT files from an unzipped (or dropped) adapter folder, for loraFromPeftConfig + applyPeftAdapter.
 * Accepts the .bin-free safetensors form only; a missing file is a clear error naming the archive.
 */
export function peftFilesFrom(files: ExportFiles, name = 'adapter'): PeftAdapterFiles {
  const weights = files.get('adapter_model.safetensors');
  const config = files.get('adapter_config.json');
  if (!config) throw new Error(`${name}: no adapter_config.json (is this a PEFT LoRA adapter?)`);
  if (!weights) {
    const bin = files.has('adapter_model.bin') ? ' (adapter_model.bin is PyTorch pickle: re-save it with safe_serialization=True)' : '';
    throw new Error(`${name}: no adapter_model.safetensors${bin}`);
  }
  return { 'adapter_model.safetensors': weights, 'adapter_config.json': new TextDecoder().decode(config) };
}
