// The studio's command line: the same core as the browser, in Node through Dawn (the `webgpu` package).
//   info MODEL [--weights W] [--json]
//   generate MODEL [--adapter DIR [--ignore-base-model]] --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P]
//            [--repetition-penalty R] [--seed S] [--stop STR]... [--raw] [--backend engine|onnx] [--json]
//   train MODEL --data FILE --out DIR [--rank R] [--alpha A] [--dropout P] [--rslora] [--targets q_proj,v_proj]
//            [--lr LR] [--schedule constant|linear|cosine] [--warmup N] [--epochs E] [--max-steps N] [--batch-size B]
//            [--grad-accum N] [--max-seq-len T] [--weight-decay W] [--max-grad-norm G] [--seed S] [--all-tokens] [--packing]
//            [--eval-every N] [--checkpoint-every N] [--resume DIR] [--json]
//            (sft, dpo and orpo run the engine's training session, src/engine/session.ts: a stopped run with a checkpoint
//             keeps it in OUT.studio-partial; --resume that folder continues it to the losses of a run that never stopped)
//            [--method sft|dpo|orpo [--beta B] [--label-smoothing E] [--reference start|base] [--rpo-alpha A] [--adapter DIR]]
//            [--activation-checkpointing auto|on|off]
//            (dpo/orpo: --data is TRL preference JSONL, prompt/chosen/rejected; --adapter starts from an SFT adapter)
//   eval MODEL [--adapter DIR [--ignore-base-model]] --data FILE [--max-new-tokens N] [--backend engine|onnx] [--json]
//        (rows that are preference pairs are also scored as preferences: answers closer to chosen, log-prob accuracy)
//   eval MODEL [--adapter DIR] --pairs FILE [--max-seq-len T] [--json]   (held-out preference pairs, src/eval/preference.ts)
//   generate, train, eval, info: [--weights f32|bf16|f16|q8|q4] how the frozen base is kept on the GPU (default: as the
//            checkpoint ships it; src/ops/weight-storage.ts)
//   data FILE [--json]
//   export MODEL [--adapter DIR] --format F [--dtype D] [--data FILE] --out PATH [--json]   (cli/export.ts; export --help lists the formats)
//   bench [--quick]            (the benchmark of scripts/bench.mjs: JSON on stdout)
// Every failure exits non-zero with one line on stderr: "error: <what went wrong>" (control characters escaped,
// capped in length; with --json the whole message is also on stdout as {"error": ...}). Unknown options and
// numbers out of range are refused before anything loads. `train` writes only into a new folder or one it
// wrote before (src/io/output.ts), never over its inputs, and replaces the previous adapter only after a
// run that finished; a signal or the launcher's death stops it with nothing replaced (cli/stop.ts).
// --json output is one JSON object on stdout (documented in the README), stable for scripts.
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { memorySource } from '../src/data/bytes';
import { importSource } from '../src/data/import';
import type { DatasetRecord } from '../src/data/record';
import { applyPeftAdapter, exportPeftAdapter, loraFromPeftConfig, type PeftAdapterFiles } from '../src/export/peft';
import { batchPreference, evaluatePreference } from '../src/eval/preference';
import type { Decoder } from '../src/generate/decoder';
import { generateAll } from '../src/generate/generate';
import { onnxDecoderOf } from '../src/generate/onnx-decoder';
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { installNodeWebGPU } from '../src/gpu/node';
import { gpuSummary, type GpuSummary } from '../src/gpu/adapter';
import { errorMessage, oneLine } from '../src/errors';
import { loadHfModelMeta, openWeights, parameterCount, stopTokenIds, templateOf, weightShapes, type ModelMeta, type ModelWithFiles } from '../src/io/hf';
import { loraMemoryByStorage } from '../src/model/memory-estimate';
import { storageAsShipped } from '../src/io/load';
import { filesFromDirectory } from '../src/io/node-files';
import { abandon, claimOutputFolder, commit, keepPartial, partialOf, type OutputClaim } from '../src/io/output';
import { fingerprinter } from '../src/engine/fingerprint';
import { copyRunFiles, dropRunFiles, folderRunSink, readRunFolder } from '../src/engine/run-folder';
import { evaluateBatch, promptIds } from '../src/engine/evaluate';
import { newRunRecord, RunControl, runExamples, runSession, tokenizeChunked, TOKENIZE_CHUNK } from '../src/engine/session';
import { fnv1a } from '../src/data/hash';
import { baseModelMismatch, linearsOf, MAX_LORA_RANK, validateLora } from '../src/io/validate';
import { loadTransformer } from '../src/io/load';
import { WEIGHT_STORAGES, type WeightStorage } from '../src/ops/weight-storage';
import { DEFAULT_LORA, type LoraConfig } from '../src/model/lora';
import { Transformer } from '../src/model/transformer';
import type { Example } from '../src/train/batch';
import { DEFAULT_PREFERENCE, pairLogps, preferencePairsFromJsonl, tokenizePreference, type PreferenceConfig, type PreferenceMetrics, type PreferencePair } from '../src/train/preference';
import { activationCheckpointingFor, runMemoryEstimate, type RunConfig } from '../src/train/presets';
import type { RunRecord } from '../src/storage/runs';
import type { ChatMessage } from '../src/data/types';
import { DEFAULT_TRAIN, evaluateLoss, targetTokens, type TrainConfig } from '../src/train/trainer';
import type { LrSchedule } from '../src/train/schedule';
import { choice, list, num, parseArgs, str, type Grammar, type Parsed } from './args';
import { cmdExport, exportUsage } from './export';
import { installStopHandlers, onStop } from './stop';

