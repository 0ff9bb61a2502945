// GRPO step time on the embedded default model, printed as JSON (stdout; progress on stderr), both in one run:
//  - batched: the engine's sampling (src/engine/sample-groups.ts: the step's P × G answers decoded as one batch),
//  - oneByOne: the sampling GRPO had before it, each answer its own generation (generateAll, one sequence at a time),
// each driving its own GrpoTrainer (same seed, same prompts: the held-out preference prompts, G answers each, the
// built-in "ends cleanly" reward) through the same steps, round-robin (one step of each per round, so load from other
// processes falls on both alike). Reported: the median and best step time and the median sampling time per step.
// Usage: node scripts/run-gpu.mjs scripts/bench-grpo-step.ts [--steps N] [--generations G] [--prompts P] [--max-new-tokens N]
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { sampleGroupsWith } from '../src/engine/sample-groups';
import { generateAll } from '../src/generate/generate';
import { installNodeWebGPU } from '../src/gpu/node';
import { createGpu } from '../src/gpu/runtime';
import { loadHfModel, stopTokenIds, templateOf } from '../src/io/hf';
import { filesFromDirectory } from '../src/io/node-files';
import { Transformer } from '../src/model/transformer';
import { autotune } from '../src/ops/autotune';
import { DEFAULT_GRPO, GrpoTrainer, tokenizeGrpoPrompt, type SampleGroups } from '../src/train/grpo';
import { preferencePairsFromJsonl } from '../src/train/preference-pairs';
import { presetFor } from '../src/train/presets';
import { RewardScorer } from '../src/train/rewards';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const STEPS = arg('steps', 5), G = arg('generations', 8), P = arg('prompts', 4), MAX_NEW = arg('max-new-tokens', 32);
const log = (...a: unknown[]) => console.error('[bench-grpo-step]', ...a);

/** The sampling before batching: every answer alone, seeded seed + its index in the generation batch. */
function oneByOne(model: Transformer, decode: (ids: number[]) => string, stops: number[]): SampleGroups {
  return async (prompts, g, opts) => {
    const out = [];
    for (const [i, prompt] of prompts.entries()) {
      const group = [];
      for (let k = 0; k < g; k++) {
        const r = await generateAll(model, prompt, { ...opts, repetitionPenalty: 1, seed: (opts.seed + i * g + k) >>> 0, stopTokenIds: stops, stopStrings: [], decode });
        group.push({ ids: r.tokens, text: r.text, finishReason: r.finishReason === 'stop-token' ? 'stop-token' as const : 'length' as const });
      }
      out.push(group);
    }
    return out;
  };
}

async function main(): Promise<void> {
  await installNodeWebGPU();
  const gpu = await createGpu();
  await autotune(gpu);
  const m = await loadHfModel(filesFromDirectory('public/models/default'));
  const { lora, train } = presetFor('quick', m.config);
  const cfg = { ...train, batchSize: P * G, gradAccumSteps: 1, maxSteps: STEPS * 2, seed: 7 };
  const grpo = { ...DEFAULT_GRPO, numGenerations: G, maxNewTokens: MAX_NEW };
  const pairs = preferencePairsFromJsonl(readFileSync('public/samples/world-pref.eval.jsonl', 'utf8'), 'world-pref.eval.jsonl');
  const prompts = pairs.map((p) => tokenizeGrpoPrompt(m.tokenizer, templateOf(m), [...p.prompt, ...p.chosen], MAX_NEW, cfg.maxSeqLength));
  const decode = (ids: number[]) => m.tokenizer.decode(ids);
  const rewards = await RewardScorer.open(grpo.rewards, null);
  const cases = ['batched', 'oneByOne'].map((name) => {
    const net = new Transformer(gpu, m.config, m.weights, { kind: 'lora', lora }, cfg.seed);
    const inner = name === 'batched' ? sampleGroupsWith(net, decode, stopTokenIds(m)) : oneByOne(net, decode, stopTokenIds(m));
    const sampling: number[] = [];
    const timed: SampleGroups = async (...a) => {
      const t = performance.now();
      const r = await inner(...a);
      sampling.push(performance.now() - t);
      return r;
    };
    return { name, net, sampling, steps: [] as number[], lengths: [] as number[], trainer: new GrpoTrainer(net, prompts, cfg, grpo, timed, rewards, m.tokenizer.padTokenId ?? 0) };
  });
  // A warm-up step each (pipelines compile), untimed.
  for (const c of cases) { await c.trainer.step(); c.sampling.length = 0; }
  for (let round = 0; round < STEPS; round++) {
    for (const c of cases) {
      const t = performance.now();
      const s = await c.trainer.step();
      c.steps.push(performance.now() - t);
      c.lengths.push(s.completionLength);
    }
    log(`round ${round + 1}/${STEPS}: ${cases.map((c) => `${c.name} ${c.steps.at(-1)!.toFixed(0)} ms`).join(', ')}`);
  }
  rewards.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = Object.fromEntries(cases.map((c) => [c.name, {
    stepMs: +median(c.steps).toFixed(0), bestStepMs: +Math.min(...c.steps).toFixed(0), samplingMs: +median(c.sampling).toFixed(0),
    meanAnswerTokens: +(c.lengths.reduce((a, b) => a + b, 0) / c.lengths.length).toFixed(1), steps: c.steps.map((t) => +t.toFixed(0)),
  }]));
  process.stdout.write(`${JSON.stringify({
    adapter: gpu.adapterInfo, software: gpu.isSoftware, cpus: cpus().length, loadAverage: loadavg()[0],
    setup: { prompts: P, generations: G, answers: P * G, maxNewTokens: MAX_NEW, steps: STEPS },
    ...result, speedup: +(result.oneByOne.stepMs / result.batched.stepMs).toFixed(2), samplingSpeedup: +(result.oneByOne.samplingMs / result.batched.samplingMs).toFixed(2),
  })}\n`);
  for (const c of cases) c.net.destroy();
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
