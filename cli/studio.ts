// The studio's command line: the same core as the browser, in Node through Dawn (the `webgpu` package).
//   info MODEL [--json]
//   generate MODEL [--adapter DIR] --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P]
//            [--repetition-penalty R] [--seed S] [--stop STR]... [--raw] [--backend engine|onnx] [--json]
//   train MODEL --data FILE --out DIR [--rank R] [--alpha A] [--dropout P] [--rslora] [--targets q_proj,v_proj]
//            [--lr LR] [--schedule constant|linear|cosine] [--warmup N] [--epochs E] [--max-steps N] [--batch-size B]
//            [--grad-accum N] [--max-seq-len T] [--weight-decay W] [--max-grad-norm G] [--seed S] [--all-tokens] [--json]
//            [--method sft|dpo|orpo [--beta B] [--label-smoothing E] [--reference start|base] [--adapter DIR]]
//            (dpo/orpo: --data is TRL preference JSONL, prompt/chosen/rejected; --adapter starts from an SFT adapter)
//   eval MODEL [--adapter DIR] --data FILE [--max-new-tokens N] [--backend engine|onnx] [--json]
//   data FILE [--json]
//   bench [--quick]            (the benchmark of scripts/bench.mjs: JSON on stdout)
// Every failure exits non-zero with one line on stderr: "error: <what went wrong>".
// --json output is one JSON object on stdout (documented in the README), stable for scripts.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { memorySource } from '../src/data/bytes';
import { importSource } from '../src/data/import';
import type { DatasetRecord } from '../src/data/record';
import { applyPeftAdapter, exportPeftAdapter, loraFromPeftConfig } from '../src/export/peft';
import { promptAndReference, summarize, type Generation } from '../src/eval/metrics';
import type { Decoder } from '../src/generate/decoder';
import { generateAll } from '../src/generate/generate';
import { onnxDecoderOf } from '../src/generate/onnx-decoder';
import { createGpu, type Gpu } from '../src/gpu/runtime';
import { installNodeWebGPU } from '../src/gpu/node';
import { estimateMemory, loadHfModel, parameterCount, stopTokenIds, templateOf, type LoadedModel } from '../src/io/hf';
import { filesFromDirectory } from '../src/io/node-files';
import { DEFAULT_LORA, type LoraConfig } from '../src/model/lora';
import { Transformer, type TrainMode } from '../src/model/transformer';
import { examplesFromRecords } from '../src/tokenize/chat';
import type { Example } from '../src/train/batch';
import { DEFAULT_PREFERENCE, preferencePairsFromJsonl, PreferenceTrainer, tokenizePreference, type PreferenceConfig, type PreferenceMetrics } from '../src/train/preference';
import { DEFAULT_TRAIN, evaluateLoss, Trainer, type StepMetrics, type TrainConfig } from '../src/train/trainer';
import type { LrSchedule } from '../src/train/schedule';
import { list, num, parseArgs, str, type Parsed } from './args';

const FLAGS = ['json', 'raw', 'rslora', 'all-tokens', 'help', 'quick'] as const;