const SAMPLING = ['max-new-tokens', 'temperature', 'top-k', 'top-p', 'repetition-penalty', 'seed', 'stop'];
/** What each command accepts; anything else is an error. */
const GRAMMARS: Record<string, Grammar> = {
  info: { flags: ['json', 'help'], options: ['weights'] },
  generate: { flags: ['json', 'help', 'raw', 'ignore-base-model'], options: ['adapter', 'prompt', 'backend', 'weights', ...SAMPLING] },
  train: {
    flags: ['json', 'help', 'rslora', 'all-tokens', 'packing', 'ignore-base-model'],
    options: ['data', 'out', 'rank', 'alpha', 'dropout', 'targets', 'lr', 'schedule', 'warmup', 'epochs', 'max-steps',
      'batch-size', 'grad-accum', 'max-seq-len', 'weight-decay', 'max-grad-norm', 'seed', 'eval-every', 'checkpoint-every', 'resume',
      'method', 'beta', 'label-smoothing', 'reference', 'rpo-alpha', 'adapter', 'weights', 'activation-checkpointing'],
  },
  eval: { flags: ['json', 'help', 'ignore-base-model'], options: ['adapter', 'data', 'pairs', 'backend', 'max-seq-len', 'weights', ...SAMPLING] },
  data: { flags: ['json', 'help'], options: [] },
  bench: { flags: ['json', 'help', 'quick'], options: [] },
  export: { flags: ['json', 'help', 'ignore-base-model'], options: ['adapter', 'format', 'dtype', 'data', 'out'] },
};

