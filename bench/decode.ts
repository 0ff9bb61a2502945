// Decode tokens/s on the embedded default model, for both drivers: scripts/bench-decode.ts (Node, which adds
// transformers on the CPU) and the bench page in Chromium (harness.ts `decode`). All cases in one run, on one adapter:
//  - ours (src/generate/batch.ts, stepPath 'auto'): one sequence (`engine`, what generate() runs) and B = 1, 8, 32
//    sequences of the same prompt (`engineBatch{B}`); on a software adapter this small f32 model decodes on the CPU
//    from the one-dispatch step's pack (src/generate/cpu-decode.ts), on a GPU up to DECODE_STEP_MAX_BATCH sequences
//    take the one-dispatch step (src/ops/decode-step.ts). Then one sequence on each GPU path by name: `engineFused`
//    (one dispatch a step) and `engineLayers` (kernel by kernel); and `engineBefore`, the loop the engine ran before
//    batching (a forward per token, full logits read back, the CPU sampler: generate() over transformerDecoder);
//  - the peers the driver passes: onnxruntime-web on the ONNX export of the same weights through the same loop,
//    one case per execution provider that starts here (else its error, under `errors`).
// Each case generates newTokens greedy tokens per sequence after the same prompt with stops off; tokens/s = new tokens
// / wall time of the whole call (prefill included). Every case is warmed up (untimed), then timed round-robin (one
// run of each per round, so load from other processes falls on all alike); median and best round. `sameTokens`:
// the case produced the engine's greedy tokens.
import { generateBatch } from '../src/generate/batch';
import { transformerDecoder } from '../src/generate/decoder';
import { generateAll, type GenerateOptions } from '../src/generate/generate';
import { onnxGraph } from '../src/generate/onnx-graph';
import { OnnxDecoder } from '../src/generate/onnx-decoder';
import { GREEDY } from '../src/generate/sampler';
import type { Gpu } from '../src/gpu/runtime';
import { loadHfModel } from '../src/io/hf';
import type { ModelFiles } from '../src/io/model-files';
import { Transformer } from '../src/model/transformer';

const DECODE_PROMPT = 'Calder lives in Tarn. Calder is a';
const BATCHES = [1, 8, 32];

/** A peer decoder: onnxruntime-web (the module the driver loaded) on one execution provider. */
export interface DecodePeer {
  name: string;
  ort: Parameters<typeof OnnxDecoder.create>[0];
  executionProviders: string[];
}

export interface DecodeCase {
  sequences: number;
  tokensPerSecond: number;
  bestTokensPerSecond: number;
  ms: number[];
  sameTokens: boolean;
}

export interface DecodeResult {
  model: string;
  prompt: string;
  promptIds: number[];
  newTokens: number;
  rounds: number;
  /** The engine's greedy tokens, which every case is checked against. */
  tokens: number[];
  cases: Record<string, DecodeCase>;
  /** Peers that did not start here, with their errors. */
  errors: Record<string, string>;
  ratios: Record<string, number>;
}

/** Median and best tokens/s of timed runs making `tokens` new tokens each. */
function decodeSummary(ms: number[], tokens: number): Pick<DecodeCase, 'tokensPerSecond' | 'bestTokensPerSecond' | 'ms'> {
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return { tokensPerSecond: +(tokens / (median / 1000)).toFixed(1), bestTokensPerSecond: +(tokens / (sorted[0] / 1000)).toFixed(1), ms: ms.map((t) => +t.toFixed(1)) };
}

export async function benchDecode(
  gpu: Gpu, files: ModelFiles, peers: DecodePeer[], opts: { rounds: number; newTokens: number; log?: (s: string) => void },
): Promise<DecodeResult> {
  const log = opts.log ?? (() => {});
  const def = await loadHfModel(files);
  const model = new Transformer(gpu, def.config, def.weights, { kind: 'none' });
  const ids = def.tokenizer.encode(DECODE_PROMPT, { addSpecialTokens: true });
  const gen: GenerateOptions = { ...GREEDY, maxNewTokens: opts.newTokens, stopTokenIds: [], stopStrings: [] };
  const graph = await onnxGraph(model);
  const errors: Record<string, string> = {};
  const decoders: { name: string; decoder: OnnxDecoder }[] = [];
  for (const p of peers) {
    try {
      decoders.push({ name: p.name, decoder: await OnnxDecoder.create(p.ort, graph, def.config, { executionProviders: p.executionProviders }) });
    } catch (e) {
      errors[p.name] = String((e as Error).message ?? e).split('\n')[0].slice(0, 300);
    }
  }
  const one = (d: Parameters<typeof generateAll>[0]) => async () => [(await generateAll(d, ids, gen)).tokens];
  const batch = (B: number, stepPath?: 'fused' | 'layers') => async () => (await generateBatch(model, Array(B).fill(ids), { ...gen, stepPath })).map((r) => r.tokens);
  const cases: { name: string; sequences: number; run: () => Promise<number[][]> }[] = [
    { name: 'engine', sequences: 1, run: one(model) },
    ...BATCHES.map((B) => ({ name: `engineBatch${B}`, sequences: B, run: batch(B) })),
    { name: 'engineFused', sequences: 1, run: batch(1, 'fused') },
    { name: 'engineLayers', sequences: 1, run: batch(1, 'layers') },
    { name: 'engineBefore', sequences: 1, run: one(transformerDecoder(model)) },
    ...decoders.map(({ name, decoder }) => ({ name, sequences: 1, run: one(decoder) })),
  ];
  try {
    const tokens = new Map<string, number[][]>();
    for (const c of cases) { log(`warm-up ${c.name}`); tokens.set(c.name, await c.run()); }
    const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
    for (let r = 0; r < opts.rounds; r++) {
      log(`round ${r + 1}/${opts.rounds}`);
      for (const c of cases) {
        const t0 = performance.now();
        await c.run();
        times.get(c.name)!.push(performance.now() - t0);
      }
    }
    const want = tokens.get('engine')![0];
    const out: Record<string, DecodeCase> = {};
    for (const c of cases) {
      out[c.name] = { sequences: c.sequences, ...decodeSummary(times.get(c.name)!, c.sequences * opts.newTokens), sameTokens: tokens.get(c.name)!.every((t) => t.join() === want.join()) };
    }
    const tps = (name: string) => out[name]?.tokensPerSecond;
    const ratios: Record<string, number> = {};
    const ratio = (key: string, a: number | undefined, b: number | undefined) => { if (a && b) ratios[key] = +(a / b).toFixed(2); };
    for (const { name } of decoders) {
      ratio(`engineVs${name[0].toUpperCase()}${name.slice(1)}`, tps('engine'), tps(name));
      ratio(`engineFusedVs${name[0].toUpperCase()}${name.slice(1)}`, tps('engineFused'), tps(name));
    }
    ratio('engineVsBefore', tps('engine'), tps('engineBefore'));
    ratio('engineVsLayers', tps('engine'), tps('engineLayers'));
    ratio('batch32VsSingle', tps('engineBatch32'), tps('engine'));
    return { model: files.name, prompt: DECODE_PROMPT, promptIds: ids, newTokens: opts.newTokens, rounds: opts.rounds, tokens: want, cases: out, errors, ratios };
  } finally {
    for (const { decoder } of decoders) await decoder.release();
    model.destroy();
  }
}
