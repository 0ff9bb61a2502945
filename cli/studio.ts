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
//            [--method grpo --reward R [--reward R]... [--reward-weights W,...] [--num-generations G] [--max-new-tokens N]
//             [--temperature T] [--beta B] [--reference start|base] [--loss-type grpo|dr_grpo|dapo] [--num-iterations μ] [--adapter DIR]]
//            [--activation-checkpointing auto|on|off]
//            (dpo/orpo: --data is TRL preference JSONL, prompt/chosen/rejected; --adapter starts from an SFT adapter;
//             grpo: --data holds prompts, records as the Data step reads them, a last assistant turn the reference; cli/grpo.ts)
//   eval MODEL [--adapter DIR [--ignore-base-model]] --data FILE [--max-new-tokens N] [--backend engine|onnx] [--json]
//        (rows that are preference pairs are also scored as preferences: answers closer to chosen, log-prob accuracy)
//   eval MODEL [--adapter DIR] --pairs FILE [--max-seq-len T] [--json]   (held-out preference pairs, src/eval/preference.ts)
//   generate, train, eval, info: [--weights f32|bf16|f16|q8|q4] how the frozen base is kept on the GPU (default: as the
//            checkpoint ships it; src/ops/weight-storage.ts)
//   data FILE [--json]
//   export MODEL [--adapter DIR] --format F [--dtype D] [--data FILE] --out PATH [--json]   (cli/export.ts; export --help lists the formats)
//   bench [--quick]            (the benchmark of scripts/bench.mjs: JSON on stdout)
// Every command that needs the GPU is a client of the engine (src/engine/engine.ts) in Node, the same engine the page's
// worker carries: loads, runs, generation, evaluation, exports and their checks (memory admission with both numbers,
// run settings, the LoRA rule, fingerprints, adapters against the model) are the engine's, so a page and a terminal
// cannot disagree. This file parses flags, reads the data file, holds the output folder, and prints.
// Every failure exits non-zero with one line on stderr: "error: <what went wrong>" (control characters escaped,
// capped in length; with --json the whole message is also on stdout as {"error": ...}). Unknown options and
// numbers out of range are refused before anything loads. `train` writes only into a new folder or one it
// wrote before (src/io/output.ts), never over its inputs, and replaces the previous adapter only after a
// run that finished; a signal or the launcher's death stops it with nothing replaced (cli/stop.ts).
// --json output is one JSON object on stdout (documented in the README), stable for scripts.
import { readFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fnv1aJsonArray } from '../src/data/hash';
import type { AdapterChoice, Engine, ModelInfo, OnEvent, RunOutcome } from '../src/engine/api';
import { createEngine } from '../src/engine/engine';
import { nodeHost } from '../src/engine/host-node';
import { describeModel } from '../src/engine/model';
import { gpuLine, gpuSummary, type GpuSummary } from '../src/gpu/adapter';
import { storageAsShipped } from '../src/io/load';
import { copyRunFiles, dropRunFiles, folderRunStore, readRunFolder } from '../src/engine/run-folder';
import { TOKENIZE_CHUNK } from '../src/engine/session';
import { errorMessage, oneLine } from '../src/errors';
import { batchPreference } from '../src/eval/preference';
import { loadHfModelMeta, openWeights, templateOf } from '../src/io/hf';
import { filesFromDirectory } from '../src/io/node-files';
import { abandon, claimOutputFolder, commit, keepPartial, partialOf } from '../src/io/output';
import { BASE_MODEL_MISMATCH, MAX_LORA_RANK } from '../src/io/validate';
import { DEFAULT_LORA, type LoraConfig } from '../src/model/lora';
import { WEIGHT_STORAGES, type WeightStorage } from '../src/ops/weight-storage';
import type { AdapterRecord, RunStore } from '../src/storage/runs';
import { DEFAULT_PREFERENCE, type PreferenceConfig } from '../src/train/preference';
import { preferencePairsFromJsonl, type PreferencePair } from '../src/train/preference-pairs';
import type { RunConfig } from '../src/train/presets';
import type { LrSchedule } from '../src/train/schedule';
import { DEFAULT_TRAIN, type TrainConfig } from '../src/train/trainer';
import { choice, list, num, parseArgs, str, UsageError, type Grammar, type Parsed } from './args';
import { cmdExport, exportUsage } from './export';
import { GRPO_OPTIONS, grpoFrom, grpoSummary } from './grpo';
import { classed, EXIT, exitCodeOf, failure, sameClass } from './exit';
import { assertTrainable, assertUsable, dataReport, importBytes, NoUsableRecords, readDataFile, refusalNote } from './data-file';
import { readHubRecords, type DataImport } from './hub-data';
import { cmdPush } from './push';
import { HUB_PREFIX } from '../src/data/hub';
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
      'method', 'beta', 'label-smoothing', 'reference', 'rpo-alpha', 'adapter', 'weights', 'activation-checkpointing', ...GRPO_OPTIONS],
  },
  eval: { flags: ['json', 'help', 'ignore-base-model'], options: ['adapter', 'data', 'pairs', 'backend', 'max-seq-len', 'weights', ...SAMPLING] },
  data: { flags: ['json', 'help'], options: ['config', 'split', 'endpoint'] },
  bench: { flags: ['json', 'help', 'quick'], options: [] },
  export: { flags: ['json', 'help', 'ignore-base-model'], options: ['adapter', 'format', 'dtype', 'data', 'out'] },
  push: { flags: ['json', 'help', 'private'], options: ['repo', 'endpoint'] },
};