function out(p: Parsed, json: unknown, text: string): void {
  process.stdout.write(p.flags.has('json') ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

/** The model without its weights: they stream onto the GPU when a command builds it (loadTransformer). */
async function loadModel(dir: string): Promise<ModelWithFiles> {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  const files = filesFromDirectory(dir);
  return { ...await loadHfModelMeta(files), files };
}

/** --weights: how the frozen base is stored; undefined: as the checkpoint ships it. */
function weightsOf(p: Parsed): WeightStorage | undefined {
  return choice(p, 'weights', WEIGHT_STORAGES);
}

async function buildModel(gpu: Gpu, m: ModelWithFiles, modelDir: string, p: Parsed): Promise<Transformer> {
  const adapterDir = p.options.get('adapter')?.at(-1);
  if (!adapterDir) return loadTransformer(gpu, m.files, m.config, { kind: 'none' }, { weights: weightsOf(p) });
  const a = adapterOf(adapterDir, m, modelDir, p);
  const model = await loadTransformer(gpu, m.files, m.config, { kind: 'lora', lora: a.lora }, { weights: weightsOf(p) });
  applyPeftAdapter(model, a.weights, a.path);
  return model;
}

/** --adapter DIR: its LoRA settings (checked against the model; --dropout replaces its own) and its weights file. */
function adapterOf(adapterDir: string, m: ModelWithFiles, modelDir: string, p: Parsed): { lora: LoraConfig; weights: Uint8Array; path: string } {
  const configFile = join(adapterDir, 'adapter_config.json');
  if (!existsSync(configFile)) throw new Error(`${adapterDir}: no adapter_config.json (not a PEFT adapter folder)`);
  const { lora, baseModel } = loraFromPeftConfig(readFileSync(configFile, 'utf8'), configFile);
  // train --adapter DIR --dropout P: the run continues the adapter with the dropout asked for, not the one it was trained with.
  if (p.options.has('dropout')) lora.dropout = num(p, 'dropout', 0, { min: 0, max: 1, maxExclusive: true });
  const mismatch = baseModelMismatch(baseModel, modelDir);
  if (mismatch && !p.flags.has('ignore-base-model')) throw new Error(`${configFile}: ${mismatch} (pass --ignore-base-model if they are the same model)`);
  validateLora(lora, linearsOf(weightShapes(m.config)), configFile);
  const path = join(adapterDir, 'adapter_model.safetensors');
  return { lora, weights: new Uint8Array(readFileSync(path)), path };
}

async function readRecords(file: string): Promise<{ records: DatasetRecord[]; issues: { line: number; message: string }[]; format: string; shape: string | null; rows: number }> {
  if (!existsSync(file)) throw new Error(`data file not found: ${file}`);
  const name = file.split('/').pop()!;
  const r = await importSource(memorySource(name, new Uint8Array(readFileSync(file))));
  if (r.needsMapping) {
    const cols = r.needsMapping.columns;
    throw new Error(`${name}: could not detect the dataset shape (${cols.length} columns: ${cols.slice(0, 10).join(', ')}${cols.length > 10 ? ', …' : ''})`);
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

function samplingFrom(p: Parsed) {
  return {
    temperature: num(p, 'temperature', 0, { min: 0 }), topK: num(p, 'top-k', 0, { min: 0, integer: true }),
    topP: num(p, 'top-p', 1, { min: 0, minExclusive: true, max: 1 }),
    repetitionPenalty: num(p, 'repetition-penalty', 1, { min: 0, minExclusive: true }), seed: num(p, 'seed', 0, { integer: true }),
    maxNewTokens: num(p, 'max-new-tokens', 64, { min: 1, integer: true }), stopStrings: list(p, 'stop'),
  };
}

/**
 * New tokens that fit after a prompt of `promptTokens` in the model's context: the prompt must leave room
 * for one; fewer than asked are generated when it leaves less room (said on stderr).
 */
function roomAfter(m: ModelMeta, promptTokens: number, asked: number, p: Parsed): number {
  const context = m.config.maxPositions;
  if (promptTokens >= context) throw new Error(`the prompt is ${promptTokens} tokens; this model's context is ${context} positions`);
  const room = context - promptTokens;
  if (room < asked && !p.flags.has('json')) process.stderr.write(`note: the prompt leaves room for ${room} of the ${asked} new tokens asked (context ${context})\n`);
  return Math.min(asked, room);
}

/** Conversations tokenized with a progress line on stderr every chunk for large data (src/engine/session.ts). */
function tokenizeWithProgress(m: ModelMeta, records: readonly DatasetRecord[], maxSeqLength: number, assistantOnly: boolean, p: Parsed): Promise<Example[]> {
  const show = records.length > 2 * TOKENIZE_CHUNK && !p.flags.has('json');
  return tokenizeChunked(m, records, { assistantOnly, maxSeqLength }, (done) => { if (show) process.stderr.write(`tokenized ${done} of ${records.length} conversations\n`); });
}

/** Who decodes: our WebGPU engine (default) or onnxruntime-web's wasm backend on the ONNX export of the same
 * weights: the same tokens, and several times faster where WebGPU is a software rasteriser. */
function backendOf(p: Parsed): 'engine' | 'onnx' {
  const backend = str(p, 'backend', 'engine');
  if (backend !== 'engine' && backend !== 'onnx') throw new Error(`--backend must be engine or onnx, not ${backend}`);
  return backend;
}

async function decoderFor(backend: 'engine' | 'onnx', model: Transformer): Promise<Transformer | Decoder> {
  if (backend === 'engine') return model;
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  return onnxDecoderOf(ort, model);
}

async function cmdInfo(p: Parsed): Promise<void> {
  const m = await loadModel(p.positionals[1]);
  // Every tensor is read once and dropped (one at a time): info vouches for the checkpoint (names, shapes, no NaN).
  const stream = await openWeights(m.files, m.config);
  await stream.read(() => {});
  const params = parameterCount(m.config);
  const gpu = await infoGpu();
  const memory = loraMemoryByStorage(m.config, {
    shipped: storageAsShipped([...stream.shapes.values()]), batchTokens: 4 * 512, loraRank: DEFAULT_LORA.rank, weights: weightsOf(p),
    maxBindingBytes: gpu?.maxStorageBufferBindingSize,
  });
  const info = {
    config: m.config, parameters: params, trainingMemoryBytes: memory.default.bytes, trainingMemory: memory,
    vocabSize: m.tokenizer.vocabSize, chatTemplate: m.chatTemplate !== null, endOfTurn: templateOf(m).endOfTurn, gpu,
  };
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  out(p, info, [
    `${m.config.modelType} (${m.config.architecture}): ${m.config.numLayers} layers, hidden ${m.config.hiddenSize}, heads ${m.config.numHeads}/${m.config.numKvHeads}, vocab ${m.config.vocabSize}`,
    `parameters: ${params.toLocaleString('en')}`,
    `chat template: ${m.chatTemplate ? `yes (end of turn ${JSON.stringify(info.endOfTurn)})` : 'none (plain fallback)'}`,
    `LoRA training memory (r=${DEFAULT_LORA.rank}, 4×512 tokens), weights shipped as ${memory.shipped}; without / with activation checkpointing:`,
    ...memory.byWeights.map((w) => `  ${w.weights.padEnd(5)} ${gib(w.bytes).padStart(10)} / ${gib(w.bytesWithCheckpointing)}${w.weights === memory.default.weights ? '   <- train\'s default' : ''}`),
    `train's default (weights ${memory.default.weights}, checkpointing on when memory is short): at least ${gib(memory.default.bytes)}, ${gib(memory.default.bytesWithoutCheckpointing)} where the GPU has it`,
    `gpu: ${gpu ? gpu.adapter : 'none found'}`,
  ].join('\n'));
}

/** info needs no GPU: the adapter it would use when there is one, else null. */
async function infoGpu(): Promise<GpuSummary | null> {
  try {
    await installNodeWebGPU();
    const gpu = await createGpu();
    const summary = gpuSummary(gpu);
    gpu.destroy();
    return summary;
  } catch {
    return null;
  }
}

async function cmdGenerate(p: Parsed): Promise<void> {
  const backend = backendOf(p);
  const sampling = samplingFrom(p);
  const m = await loadModel(p.positionals[1]);
  const prompt = str(p, 'prompt');
  const ids = promptIds(m, p.flags.has('raw') ? { kind: 'raw', text: prompt } : { kind: 'chat', messages: [{ role: 'user', content: prompt }] });
  const maxNewTokens = roomAfter(m, ids.length, sampling.maxNewTokens, p);
  const gpu = await createGpu();
  const model = await buildModel(gpu, m, p.positionals[1], p);
  const decoder = await decoderFor(backend, model);
  const t0 = performance.now();
  const r = await generateAll(decoder, ids, { ...sampling, maxNewTokens, stopTokenIds: stopTokenIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }) });
  const seconds = (performance.now() - t0) / 1000;
  out(p, { text: r.text, tokens: r.tokens, finishReason: r.finishReason, tokensPerSecond: r.tokens.length / seconds, gpu: gpuSummary(gpu) }, r.text);
}

/** The run's LoRA and training settings from the flags, each checked against its range before anything loads. */
function trainSettings(p: Parsed): { lora: LoraConfig; cfg: TrainConfig } {
  const lora: LoraConfig = {
    rank: num(p, 'rank', DEFAULT_LORA.rank, { min: 1, max: MAX_LORA_RANK, integer: true }),
    alpha: num(p, 'alpha', DEFAULT_LORA.alpha, { min: 0, minExclusive: true }),
    dropout: num(p, 'dropout', 0, { min: 0, max: 1, maxExclusive: true }),
    useRslora: p.flags.has('rslora'),
    targetModules: p.options.has('targets') ? str(p, 'targets').split(',').map((s) => s.trim()).filter(Boolean) : DEFAULT_LORA.targetModules,
  };
  if (lora.targetModules.length === 0) throw new Error('--targets names no module');
  const cfg: TrainConfig = {
    ...DEFAULT_TRAIN,
    lr: num(p, 'lr', DEFAULT_TRAIN.lr, { min: 0, minExclusive: true }), schedule: str(p, 'schedule', DEFAULT_TRAIN.schedule) as LrSchedule,
    warmupSteps: num(p, 'warmup', 0, { min: 0, integer: true }), epochs: num(p, 'epochs', 1, { min: 1, integer: true }),
    maxSteps: num(p, 'max-steps', 0, { min: 0, integer: true }),
    batchSize: num(p, 'batch-size', DEFAULT_TRAIN.batchSize, { min: 1, integer: true }),
    gradAccumSteps: num(p, 'grad-accum', 1, { min: 1, integer: true }),
    maxSeqLength: num(p, 'max-seq-len', DEFAULT_TRAIN.maxSeqLength, { min: 2, integer: true }),
    weightDecay: num(p, 'weight-decay', 0, { min: 0 }), maxGradNorm: num(p, 'max-grad-norm', 1, { min: 0 }),
    seed: num(p, 'seed', DEFAULT_TRAIN.seed, { integer: true }),
    activationCheckpointing: choice(p, 'activation-checkpointing', ['auto', 'on', 'off'] as const, 'auto'),
    ...(p.options.has('weights') ? { weights: weightsOf(p) } : {}),
  };
  if (!['constant', 'linear', 'cosine'].includes(cfg.schedule)) throw new Error(`--schedule must be constant, linear or cosine`);
  return { lora, cfg };
}

/** --method dpo|orpo: the preference settings, or null for SFT. */
function preferenceFrom(p: Parsed): PreferenceConfig | null {
  const method = str(p, 'method', 'sft');
  if (method === 'sft') return null;
  if (method !== 'dpo' && method !== 'orpo') throw new Error(`--method must be sft, dpo or orpo, not ${method}`);
  const reference = str(p, 'reference', DEFAULT_PREFERENCE.reference);
  if (reference !== 'start' && reference !== 'base') throw new Error(`--reference must be start or base, not ${reference}`);
  return { method, reference, beta: num(p, 'beta', DEFAULT_PREFERENCE.beta), labelSmoothing: num(p, 'label-smoothing', 0), rpoAlpha: num(p, 'rpo-alpha', 0, { min: 0 }) };
}

/** The settings a run keeps in its folder: with --resume they come from there (the method too), not from flags. */
const RUN_SETTINGS = ['rank', 'alpha', 'dropout', 'targets', 'lr', 'schedule', 'warmup', 'epochs', 'max-steps', 'batch-size', 'grad-accum',
  'max-seq-len', 'weight-decay', 'max-grad-norm', 'seed', 'eval-every', 'checkpoint-every',
  'method', 'beta', 'label-smoothing', 'reference', 'rpo-alpha', 'adapter'];

async function cmdTrain(p: Parsed): Promise<void> {
  const { lora, cfg } = trainSettings(p);
  const modelDir = p.positionals[1], dataFile = str(p, 'data'), outDir = str(p, 'out');
  const start = p.options.get('adapter')?.at(-1);
  const resumeDir = p.options.get('resume')?.at(-1);
  const fixed = resumeDir ? RUN_SETTINGS.filter((o) => p.options.has(o)).concat(['rslora', 'all-tokens', 'packing'].filter((f) => p.flags.has(f))) : [];
  if (fixed.length) throw new Error(`--resume continues the run with its own settings; drop --${fixed.join(', --')}`);
  const saved = resumeDir ? readRunFolder(resumeDir) : null;
  const pref = saved ? saved.run.config.preference ?? null : preferenceFrom(p);
  if (start && !pref) throw new Error('--adapter (an adapter to continue) is for --method dpo or orpo');
  if (start && resolve(start) === resolve(outDir)) throw new Error('--out must not be the --adapter folder the run starts from');
  if (pref && (p.options.has('eval-every') || p.flags.has('packing'))) throw new Error('--eval-every and --packing are for --method sft (a preference run has no validation split)');
  // Claimed first: a refused or unwritable --out fails before any loading or training.
  const claim = claimOutputFolder(outDir, [
    { path: modelDir, what: 'the model folder' }, { path: dataFile, what: 'the data file' },
    ...(start ? [{ path: start, what: 'the adapter the run starts from' }] : []),
    ...(resumeDir ? [{ path: resumeDir, what: 'the run folder --resume continues' }] : []),
  ]);
  // A stopped run keeps its checkpoint (if it has one) for --resume; nothing is replaced either way.
  const keep = () => {
    const partial = keepPartial(claim);
    return partial ? `nothing was replaced; its checkpoint is kept: continue with --resume ${partial}` : undefined;
  };
  const release = onStop(keep);
  let finished = false;
  try {
    const m = await loadModel(modelDir);
    // A resumed run keeps the settings it was checked with when it started.
    if (!resumeDir) {
      if (cfg.maxSeqLength + 1 > m.config.maxPositions) {
        if (p.options.has('max-seq-len')) throw new Error(`--max-seq-len ${cfg.maxSeqLength} exceeds the model's context of ${m.config.maxPositions} positions (use at most ${m.config.maxPositions - 1})`);
        cfg.maxSeqLength = m.config.maxPositions - 1; // the default, fitted to a short-context model
      }
      validateLora(lora, linearsOf(weightShapes(m.config)), 'LoRA settings');
    }
    const gpu = await createGpu();
    const r = await trainSession(p, m, gpu, claim, { lora, cfg, pref }, saved && { dir: resumeDir!, ...saved });
    commit(claim, 'peft-adapter', { ...r.files, 'training_log.json': JSON.stringify({ ...r.summary, log: r.log, ...(r.evals ? { evals: r.evals } : {}) }, null, 2) });
    finished = true;
    // The partial run this one continued is finished: its output is in place.
    if (resumeDir && resolve(resumeDir) === partialOf(claim.dir)) rmSync(resumeDir, { recursive: true, force: true });
    const s = r.summary;
    out(p, { ...s, out: outDir, gpu: gpuSummary(gpu) }, `trained ${s.steps} steps in ${s.seconds.toFixed(1)} s; final loss ${s.finalLoss.toFixed(4)}; adapter written to ${outDir}`);
  } catch (e) {
    const note = keep();
    throw note ? new Error(`${errorMessage(e)}; ${note}`) : e;
  } finally {
    release();
    if (!finished) abandon(claim);
  }
}

interface Trained {
  files: PeftAdapterFiles;
  summary: {
    steps: number; seconds: number; finalLoss: number; validationLoss: number | null; examples: number; lora: LoraConfig; train: TrainConfig;
    preference?: PreferenceConfig & Pick<PreferenceMetrics, 'rewardsChosen' | 'rewardsRejected' | 'margins' | 'accuracy'>;
  };
  log: unknown[];
  evals?: unknown[];
}

/** --activation-checkpointing: 'auto' turns it on only when the run would not fit what the device gives when asked (as the engine decides). */
async function activationCheckpointing(gpu: Gpu, m: ModelWithFiles, run: Pick<RunConfig, 'lora' | 'train' | 'preference'>): Promise<boolean> {
  const budget = run.train.activationCheckpointing === 'auto' ? await gpu.probeMemory(runMemoryEstimate(run, m.config, false).trainingBytes) : null;
  return activationCheckpointingFor(run, m.config, budget);
}

/**
 * SFT, DPO or ORPO through the engine's training session (src/engine/session.ts), the loop the Training tab runs:
 * packing and validation every --eval-every steps and at the end (SFT), checkpoints every --checkpoint-every steps
 * into the output's staging folder, and --resume from the folder an interrupted run kept.
 */
async function trainSession(
  p: Parsed, m: ModelWithFiles, gpu: Gpu, claim: OutputClaim, flags: { lora: LoraConfig; cfg: TrainConfig; pref: PreferenceConfig | null },
  saved: { dir: string; run: RunRecord; last: Uint8Array } | null,
): Promise<Trained> {
  const modelDir = p.positionals[1], dataFile = str(p, 'data');
  const { pref } = flags;
  let records: { messages: ChatMessage[]; split: 'train' | 'validation' }[] = [], pairs: PreferencePair[] | undefined;
  if (pref) {
    if (!existsSync(dataFile)) throw new Error(`data file not found: ${dataFile}`);
    pairs = preferencePairsFromJsonl(readFileSync(dataFile, 'utf8'), basename(dataFile));
  } else {
    records = (await readRecords(dataFile)).records.map((r) => ({ messages: r.messages, split: r.split }));
  }
  // The data's identity: a resume must train on exactly the same conversations (or pairs).
  const dataId = fnv1a(JSON.stringify(pairs ?? records)).toString(16);
  if (saved && saved.run.dataset?.id !== dataId) throw new Error(`--resume ${saved.dir}: the run trained on other data than ${dataFile}`);
  // Preference tuning continues an adapter when given one (its own LoRA settings), or starts a fresh one.
  const adapterDir = p.options.get('adapter')?.at(-1);
  const start = adapterDir ? adapterOf(adapterDir, m, modelDir, p) : null;
  const run = saved?.run ?? newRunRecord({
    name: basename(claim.dir), model: { name: basename(resolve(modelDir)), parameters: parameterCount(m.config), fingerprint: '' },
    dataset: { id: dataId, name: basename(dataFile), version: 1 },
    config: {
      lora: start?.lora ?? flags.lora, train: flags.cfg, packing: p.flags.has('packing'), assistantOnly: !p.flags.has('all-tokens'),
      evalEvery: num(p, 'eval-every', 0, { min: 0, integer: true }), checkpointEvery: num(p, 'checkpoint-every', 0, { min: 0, integer: true }), earlyStopPatience: 0,
      ...(pref ? { preference: pref } : {}),
    },
    trainExamples: pairs?.length ?? records.filter((r) => r.split === 'train').length, validationExamples: records.filter((r) => r.split === 'validation').length,
  }, Date.now());
  if (saved) copyRunFiles(saved.dir, claim);
  const json = p.flags.has('json');
  const showTokenizing = records.length > 2 * TOKENIZE_CHUNK && !json;
  let net: Transformer | null = null;
  const t0 = performance.now();
  await runSession({
    run, sink: folderRunSink(claim), control: new RunControl(run.id), resumeFrom: saved?.last ?? null, padId: m.tokenizer.padTokenId ?? 0,
    setup: async () => {
      const examples = await runExamples(m, { records, pairs }, run.config, (done, total) => { if (showTokenizing) process.stderr.write(`tokenized ${done} of ${total} conversations\n`); });
      const print = fingerprinter(m.config);
      net = await loadTransformer(gpu, m.files, m.config, { kind: 'lora', lora: run.config.lora }, { seed: run.config.train.seed, weights: run.config.train.weights, onTensor: print.sample });
      net.checkpointActivations = await activationCheckpointing(gpu, m, run.config);
      if (saved && print.digest() !== run.model.fingerprint) throw new Error(`--resume ${saved.dir}: the run trained on other weights than ${modelDir}`);
      run.model.fingerprint = print.digest();
      return { net, examples };
    },
    init: start ? (model) => applyPeftAdapter(model, start.weights, start.path) : null,
    onEvent: (e) => {
      if (json) return;
      if (e.type === 'step') {
        const q = e.point;
        process.stderr.write(`step ${q.step}/${e.totalSteps} loss ${q.loss.toFixed(4)} lr ${q.lr.toExponential(2)} grad-norm ${q.gradNorm.toFixed(3)}${q.margins === undefined ? '' : ` margin ${q.margins.toFixed(4)} accuracy ${q.accuracy!.toFixed(2)}`}\n`);
      }
      if (e.type === 'eval') process.stderr.write(`step ${e.step} validation loss ${e.valLoss.toFixed(4)}${e.best ? ' (best)' : ''}\n`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const files = await exportPeftAdapter(net!, modelDir);
  dropRunFiles(claim);
  const last = run.metrics.at(-1)!;
  const preference = run.config.preference;
  return {
    files, log: run.metrics, evals: preference ? undefined : run.evals,
    summary: {
      steps: run.totalSteps, seconds, finalLoss: last.loss, validationLoss: run.final?.valLoss ?? null,
      examples: run.trainExamples, lora: run.config.lora, train: run.config.train,
      ...(preference ? { preference: { ...preference, rewardsChosen: last.rewardsChosen!, rewardsRejected: last.rewardsRejected!, margins: last.margins!, accuracy: last.accuracy! } } : {}),
    },
  };
}

/**
 * The batch evaluation of the Compare screen (src/engine/evaluate.ts) with one model, the base or --adapter:
 * greedy answers scored against each conversation's last assistant turn, and the loss over the same turns.
 */
async function cmdEval(p: Parsed): Promise<void> {
  if (p.options.has('pairs')) return cmdEvalPairs(p);
  const backend = backendOf(p);
  const sampling = samplingFrom(p);
  const maxSeqLength = num(p, 'max-seq-len', DEFAULT_TRAIN.maxSeqLength, { min: 2, integer: true });
  const m = await loadModel(p.positionals[1]);
  const data = await readRecords(str(p, 'data'));
  const examples = await tokenizeWithProgress(m, data.records, maxSeqLength, true, p);
  if (targetTokens(examples, maxSeqLength) === 0) throw new Error(`nothing to evaluate: none of the ${examples.length} conversations has an assistant turn within --max-seq-len ${maxSeqLength}`);
  const exampleOf = new Map<{ messages: unknown }, Example>(data.records.map((r, i) => [r, examples[i]]));
  const gpu = await createGpu();
  const model = await buildModel(gpu, m, p.positionals[1], p);
  const decoder = await decoderFor(backend, model);
  let tokens = 0;
  const r = await evaluateBatch<null>({
    generate: async (_, prompt) => {
      const ids = promptIds(m, prompt);
      const maxNewTokens = roomAfter(m, ids.length, sampling.maxNewTokens, p);
      return generateAll(decoder, ids, { ...sampling, maxNewTokens, temperature: 0, stopTokenIds: stopTokenIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }) });
    },
    loss: async (_, records) => {
      const scored = await evaluateLoss(model, records.map((x) => exampleOf.get(x)!), 4, maxSeqLength);
      tokens = scored.tokens;
      return scored;
    },
    pairLogps: (_, pairs) => pairLogps(model, pairs.map((x) => tokenizePreference(m.tokenizer, templateOf(m), x, maxSeqLength)), 4, maxSeqLength, m.tokenizer.padTokenId ?? 0),
  }, { records: data.records, columns: [{ id: 'model', adapter: null }], chatTemplate: true });
  if (r.error) throw new Error(r.error);
  const s = r.summaries.model;
  const loss = s.loss ?? NaN;
  // Pair rows (a rejected answer beside the chosen one) are also scored as preferences, as Compare scores them.
  const preference = batchPreference(r.rows, 'model');
  const res = { gpu: gpuSummary(gpu), loss, perplexity: Math.exp(loss), tokens, exactMatch: s.exactMatch, rougeL: s.rougeL, averageLength: s.averageLength, cleanStopRate: s.cleanStopRate, examples: s.examples, ...(preference ? { preference } : {}) };
  out(p, res, `loss ${loss.toFixed(4)}  perplexity ${res.perplexity.toFixed(3)}  exact match ${(100 * res.exactMatch).toFixed(1)}%  ROUGE-L ${res.rougeL.toFixed(3)}  length ${res.averageLength.toFixed(1)}  clean stops ${(100 * res.cleanStopRate).toFixed(0)}% of ${s.examples}`
    + (preference ? `; ${preference.pairs} pairs: answers closer to chosen ${(100 * preference.closerToChosen).toFixed(1)}%, log-prob prefers chosen ${(100 * preference.logpAccuracy!).toFixed(1)}% (margin ${preference.logpMargin!.toFixed(3)})` : ''));
}

/** eval --pairs: log-prob preference accuracy (and, with an adapter, against the adapter off) and greedy answers against chosen/rejected. */
async function cmdEvalPairs(p: Parsed): Promise<void> {
  if (p.options.has('data')) throw new Error('eval takes --data (conversations) or --pairs (preference pairs), not both');
  const file = str(p, 'pairs');
  if (!existsSync(file)) throw new Error(`pairs file not found: ${file}`);
  const maxSeqLength = num(p, 'max-seq-len', DEFAULT_TRAIN.maxSeqLength, { min: 2, integer: true });
  const sampling = samplingFrom(p);
  const m = await loadModel(p.positionals[1]);
  const tpl = templateOf(m);
  const pairs = preferencePairsFromJsonl(readFileSync(file, 'utf8'), file.split('/').pop());
  const examples = pairs.map((pair) => tokenizePreference(m.tokenizer, tpl, pair, maxSeqLength));
  const gpu = await createGpu();
  const model = await buildModel(gpu, m, p.positionals[1], p);
  const res = await evaluatePreference(model, pairs, examples, {
    batchSize: 4, maxSeqLength, padId: m.tokenizer.padTokenId ?? 0, reference: model.mode.kind === 'lora' ? 'base' : undefined,
    answer: async (prompt) => {
      const ids = m.tokenizer.encode(tpl.render(prompt, { addGenerationPrompt: true }), { addSpecialTokens: false });
      const g = await generateAll(model, ids, { ...sampling, maxNewTokens: roomAfter(m, ids.length, sampling.maxNewTokens, p), temperature: 0, stopTokenIds: stopTokenIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }) });
      return g.text;
    },
  });
  const g = res.generation!;
  out(p, { ...res, gpu: gpuSummary(gpu) }, `${res.pairs} pairs: log-prob prefers chosen ${(100 * res.logpAccuracy).toFixed(1)}% (margin ${res.logpMargin.toFixed(3)})`
    + (res.rewardAccuracy === undefined ? '' : `, vs adapter off ${(100 * res.rewardAccuracy).toFixed(1)}% (margin ${res.rewardMargin!.toFixed(3)})`)
    + `; greedy answer = chosen ${(100 * g.chosenRate).toFixed(1)}%, = rejected ${(100 * g.rejectedRate).toFixed(1)}%`);
}

async function cmdData(p: Parsed): Promise<void> {
  const file = p.positionals[1];
  if (!file) throw new Error('usage: data FILE [--json]');
  const d = await readRecords(file);
  const res = { file, format: d.format, shape: d.shape, rows: d.rows, records: d.records.length, errors: d.issues };
  out(p, res, [`${file}: ${d.format}, shape ${d.shape ?? 'unknown'}, ${d.records.length} records of ${d.rows} rows`, ...d.issues.map((i) => `  line ${i.line}: ${i.message}`)].join('\n'));
}

/** The benchmark runs our kernels and the peers in headless Chromium (scripts/bench.mjs), not in Dawn. */
async function cmdBench(p: Parsed): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['scripts/bench.mjs', ...(p.flags.has('quick') ? ['--quick'] : [])], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`bench failed (exit ${r.status})`);
}