function out(p: Parsed, json: unknown, text: string): void {
  process.stdout.write(p.flags.has('json') ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

async function loadModel(dir: string): Promise<LoadedModel> {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  return loadHfModel(filesFromDirectory(dir));
}

async function buildModel(gpu: Gpu, m: LoadedModel, adapterDir: string | undefined): Promise<Transformer> {
  if (!adapterDir) return new Transformer(gpu, m.config, m.weights, { kind: 'none' });
  const { lora } = loraFromPeftConfig(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'), join(adapterDir, 'adapter_config.json'));
  const model = new Transformer(gpu, m.config, m.weights, { kind: 'lora', lora });
  applyPeftAdapter(model, new Uint8Array(readFileSync(join(adapterDir, 'adapter_model.safetensors'))), join(adapterDir, 'adapter_model.safetensors'));
  return model;
}

async function readRecords(file: string): Promise<{ records: DatasetRecord[]; issues: { line: number; message: string }[]; format: string; shape: string | null; rows: number }> {
  if (!existsSync(file)) throw new Error(`data file not found: ${file}`);
  const name = file.split('/').pop()!;
  const r = await importSource(memorySource(name, new Uint8Array(readFileSync(file))));
  if (r.needsMapping) throw new Error(`${name}: could not detect the dataset shape (columns: ${r.needsMapping.columns.join(', ')})`);
  return {
    records: r.records, rows: r.rowsRead, format: r.context.format, shape: r.context.shape,
    issues: r.issues.map((i) => ({ line: i.line, message: `${i.severity}: ${i.reason}` })),
  };
}

function samplingFrom(p: Parsed) {
  return {
    temperature: num(p, 'temperature', 0), topK: num(p, 'top-k', 0), topP: num(p, 'top-p', 1),
    repetitionPenalty: num(p, 'repetition-penalty', 1), seed: num(p, 'seed', 0),
    maxNewTokens: num(p, 'max-new-tokens', 64), stopStrings: list(p, 'stop'),
  };
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

function promptIds(m: LoadedModel, prompt: string, raw: boolean): number[] {
  if (raw) return m.tokenizer.encode(prompt, { addSpecialTokens: true });
  const text = templateOf(m).render([{ role: 'user', content: prompt }], { addGenerationPrompt: true });
  return m.tokenizer.encode(text, { addSpecialTokens: false });
}

async function cmdInfo(p: Parsed): Promise<void> {
  const m = await loadModel(p.positionals[1]);
  const params = parameterCount(m.config);
  const mem = estimateMemory(m.config, { training: true, loraRank: DEFAULT_LORA.rank, batchTokens: 4 * 512 });
  const info = {
    config: m.config, parameters: params, trainingMemoryBytes: mem.bytes,
    vocabSize: m.tokenizer.vocabSize, chatTemplate: m.chatTemplate !== null, endOfTurn: templateOf(m).endOfTurn,
  };
  out(p, info, [
    `${m.config.modelType} (${m.config.architecture}): ${m.config.numLayers} layers, hidden ${m.config.hiddenSize}, heads ${m.config.numHeads}/${m.config.numKvHeads}, vocab ${m.config.vocabSize}`,
    `parameters: ${params.toLocaleString('en')}`,
    `chat template: ${m.chatTemplate ? `yes (end of turn ${JSON.stringify(info.endOfTurn)})` : 'none (plain fallback)'}`,
    `training memory (LoRA r=${DEFAULT_LORA.rank}, 4×512 tokens): ${(mem.bytes / 2 ** 20).toFixed(1)} MiB`,
  ].join('\n'));
}

async function cmdGenerate(p: Parsed): Promise<void> {
  const backend = backendOf(p);
  const m = await loadModel(p.positionals[1]);
  const gpu = await createGpu();
  const model = await buildModel(gpu, m, p.options.get('adapter')?.at(-1));
  const ids = promptIds(m, str(p, 'prompt'), p.flags.has('raw'));
  const decoder = await decoderFor(backend, model);
  const t0 = performance.now();
  const r = await generateAll(decoder, ids, { ...samplingFrom(p), stopTokenIds: stopTokenIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }) });
  const seconds = (performance.now() - t0) / 1000;
  out(p, { text: r.text, tokens: r.tokens, finishReason: r.finishReason, tokensPerSecond: r.tokens.length / seconds }, r.text);
}

function examplesFrom(m: LoadedModel, records: DatasetRecord[], maxSeqLength: number, assistantOnly: boolean): Example[] {
  return examplesFromRecords(m.tokenizer, templateOf(m), records, { assistantOnly, maxSeqLength });
}

/** --method dpo|orpo: the preference settings, or null for SFT. */
function preferenceFrom(p: Parsed): PreferenceConfig | null {
  const method = str(p, 'method', 'sft');
  if (method === 'sft') return null;
  if (method !== 'dpo' && method !== 'orpo') throw new Error(`--method must be sft, dpo or orpo, not ${method}`);
  const reference = str(p, 'reference', DEFAULT_PREFERENCE.reference);
  if (reference !== 'start' && reference !== 'base') throw new Error(`--reference must be start or base, not ${reference}`);
  return { method, reference, beta: num(p, 'beta', DEFAULT_PREFERENCE.beta), labelSmoothing: num(p, 'label-smoothing', 0) };
}

async function cmdTrain(p: Parsed): Promise<void> {
  const m = await loadModel(p.positionals[1]);
  const outDir = str(p, 'out');
  const pref = preferenceFrom(p);
  const dataFile = str(p, 'data');
  const data = pref ? null : await readRecords(dataFile);
  const train = data ? data.records.filter((r) => r.split === 'train') : [];
  const lora: LoraConfig = {
    rank: num(p, 'rank', DEFAULT_LORA.rank), alpha: num(p, 'alpha', DEFAULT_LORA.alpha), dropout: num(p, 'dropout', 0),
    useRslora: p.flags.has('rslora'),
    targetModules: p.options.has('targets') ? str(p, 'targets').split(',').map((s) => s.trim()).filter(Boolean) : DEFAULT_LORA.targetModules,
  };
  const cfg: TrainConfig = {
    ...DEFAULT_TRAIN,
    lr: num(p, 'lr', DEFAULT_TRAIN.lr), schedule: str(p, 'schedule', DEFAULT_TRAIN.schedule) as LrSchedule,
    warmupSteps: num(p, 'warmup', 0), epochs: num(p, 'epochs', 1), maxSteps: num(p, 'max-steps', 0),
    batchSize: num(p, 'batch-size', DEFAULT_TRAIN.batchSize), gradAccumSteps: num(p, 'grad-accum', 1),
    maxSeqLength: num(p, 'max-seq-len', DEFAULT_TRAIN.maxSeqLength), weightDecay: num(p, 'weight-decay', 0),
    maxGradNorm: num(p, 'max-grad-norm', 1), seed: num(p, 'seed', DEFAULT_TRAIN.seed),
  };
  if (!['constant', 'linear', 'cosine'].includes(cfg.schedule)) throw new Error(`--schedule must be constant, linear or cosine`);
  const gpu = await createGpu();
  const padId = m.tokenizer.padTokenId ?? 0;
  let model: Transformer, trainer: { done: boolean; totalSteps: number; step(): Promise<StepMetrics | PreferenceMetrics> }, examples: number;
  if (pref) {
    // Preference tuning continues an adapter when given one (its own LoRA settings), or starts a fresh one.
    if (!existsSync(dataFile)) throw new Error(`data file not found: ${dataFile}`);
    const pairs = preferencePairsFromJsonl(readFileSync(dataFile, 'utf8'), dataFile.split('/').pop());
    const tokenized = pairs.map((pair) => tokenizePreference(m.tokenizer, templateOf(m), pair, cfg.maxSeqLength));
    const start = p.options.get('adapter')?.at(-1);
    if (start && resolve(start) === resolve(outDir)) throw new Error('--out must not be the --adapter folder the run starts from');
    model = start ? await buildModel(gpu, m, start) : new Transformer(gpu, m.config, m.weights, { kind: 'lora', lora }, cfg.seed);
    trainer = new PreferenceTrainer(model, tokenized, cfg, pref, padId);
    examples = pairs.length;
  } else {
    if (p.options.has('adapter')) throw new Error('--adapter (an adapter to continue) is for --method dpo or orpo');
    const sft = examplesFrom(m, train, cfg.maxSeqLength, !p.flags.has('all-tokens'));
    const mode: TrainMode = { kind: 'lora', lora };
    model = new Transformer(gpu, m.config, m.weights, mode, cfg.seed);
    trainer = new Trainer(model, sft, cfg, padId);
    examples = sft.length;
  }
  const log: unknown[] = [];
  const t0 = performance.now();
  while (!trainer.done) {
    const s = await trainer.step();
    log.push(s);
    if (!p.flags.has('json')) process.stderr.write(`step ${s.step}/${trainer.totalSteps} loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(2)} grad-norm ${s.gradNorm.toFixed(3)}${'margins' in s ? ` margin ${s.margins.toFixed(4)} accuracy ${s.accuracy.toFixed(2)}` : ''}\n`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const val = data ? data.records.filter((r) => r.split === 'validation') : [];
  const valLoss = val.length ? (await evaluateLoss(model, examplesFrom(m, val, cfg.maxSeqLength, true), cfg.batchSize, cfg.maxSeqLength)).loss : null;
  // Write into a temporary folder and swap it in, so a failed export leaves the previous one intact.
  const files = await exportPeftAdapter(model, p.positionals[1]);
  const tmp = `${outDir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'adapter_model.safetensors'), files['adapter_model.safetensors']);
  writeFileSync(join(tmp, 'adapter_config.json'), files['adapter_config.json']);
  const last = log.at(-1) as StepMetrics | PreferenceMetrics;
  const preference = pref && 'margins' in last
    ? { ...pref, rewardsChosen: last.rewardsChosen, rewardsRejected: last.rewardsRejected, margins: last.margins, accuracy: last.accuracy } : null;
  const summary = { steps: trainer.totalSteps, seconds, finalLoss: last.loss, validationLoss: valLoss, examples, lora: model.mode.kind === 'lora' ? model.mode.lora : lora, train: cfg, ...(preference ? { preference } : {}) };
  writeFileSync(join(tmp, 'training_log.json'), JSON.stringify({ ...summary, log }, null, 2));
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
  out(p, { ...summary, out: outDir }, `trained ${trainer.totalSteps} steps in ${seconds.toFixed(1)} s; final loss ${summary.finalLoss.toFixed(4)}; adapter written to ${outDir}`);
}

async function cmdEval(p: Parsed): Promise<void> {
  const backend = backendOf(p);
  const m = await loadModel(p.positionals[1]);
  const data = await readRecords(str(p, 'data'));
  const gpu = await createGpu();
  const model = await buildModel(gpu, m, p.options.get('adapter')?.at(-1));
  const maxSeqLength = num(p, 'max-seq-len', DEFAULT_TRAIN.maxSeqLength);
  const { loss, tokens } = await evaluateLoss(model, examplesFrom(m, data.records, maxSeqLength, true), 4, maxSeqLength);
  // Greedy answer to the conversation up to its last assistant turn, scored against that turn's content by the
  // metrics the Compare screen's batch evaluation uses (src/eval/metrics.ts).
  const tpl = templateOf(m);
  const decoder = await decoderFor(backend, model);
  const pairs: { output: Generation; reference: string }[] = [];
  for (const r of data.records) {
    const pr = promptAndReference(r.messages);
    if (!pr) continue;
    const ids = m.tokenizer.encode(tpl.render(pr.prompt, { addGenerationPrompt: true }), { addSpecialTokens: false });
    const g = await generateAll(decoder, ids, { ...samplingFrom(p), temperature: 0, stopTokenIds: stopTokenIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }) });
    pairs.push({ output: g, reference: pr.reference });
  }
  const s = summarize(pairs, loss);
  const res = { loss, perplexity: Math.exp(loss), tokens, exactMatch: s.exactMatch, rougeL: s.rougeL, averageLength: s.averageLength, cleanStopRate: s.cleanStopRate, examples: s.examples };
  out(p, res, `loss ${loss.toFixed(4)}  perplexity ${res.perplexity.toFixed(3)}  exact match ${(100 * res.exactMatch).toFixed(1)}%  ROUGE-L ${res.rougeL.toFixed(3)}  length ${res.averageLength.toFixed(1)}  clean stops ${(100 * res.cleanStopRate).toFixed(0)}% of ${s.examples}`);
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

const USAGE = 'usage: npm run studio -- <info|generate|train|eval|data|bench> ... (see README)';

async function main(): Promise<void> {
  const p = parseArgs(process.argv.slice(2), FLAGS);
  const cmd = p.positionals[0];
  if (!cmd || p.flags.has('help')) { console.log(USAGE); return; }
  if (['info', 'generate', 'train', 'eval'].includes(cmd) && !p.positionals[1]) throw new Error(`usage: ${cmd} MODEL_DIR ...`);
  if (!['data', 'info', 'bench'].includes(cmd)) await installNodeWebGPU();
  switch (cmd) {
    case 'info': return cmdInfo(p);
    case 'generate': return cmdGenerate(p);
    case 'train': return cmdTrain(p);
    case 'eval': return cmdEval(p);
    case 'data': return cmdData(p);
    case 'bench': return cmdBench(p);
    default: throw new Error(`unknown command "${cmd}". ${USAGE}`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`error: ${(e as Error).message ?? String(e)}\n`);
    process.exit(1);
  },
);