function out(p: Parsed, json: unknown, text: string): void {
  process.stdout.write(p.flags.has('json') ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

/** What the engine reports while it works, on stderr (unless --json): notes, and tokenizing progress on large data. */
function progress(p: Parsed): OnEvent {
  const quiet = p.flags.has('json');
  return (e) => {
    if (quiet) return;
    if (e.type === 'note') process.stderr.write(`note: ${e.message}\n`);
    // A run tokenizes as its steps take conversations (src/engine/session.ts): a line per chunk, and the last.
    if (e.type === 'tokenize' && e.total > 2 * TOKENIZE_CHUNK && (e.done % TOKENIZE_CHUNK === 0 || e.done === e.total)) process.stderr.write(`tokenized ${e.done} of ${e.total} conversations\n`);
    if (e.type === 'step') {
      const q = e.point;
      const grpo = q.reward === undefined ? '' : ` reward ${q.reward.toFixed(3)} ± ${q.rewardStd!.toFixed(3)} length ${q.completionLength!.toFixed(1)}`
        + `${q.kl === null || q.kl === undefined ? '' : ` kl ${q.kl.toFixed(4)}`}${q.unscorable ? ` unscorable ${q.unscorable} (${q.errors![0]})` : ''}`;
      process.stderr.write(`step ${q.step}/${e.totalSteps} loss ${q.loss.toFixed(4)} lr ${q.lr.toExponential(2)} grad-norm ${q.gradNorm.toFixed(3)}${q.margins === undefined ? '' : ` margin ${q.margins.toFixed(4)} accuracy ${q.accuracy!.toFixed(2)}`}${grpo}\n`);
    }
    if (e.type === 'eval') process.stderr.write(`step ${e.step} validation loss ${e.valLoss.toFixed(4)}${e.best ? ' (best)' : ''}\n`);
  };
}

/** --weights: how the frozen base is stored; undefined: as the checkpoint ships it. */
function weightsOf(p: Parsed): WeightStorage | undefined {
  return choice(p, 'weights', WEIGHT_STORAGES);
}

/** The engine on this machine's WebGPU (Dawn) with MODEL loaded (`weights`: the base's storage), runs in `runStore` (default: memory). */
async function engineWith(p: Parsed, weights: WeightStorage | undefined, runStore?: RunStore): Promise<{ engine: Engine; info: ModelInfo }> {
  const engine = createEngine(nodeHost({ runStore }));
  const info = await classed(EXIT.model, () => engine.loadModel({ source: { kind: 'folder', path: p.positionals[1] }, weights }, progress(p)));
  return { engine, info };
}

/** --adapter DIR without its trailing slashes, checked to be a PEFT adapter folder before anything loads. */
function adapterFolder(folder: string): string {
  const dir = folder.replace(/\/+$/, '') || folder;
  if (!existsSync(dir)) throw failure(EXIT.model, `--adapter ${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) throw failure(EXIT.model, `--adapter ${dir} is a file; it takes a PEFT adapter folder`);
  if (!existsSync(join(dir, 'adapter_config.json'))) throw failure(EXIT.model, `--adapter ${dir}: no adapter_config.json (not a PEFT adapter folder)`);
  return dir;
}

/** A PEFT adapter folder imported into the engine: checked against the loaded model (the engine's adapter checks). */
async function importAdapterFolder(engine: Engine, folder: string, p: Parsed): Promise<AdapterRecord> {
  const dir = adapterFolder(folder);
  // training_log.json (what train writes) brings the run's settings: the card and the kit of an export repeat them.
  const files = ['adapter_config.json', 'adapter_model.safetensors', 'training_log.json'].filter((f) => existsSync(join(dir, f)))
    .map((f) => ({ path: f, file: new Blob([readFileSync(join(dir, f))]) }));
  try {
    return await classed(EXIT.model, () => engine.importAdapter({ name: dir, files, ignoreBaseModel: p.flags.has('ignore-base-model') }));
  } catch (e) {
    if (e instanceof Error && e.name === BASE_MODEL_MISMATCH) throw failure(EXIT.model, `${e.message} (pass --ignore-base-model if they are the same model)`);
    throw e;
  }
}

/** Which weights answer: --adapter DIR imported, or the base model. */
async function adapterChoice(engine: Engine, p: Parsed): Promise<AdapterChoice> {
  const dir = p.options.get('adapter')?.at(-1);
  return dir ? { kind: 'imported', adapterId: (await importAdapterFolder(engine, dir, p)).id } : { kind: 'base' };
}

/**
 * A data file's records for a command that uses them (`need`: 'train' takes the train split), refused plainly when
 * there is none (cli/data-file.ts); the read's progress on stderr for a large file, and a note when rows were refused.
 */
async function readRecords(p: Parsed, file: string, need: 'any' | 'train'): Promise<DataImport> {
  const d = await classed(EXIT.data, async () => {
    const d = await readDataFile(file, readingProgress(p, file));
    if (need === 'train') assertTrainable(file, d);
    else assertUsable(file, d);
    return d;
  });
  const note = refusalNote(file, d);
  if (note && !p.flags.has('json')) process.stderr.write(`note: ${note}\n`);
  return d;
}

/** How far the read of a data file has gone, on stderr every 2 s (so only a large file says it; not with --json). */
function readingProgress(p: Parsed, file: string): (fraction: number) => void {
  let said = Date.now();
  return (f) => {
    if (p.flags.has('json') || f >= 1 || Date.now() - said < 2000) return;
    said = Date.now();
    process.stderr.write(`reading ${file}: ${Math.round(100 * f)}%\n`);
  };
}

function readPairs(file: string): PreferencePair[] {
  return classed(EXIT.data, () => {
    if (!existsSync(file)) throw new Error(`data file not found: ${file}`);
    return preferencePairsFromJsonl(readFileSync(file, 'utf8'), basename(file));
  });
}

function samplingFrom(p: Parsed) {
  return {
    temperature: num(p, 'temperature', 0, { min: 0 }), topK: num(p, 'top-k', 0, { min: 0, integer: true }),
    topP: num(p, 'top-p', 1, { min: 0, minExclusive: true, max: 1 }),
    repetitionPenalty: num(p, 'repetition-penalty', 1, { min: 0, minExclusive: true }), seed: num(p, 'seed', 0, { integer: true }),
    maxNewTokens: num(p, 'max-new-tokens', 64, { min: 1, integer: true }), stopStrings: list(p, 'stop'),
  };
}

/** Who decodes: our engine (default; on a software adapter a small f32 model steps on the CPU, src/generate/cpu-decode.ts)
 * or onnxruntime-web's wasm backend on the ONNX export of the same weights: the same tokens. */
function backendOf(p: Parsed): 'webgpu' | 'onnx' {
  const backend = str(p, 'backend', 'engine');
  if (backend !== 'engine' && backend !== 'onnx') throw new UsageError(`--backend must be engine or onnx, not ${backend}`);
  return backend === 'engine' ? 'webgpu' : backend;
}

/** The model's figures without the GPU (the engine's describeModel), after every tensor is read once and dropped. */
async function cmdInfo(p: Parsed): Promise<void> {
  const dir = p.positionals[1];
  const { m, shipped } = await classed(EXIT.model, async () => {
    if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
    const files = filesFromDirectory(dir);
    const m = await loadHfModelMeta(files);
    // One at a time: info vouches for the checkpoint (names, shapes, no NaN).
    const stream = await openWeights(files, m.config);
    await stream.read(() => {});
    return { m, shipped: storageAsShipped([...stream.shapes.values()]) };
  });
  const gpu = await infoGpu();
  const d = describeModel(m, weightsOf(p), { shipped, maxBindingBytes: gpu?.maxStorageBufferBindingSize });
  const memory = d.trainingMemory;
  const info = {
    config: d.config, parameters: d.parameters, trainingMemoryBytes: memory.default.bytes, trainingMemory: memory,
    vocabSize: d.vocabSize, chatTemplate: d.chatTemplate, endOfTurn: templateOf(m).endOfTurn, gpu,
  };
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  out(p, info, [
    `${m.config.modelType} (${m.config.architecture}): ${m.config.numLayers} layers, hidden ${m.config.hiddenSize}, heads ${m.config.numHeads}/${m.config.numKvHeads}, vocab ${m.config.vocabSize}`,
    `parameters: ${d.parameters.toLocaleString('en')}`,
    `chat template: ${d.chatTemplate ? `yes (end of turn ${JSON.stringify(info.endOfTurn)})` : 'none (plain fallback)'}`,
    `LoRA training memory (r=${DEFAULT_LORA.rank}, 4×512 tokens), weights shipped as ${memory.shipped}; without / with activation checkpointing:`,
    ...memory.byWeights.map((w) => `  ${w.weights.padEnd(5)} ${gib(w.bytes).padStart(10)} / ${gib(w.bytesWithCheckpointing)}${w.weights === memory.default.weights ? '   <- train\'s default' : ''}`),
    `train's default (weights ${memory.default.weights}, checkpointing on when memory is short): at least ${gib(memory.default.bytes)}, ${gib(memory.default.bytesWithoutCheckpointing)} where the GPU has it`,
    `gpu: ${gpu ? gpuLine(gpu) : 'none found'}`,
  ].join('\n'));
}

/** info needs no GPU: the adapter it would use when there is one, else null. */
async function infoGpu(): Promise<GpuSummary | null> {
  try {
    const gpu = await nodeHost().createGpu();
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
  const prompt = str(p, 'prompt');
  const { engine, info } = await engineWith(p, weightsOf(p));
  const adapter = await adapterChoice(engine, p);
  const r = await engine.generate({ adapter, prompt: p.flags.has('raw') ? { kind: 'raw', text: prompt } : { kind: 'chat', messages: [{ role: 'user', content: prompt }] }, sampling, backend }, progress(p));
  out(p, { text: r.text, tokens: r.tokens, finishReason: r.finishReason, tokensPerSecond: r.tokensPerSecond, gpu: info.gpu }, r.text);
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
  if (lora.targetModules.length === 0) throw new UsageError('--targets names no module');
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
  if (!['constant', 'linear', 'cosine'].includes(cfg.schedule)) throw new UsageError(`--schedule must be constant, linear or cosine`);
  return { lora, cfg };
}

/** --method dpo|orpo: the preference settings (null for SFT and GRPO). */
function preferenceFrom(p: Parsed): PreferenceConfig | null {
  const method = choice(p, 'method', ['sft', 'dpo', 'orpo', 'grpo'] as const, 'sft');
  if (method === 'sft' || method === 'grpo') return null;
  const reference = str(p, 'reference', DEFAULT_PREFERENCE.reference);
  if (reference !== 'start' && reference !== 'base') throw new UsageError(`--reference must be start or base, not ${reference}`);
  return { method, reference, beta: num(p, 'beta', DEFAULT_PREFERENCE.beta), labelSmoothing: num(p, 'label-smoothing', 0), rpoAlpha: num(p, 'rpo-alpha', 0, { min: 0 }) };
}

/** The settings a run keeps in its folder: with --resume they come from there (the method too), not from flags. */
const RUN_SETTINGS = ['rank', 'alpha', 'dropout', 'targets', 'lr', 'schedule', 'warmup', 'epochs', 'max-steps', 'batch-size', 'grad-accum',
  'max-seq-len', 'weight-decay', 'max-grad-norm', 'seed', 'eval-every', 'checkpoint-every',
  'method', 'beta', 'label-smoothing', 'reference', 'rpo-alpha', 'adapter', ...GRPO_OPTIONS];

async function cmdTrain(p: Parsed): Promise<void> {
  const { lora, cfg } = trainSettings(p);
  const modelDir = p.positionals[1], dataFile = str(p, 'data'), outDir = str(p, 'out');
  const start = p.options.get('adapter')?.at(-1);
  const resumeDir = p.options.get('resume')?.at(-1);
  const fixed = resumeDir ? RUN_SETTINGS.filter((o) => p.options.has(o)).concat(['rslora', 'all-tokens', 'packing'].filter((f) => p.flags.has(f))) : [];
  if (fixed.length) throw new UsageError(`--resume continues the run with its own settings; drop --${fixed.join(', --')}`);
  const saved = resumeDir ? classed(EXIT.usage, () => readRunFolder(resumeDir)) : null;
  const pref = saved ? saved.config.preference ?? null : preferenceFrom(p);
  const grpo = saved ? saved.config.grpo ?? null : str(p, 'method', 'sft') === 'grpo' ? grpoFrom(p) : null;
  if (!grpo && !saved) {
    const wrong = GRPO_OPTIONS.filter((o) => p.options.has(o));
    if (wrong.length) throw new UsageError(`--${wrong[0]} is for --method grpo`);
  }
  if (grpo && !saved) {
    const wrong = ['label-smoothing', 'rpo-alpha'].filter((o) => p.options.has(o));
    if (wrong.length) throw new UsageError(`--${wrong[0]} is for --method dpo (GRPO's loss has no such term)`);
    if (p.flags.has('all-tokens')) throw new UsageError('--all-tokens is for --method sft (GRPO trains on its sampled answers)');
  }
  // A GRPO micro-batch counts answers: by default one prompt's G.
  if (grpo && !saved && !p.options.has('batch-size')) cfg.batchSize = grpo.numGenerations;
  if (start && !pref && !grpo) throw new UsageError('--adapter (an adapter to continue) is for --method dpo, orpo or grpo');
  if (start && resolve(start) === resolve(outDir)) throw new UsageError('--out must not be the --adapter folder the run starts from');
  if ((pref || grpo) && (p.options.has('eval-every') || p.flags.has('packing'))) throw new UsageError(`--eval-every and --packing are for --method sft (a ${pref ? 'preference' : 'GRPO'} run has no validation split)`);
  // Claimed first: a refused or unwritable --out fails before any loading or training.
  const claim = classed(EXIT.output, () => claimOutputFolder(outDir, [
    { path: modelDir, what: 'the model folder' }, { path: dataFile, what: 'the data file' },
    ...(start ? [{ path: start, what: 'the adapter the run starts from' }] : []),
    ...(resumeDir ? [{ path: resumeDir, what: 'the run folder --resume continues' }] : []),
  ]));
  // What killed runs left beside it, cleaned by the claim: named.
  for (const line of claim.recovered) process.stderr.write(`note: ${line}\n`);
  // A stopped run keeps its checkpoint (if it has one) for --resume; nothing is replaced either way.
  const keep = () => {
    const partial = keepPartial(claim);
    return partial ? `nothing was replaced; its checkpoint is kept: continue with --resume ${partial}` : undefined;
  };
  const release = onStop(keep);
  let finished = false;
  try {
    const records = pref ? [] : (await readRecords(p, dataFile, 'train')).records.map((r) => ({ messages: r.messages, split: r.split }));
    const pairs = pref ? readPairs(dataFile) : undefined;
    // The data's identity: a resume must train on exactly the same conversations (or pairs).
    const dataset = { id: fnv1aJsonArray(pairs ?? records).toString(16), name: basename(dataFile), version: 1 };
    if (saved && saved.dataset?.id !== dataset.id) throw failure(EXIT.data, `--resume ${resumeDir}: the run trained on other data than ${dataFile}`);
    if (saved) copyRunFiles(resumeDir!, claim);
    const store = folderRunStore(claim);
    // A resumed run keeps its base as it was kept.
    const { engine, info } = await engineWith(p, saved ? saved.config.train.weights : cfg.weights, store);
    const t0 = performance.now();
    let outcome: RunOutcome;
    if (saved) {
      if (saved.model.fingerprint !== info.fingerprint) throw failure(EXIT.model, `--resume ${resumeDir}: the run trained on other weights than ${modelDir}`);
      await store.putData(saved.id, { records, pairs, init: (await store.getData(saved.id))?.init ?? null });
      outcome = await engine.resumeRun({ runId: saved.id }, progress(p));
    } else {
      if (cfg.maxSeqLength + 1 > info.config.maxPositions) {
        if (p.options.has('max-seq-len')) throw new UsageError(`--max-seq-len ${cfg.maxSeqLength} exceeds the model's context of ${info.config.maxPositions} positions (use at most ${info.config.maxPositions - 1})`);
        cfg.maxSeqLength = info.config.maxPositions - 1; // the default, fitted to a short-context model
      }
      const config: RunConfig = {
        lora, train: cfg, packing: p.flags.has('packing'), assistantOnly: !p.flags.has('all-tokens'),
        evalEvery: num(p, 'eval-every', 0, { min: 0, integer: true }), checkpointEvery: num(p, 'checkpoint-every', 0, { min: 0, integer: true }), earlyStopPatience: 0,
      };
      const name = basename(claim.dir);
      if (pref || grpo) {
        // Preference tuning and GRPO continue an adapter when given one (its own LoRA shape; --dropout replaces its dropout), or start a fresh one.
        const from = start ? await importAdapterFolder(engine, start, p) : null;
        const dropout = from && !p.options.has('dropout') ? from.lora.dropout : lora.dropout;
        const args = { name, config: { ...config, lora: { ...lora, dropout } }, dataset, start: from ? { kind: 'imported' as const, adapterId: from.id } : null };
        outcome = pref ? await engine.startPreferenceRun({ ...args, preference: pref, pairs: pairs! }, progress(p))
          : await engine.startGrpoRun({ ...args, grpo: grpo!, records }, progress(p));
      } else {
        outcome = await engine.startRun({ name, config, records, dataset }, progress(p));
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const run = outcome.run;
    const files = await engine.exportAdapter({ runId: run.id, checkpoint: 'last' });
    dropRunFiles(claim);
    const last = run.metrics.at(-1)!;
    const preference = run.config.preference;
    const summary = {
      steps: run.totalSteps, seconds, finalLoss: last.loss, validationLoss: run.final?.valLoss ?? null,
      examples: run.trainExamples, lora: run.config.lora, train: run.config.train,
      ...(preference ? { preference: { ...preference, rewardsChosen: last.rewardsChosen!, rewardsRejected: last.rewardsRejected!, margins: last.margins!, accuracy: last.accuracy! } } : {}),
      ...(run.config.grpo ? { grpo: grpoSummary(run) } : {}),
    };
    commit(claim, 'peft-adapter', { ...files, 'training_log.json': JSON.stringify({ ...summary, log: run.metrics, ...(preference || run.config.grpo ? {} : { evals: run.evals }) }, null, 2) });
    finished = true;
    // The partial run this one continued is finished: its output is in place.
    if (resumeDir && resolve(resumeDir) === partialOf(claim.dir)) rmSync(resumeDir, { recursive: true, force: true });
    out(p, { ...summary, out: outDir, gpu: info.gpu }, `trained ${summary.steps} steps in ${summary.seconds.toFixed(1)} s; final loss ${summary.finalLoss.toFixed(4)}; adapter written to ${outDir}`);
  } catch (e) {
    const note = keep();
    throw note ? sameClass(new Error(`${errorMessage(e)}; ${note}`), e) : e;
  } finally {
    release();
    if (!finished) abandon(claim);
  }
}

/**
 * The batch evaluation of the Compare screen (src/engine/evaluate.ts) with one model, the base or --adapter:
 * greedy answers scored against each conversation's last assistant turn, and the loss over the same turns.
 */
async function cmdEval(p: Parsed): Promise<void> {
  if (p.options.has('pairs')) return cmdEvalPairs(p);
  const backend = backendOf(p);
  const sampling = { ...samplingFrom(p), temperature: 0 };
  const maxSeqLength = num(p, 'max-seq-len', DEFAULT_TRAIN.maxSeqLength, { min: 2, integer: true });
  const data = await readRecords(p, str(p, 'data'), 'any');
  const { engine, info } = await engineWith(p, weightsOf(p));
  const adapter = await adapterChoice(engine, p);
  const r = await engine.evaluate({ records: data.records, columns: [{ id: 'model', adapter }], chatTemplate: true, sampling, backend, maxSeqLength }, progress(p));
  if (r.error) throw new Error(r.error);
  const tokens = r.tokens.model;
  if (tokens === 0) throw failure(EXIT.data, `nothing to evaluate: none of the ${data.records.length} conversations has an assistant turn within --max-seq-len ${maxSeqLength}`);
  const s = r.summaries.model;
  const loss = s.loss ?? NaN;
  // Pair rows (a rejected answer beside the chosen one) are also scored as preferences, as Compare scores them.
  const preference = batchPreference(r.rows, 'model');
  const res = { gpu: info.gpu, loss, perplexity: Math.exp(loss), tokens, exactMatch: s.exactMatch, rougeL: s.rougeL, averageLength: s.averageLength, cleanStopRate: s.cleanStopRate, examples: s.examples, ...(preference ? { preference } : {}) };
  out(p, res, `loss ${loss.toFixed(4)}  perplexity ${res.perplexity.toFixed(3)}  exact match ${(100 * res.exactMatch).toFixed(1)}%  ROUGE-L ${res.rougeL.toFixed(3)}  length ${res.averageLength.toFixed(1)}  clean stops ${(100 * res.cleanStopRate).toFixed(0)}% of ${s.examples}`
    + (preference ? `; ${preference.pairs} pairs: answers closer to chosen ${(100 * preference.closerToChosen).toFixed(1)}%, log-prob prefers chosen ${(100 * preference.logpAccuracy!).toFixed(1)}% (margin ${preference.logpMargin!.toFixed(3)})` : ''));
}

/** eval --pairs: log-prob preference accuracy (and, with an adapter, against the adapter off) and greedy answers against chosen/rejected. */
async function cmdEvalPairs(p: Parsed): Promise<void> {
  if (p.options.has('data')) throw new UsageError('eval takes --data (conversations) or --pairs (preference pairs), not both');
  const file = str(p, 'pairs');
  if (!existsSync(file)) throw failure(EXIT.data, `pairs file not found: ${file}`);
  const maxSeqLength = num(p, 'max-seq-len', DEFAULT_TRAIN.maxSeqLength, { min: 2, integer: true });
  const sampling = samplingFrom(p);
  const pairs = preferencePairsFromJsonl(readFileSync(file, 'utf8'), file.split('/').pop());
  const { engine, info } = await engineWith(p, weightsOf(p));
  const res = await engine.evaluatePairs({ adapter: await adapterChoice(engine, p), pairs, maxSeqLength, sampling }, progress(p));
  const g = res.generation!;
  out(p, { ...res, gpu: info.gpu }, `${res.pairs} pairs: log-prob prefers chosen ${(100 * res.logpAccuracy).toFixed(1)}% (margin ${res.logpMargin.toFixed(3)})`
    + (res.rewardAccuracy === undefined ? '' : `, vs adapter off ${(100 * res.rewardAccuracy).toFixed(1)}% (margin ${res.rewardMargin!.toFixed(3)})`)
    + `; greedy answer = chosen ${(100 * g.chosenRate).toFixed(1)}%, = rejected ${(100 * g.rejectedRate).toFixed(1)}%`);
}

async function cmdData(p: Parsed): Promise<void> {
  const file = p.positionals[1];
  if (!file) throw new UsageError('usage: data FILE|hub:OWNER/NAME[@REVISION] [--config C] [--split S] [--endpoint URL] [--json]');
  const hub = file.startsWith(HUB_PREFIX) ? await classed(EXIT.data, () => readHubRecords(file, p, (name, bytes) => importBytes(name, bytes))) : null;
  const d = hub ?? await classed(EXIT.data, () => readDataFile(file, readingProgress(p, file)));
  const res = { ...dataReport(file, d), ...(hub && { config: hub.config, split: hub.split, files: hub.files }) };
  // A file that yields no usable record is a failure a script can see (exit 1), said first.
  assertUsable(file, d, res);
  out(p, res, [`${file}: ${d.format}, shape ${d.shape ?? 'unknown'}, ${d.records.length} records of ${d.rows} rows`, ...d.issues.map((i) => `  line ${i.line}: ${i.message}`)].join('\n'));
}

/** The benchmark runs our kernels and the peers in headless Chromium (scripts/bench.mjs), not in Dawn. */
async function cmdBench(p: Parsed): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['scripts/bench.mjs', ...(p.flags.has('quick') ? ['--quick'] : [])], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`bench failed (exit ${r.status})`);
}

const USAGE = 'usage: npm run studio -- <info|generate|train|eval|data|export|push|bench> ... (see README)';

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  const cmd = argv.find((a) => !a.startsWith('--'));
  if (cmd === 'export' && argv.includes('--help')) { console.log(exportUsage()); return; }
  if (!cmd || argv.includes('--help')) { console.log(USAGE); return; }
  const grammar = GRAMMARS[cmd];
  if (!grammar) throw new UsageError(`unknown command "${cmd}". ${USAGE}`);
  const p = parseArgs(argv, grammar);
  json = p.flags.has('json');
  if (['info', 'generate', 'train', 'eval', 'export'].includes(cmd) && !p.positionals[1]) throw new UsageError(`usage: ${cmd} MODEL_DIR ...`);
  if (p.positionals.length > (cmd === 'bench' ? 1 : 2)) throw new UsageError(`unexpected argument "${p.positionals.at(-1)}"`);
  const adapter = p.options.get('adapter')?.at(-1);
  if (adapter) adapterFolder(adapter);
  installStopHandlers();
  switch (cmd) {
    case 'info': return cmdInfo(p);
    case 'generate': return cmdGenerate(p);
    case 'train': return cmdTrain(p);
    case 'eval': return cmdEval(p);
    case 'data': return cmdData(p);
    case 'bench': return cmdBench(p);
    case 'export': {
      const r = await cmdExport(p, { engineWith: () => engineWith(p, undefined), importAdapterFolder: (engine, dir) => importAdapterFolder(engine, dir, p), readRecords: (file) => readRecords(p, file, 'train') });
      return out(p, r.json, r.text);
    }
    case 'push': {
      const r = await cmdPush(p);
      return out(p, r.json, r.text);
    }
  }
}

/** Whether --json was given (known once the arguments parse): a failure then also prints {"error": ...} on stdout. */
let json = false;

function fail(e: unknown): never {
  const message = errorMessage(e);
  if (json) process.stdout.write(`${JSON.stringify({ error: message, ...(e instanceof NoUsableRecords ? e.report : {}) })}\n`);
  process.stderr.write(`error: ${oneLine(message)}\n`);
  process.exit(exitCodeOf(e));
}

// A library that lets a rejection go unobserved (hyparquet on a damaged column chunk) still ends in one line.
process.on('unhandledRejection', fail);
main().then(() => process.exit(0), fail);