const USAGE = 'usage: npm run studio -- <info|generate|train|eval|data|export|bench> ... (see README)';

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  const cmd = argv.find((a) => !a.startsWith('--'));
  if (cmd === 'export' && argv.includes('--help')) { console.log(exportUsage()); return; }
  if (!cmd || argv.includes('--help')) { console.log(USAGE); return; }
  const grammar = GRAMMARS[cmd];
  if (!grammar) throw new Error(`unknown command "${cmd}". ${USAGE}`);
  const p = parseArgs(argv, grammar);
  json = p.flags.has('json');
  if (['info', 'generate', 'train', 'eval', 'export'].includes(cmd) && !p.positionals[1]) throw new Error(`usage: ${cmd} MODEL_DIR ...`);
  if (p.positionals.length > (cmd === 'bench' ? 1 : 2)) throw new Error(`unexpected argument "${p.positionals.at(-1)}"`);
  installStopHandlers();
  if (!['data', 'info', 'bench'].includes(cmd)) await installNodeWebGPU();
  switch (cmd) {
    case 'info': return cmdInfo(p);
    case 'generate': return cmdGenerate(p);
    case 'train': return cmdTrain(p);
    case 'eval': return cmdEval(p);
    case 'data': return cmdData(p);
    case 'bench': return cmdBench(p);
    case 'export': {
      const r = await cmdExport(p, { loadModel, buildModel: (gpu, m) => buildModel(gpu, m, p.positionals[1], p), createGpu, readRecords });
      return out(p, r.json, r.text);
    }
  }
}

/** Whether --json was given (known once the arguments parse): a failure then also prints {"error": ...} on stdout. */
let json = false;

function fail(e: unknown): never {
  const message = errorMessage(e);
  if (json) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
  process.stderr.write(`error: ${oneLine(message)}\n`);
  process.exit(1);
}

// A library that lets a rejection go unobserved (hyparquet on a damaged column chunk) still ends in one line.
process.on('unhandledRejection', fail);
main().then(() => process.exit(0), fail);
