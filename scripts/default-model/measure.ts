// Measures what the default model is for: it knows the world's facts as prose but does not answer
// questions, and the "quick" LoRA preset on the SFT sample teaches it the question/answer format, which then
// carries over to people the SFT data never asks about.
//   1. knowledge probe (base): held-out prompts in prose form ("Mira lives in") → does greedy completion
//      state the right fact? Shows the knowledge is there before tuning.
//   2. exact match of the base model on the held-out evaluation set (chat template, greedy, stop at end of turn)
//   3. the studio's quick preset on the SFT sample, curated as the studio would: the malformed line is
//      skipped by the importer, duplicates, empty answers and examples longer than the sequence are dropped
//   4. exact match of the tuned model on the same held-out set
// Exact match = the generated text, trimmed, equals the reference answer, trimmed (as `studio eval`).
// With --preference, the lesson's next stage on the tuned model (npm run measure-preference):
//   5. before: on the held-out preference pairs (world-pref.eval.jsonl, people no training file asks about), the
//      preference rate = share of prompts whose greedy answer names the person's home town (has the chosen
//      answer's town sentence), the share whose answer is exactly the chosen one, and the knowledge = share of all
//      held-out questions (world-qa.eval.jsonl) whose greedy answer states the correct fact (and states it first)
//   6. DPO (+ RPO's NLL term) on world-pref.train.jsonl continuing the SFT adapter (reference: the SFT model, as
//      the run starts), and ORPO the same way from the same SFT adapter (--no-orpo leaves it out)
//   7. the same two rates after each, plus the log-prob preference accuracy on the held-out pairs (src/eval/preference.ts)
// With --grpo, the third stage on the tuned model (npm run measure-grpo): reinforcement learning with a reward a program
// checks, GRPO (src/train/grpo.ts) with the built-in exact-match reward (the answer, trimmed and normalised, equals the
// row's reference answer: the world's fact sentence, so checking needs no judge):
//   8. before: on the held-out questions (world-qa.eval.jsonl, people no training file asks about), the reward rate =
//      the share of G answers per question, sampled as the run samples (its temperature, fixed seeds), that earn the
//      reward; and the facts = the SFT stage's greedy exact match on the same questions
//   9. GRPO from the SFT adapter (fresh optimizer moments) on the SFT file's questions, their answers as references
//  10. the same two figures after it, and the exact-match rate of the training prompts' samples (fixed seeds), which
//      is what settings were chosen on
//
// Usage: node scripts/run-gpu.mjs scripts/default-model/measure.ts [--model DIR] [--data FILE] [--eval FILE]
//        [--steps N] [--json] [--preference [--pref-steps N] [--rpo-alpha A] [--no-orpo]] [--grpo [--grpo-steps N] [--grpo-lr LR] [--grpo-temperature T]
//        [--grpo-reward exact|fact+stop|fact-then-stop] [--grpo-beta B] [--grpo-batch ANSWERS] [--grpo-iterations MU]]
import { readFileSync } from 'node:fs';
import { memorySource } from '../../src/data/bytes';
import { importSource } from '../../src/data/import';
import type { ChatMessage } from '../../src/data/types';
import { evaluatePreference, answerText } from '../../src/eval/preference';
import { normalizeAnswer } from '../../src/eval/metrics';
import { generateAll } from '../../src/generate/generate';
import { sampleGroupsWith } from '../../src/engine/sample-groups';
import { createGpu } from '../../src/gpu/runtime';
import { installNodeWebGPU } from '../../src/gpu/node';
import { loadHfModel, type LoadedModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import type { LoraConfig } from '../../src/model/lora';
import { Transformer } from '../../src/model/transformer';
import { examplesFromRecords } from '../../src/tokenize/loss-mask';
import { presetFor } from '../../src/train/presets';
import { Trainer, type TrainConfig } from '../../src/train/trainer';
import { DEFAULT_GRPO, GrpoTrainer, tokenizeGrpoPrompt, type GrpoConfig } from '../../src/train/grpo';
import { RewardScorer, type RewardSpec } from '../../src/train/rewards';
import { openNodeSandbox } from '../../src/train/rewards-node';
import { DEFAULT_PREFERENCE, PreferenceTrainer, type PreferenceConfig } from '../../src/train/preference';
import { preferencePairsFromJsonl, tokenizePreference, type PreferencePair } from '../../src/train/preference-pairs';

/** The studio's "quick" preset for this model (src/train/presets.ts: tiny models get every linear and a high LR). */
function quickPreset(m: LoadedModel): { lora: LoraConfig; train: TrainConfig } {
  const { lora, train } = presetFor('quick', m.config);
  return { lora, train };
}

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

async function conversations(file: string): Promise<ChatMessage[][]> {
  const r = await importSource(memorySource(file.split('/').pop()!, new Uint8Array(readFileSync(file))));
  return r.records.map((x) => x.messages);
}

/** Stop at EOS and at the template's end-of-turn token. */
function stopIds(m: LoadedModel): number[] {
  const eot = m.chatTemplate?.endOfTurn ? m.tokenizer.tokenToId(m.chatTemplate.endOfTurn) : undefined;
  return [...new Set([m.tokenizer.eosTokenId, eot].filter((x): x is number => typeof x === 'number'))];
}

async function answer(model: Transformer, m: LoadedModel, ids: number[], maxNewTokens = 16): Promise<string> {
  const g = await generateAll(model, ids, {
    temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens, stopStrings: [],
    stopTokenIds: stopIds(m), decode: (x) => m.tokenizer.decode(x, { skipSpecialTokens: true }),
  });
  return g.text.trim();
}

export async function exactMatch(model: Transformer, m: LoadedModel, convs: ChatMessage[][]): Promise<{ score: number; samples: { q: string; want: string; got: string }[] }> {
  let hits = 0;
  const samples: { q: string; want: string; got: string }[] = [];
  for (const c of convs) {
    const prompt = m.tokenizer.encode(m.chatTemplate!.render(c.slice(0, -1), { addGenerationPrompt: true }), { addSpecialTokens: false });
    const want = c[c.length - 1].content.trim();
    // A generation that has not stopped 2 tokens past the reference's length cannot match it.
    const got = await answer(model, m, prompt, m.tokenizer.encode(want, { addSpecialTokens: false }).length + 2);
    if (got === want) hits++;
    samples.push({ q: c[0].content, want, got });
  }
  return { score: hits / convs.length, samples };
}

/** Prose probe: the answer sentence cut before its last word, completed greedily without any template. */
async function knowledge(model: Transformer, m: LoadedModel, convs: ChatMessage[][]): Promise<number> {
  let hits = 0;
  for (const c of convs) {
    const want = c[c.length - 1].content.trim();
    const cut = want.lastIndexOf(' ');
    const got = await answer(model, m, m.tokenizer.encode(want.slice(0, cut), { addSpecialTokens: false }), 3);
    if (got.startsWith(want.slice(cut + 1, -1))) hits++;
  }
  return hits / convs.length;
}

/**
 * The lesson's DPO settings: β as TRL's default, RPO's NLL term on the chosen answers (α 1), a third of the SFT
 * run's learning rate, a short constant run. Without the NLL term (--rpo-alpha 0) DPO wins on the training pairs by
 * pushing the end of turn down everywhere: the held-out answers run on in prose and the facts suffer.
 */
const DPO: PreferenceConfig = { ...DEFAULT_PREFERENCE, method: 'dpo', beta: 0.1, reference: 'start', rpoAlpha: 1 };
const DPO_TRAIN = { lr: 1e-3, schedule: 'constant', warmupSteps: 0, maxSteps: 30, batchSize: 8 } as const;
/**
 * ORPO beside it, from the same SFT adapter with the same run (lr, steps, batch): λ as TRL's default; its NLL term on
 * the chosen answers is built in, so it needs neither RPO's term nor a reference model.
 */
const ORPO: PreferenceConfig = { ...DEFAULT_PREFERENCE, method: 'orpo', beta: 0.1 };

/** Has the answer the chosen side's extra sentence (the home town)? Both answers start with the same fact. */
const namesTown = (pair: PreferencePair, answer: string): boolean =>
  answer.includes(answerText(pair.chosen).slice(answerText(pair.rejected).length).trim());

/**
 * Knowledge on all held-out questions: the share whose greedy answer states the correct fact sentence anywhere
 * (extra sentences allowed: the preferred answers add one), the share that states it first, and the misses.
 */
async function knowledgeKept(model: Transformer, m: LoadedModel, convs: ChatMessage[][]): Promise<{ states: number; first: number; misses: { want: string; got: string }[] }> {
  const misses = [];
  let first = 0;
  for (const c of convs) {
    const want = normalizeAnswer(c[c.length - 1].content);
    const got = normalizeAnswer(await chatAnswer(model, m, c.slice(0, -1), 32));
    if (got.startsWith(want)) first++;
    if (!got.includes(want)) misses.push({ want, got });
  }
  return { states: 1 - misses.length / convs.length, first: first / convs.length, misses };
}

async function chatAnswer(model: Transformer, m: LoadedModel, prompt: ChatMessage[], maxNewTokens: number): Promise<string> {
  return answer(model, m, m.tokenizer.encode(m.chatTemplate!.render(prompt, { addGenerationPrompt: true }), { addSpecialTokens: false }), maxNewTokens);
}

async function preferenceStage(sftModel: Transformer, m: LoadedModel, heldOut: ChatMessage[][], sft: TrainConfig, log: (s: string) => void) {
  if (sftModel.mode.kind !== 'lora') throw new Error('the preference stage continues the SFT adapter');
  const read = (f: string) => preferencePairsFromJsonl(readFileSync(f, 'utf8'), f);
  const train = read(arg('pref-data', 'public/samples/world-pref.train.jsonl'));
  const held = read(arg('pref-eval', 'public/samples/world-pref.eval.jsonl'));
  const cfg: TrainConfig = { ...sft, ...DPO_TRAIN, maxSteps: Number(arg('pref-steps', String(DPO_TRAIN.maxSteps))) };
  const padId = m.tokenizer.padTokenId ?? 0;
  const tok = (ps: PreferencePair[]) => ps.map((p) => tokenizePreference(m.tokenizer, m.chatTemplate!, p, cfg.maxSeqLength));
  const [trainEx, heldEx] = [tok(train), tok(held)];
  const measureNow = async (model: Transformer, when: string) => {
    const answers: string[] = [];
    const pref = await evaluatePreference(model, held, heldEx, {
      batchSize: cfg.batchSize, maxSeqLength: cfg.maxSeqLength, padId, property: namesTown,
      answer: async (prompt) => { answers.push(await chatAnswer(model, m, prompt, 32)); return answers.at(-1)!; },
    });
    const knowledge = await knowledgeKept(model, m, heldOut);
    log(`${when}: e.g. ${JSON.stringify(answers.slice(0, 3))}; knowledge misses ${JSON.stringify(knowledge.misses.slice(0, 4))}`);
    return {
      preferenceRate: pref.generation!.propertyRate!, chosenExact: pref.generation!.chosenRate, logpAccuracy: pref.logpAccuracy,
      logpMargin: pref.logpMargin, knowledge: knowledge.states, factFirst: knowledge.first,
    };
  };
  const before = await measureNow(sftModel, 'SFT');
  log(`SFT model on ${held.length} held-out pairs: ${JSON.stringify(before)}`);
  // Each method starts from the SFT adapter's values with fresh optimizer moments, as `train --method dpo|orpo
  // --adapter` and the engine start it (the SFT run's AdamW moments are not part of an adapter).
  const run = async (pref: PreferenceConfig) => {
    const model = new Transformer(sftModel.gpu, m.config, m.weights, sftModel.mode, sft.seed);
    for (const [name, values] of await sftModel.params.readTrainable()) model.gpu.write(model.params.get(name), values);
    const trainer = new PreferenceTrainer(model, trainEx, cfg, pref, padId);
    const t = performance.now();
    const steps = [];
    while (!trainer.done) {
      const s = await trainer.step();
      steps.push(s);
      if (s.step % 5 === 0 || s.step === 1) log(`${pref.method} step ${s.step}/${trainer.totalSteps} loss ${s.loss.toFixed(4)} margin ${s.margins.toFixed(3)} accuracy ${s.accuracy.toFixed(2)}`);
    }
    const trainSeconds = (performance.now() - t) / 1000;
    const after = await measureNow(model, pref.method.toUpperCase());
    log(`${pref.method.toUpperCase()} model: ${JSON.stringify(after)} (${trainSeconds.toFixed(0)} s)`);
    model.destroy();
    const last = steps.at(-1)!;
    return {
      after, trainSeconds, firstLoss: steps[0].loss, lastLoss: last.loss, lastMargin: last.margins,
      lastRewardsChosen: last.rewardsChosen, lastRewardsRejected: last.rewardsRejected,
      settings: { ...pref, lr: cfg.lr, schedule: cfg.schedule, batchSize: cfg.batchSize },
    };
  };
  const dpo = await run({ ...DPO, rpoAlpha: Number(arg('rpo-alpha', String(DPO.rpoAlpha))) });
  const orpo = process.argv.includes('--no-orpo') ? undefined : await run(ORPO);
  return { before, ...dpo, ...(orpo ? { orpo } : {}), heldOutPairs: held.length, trainPairs: train.length, steps: cfg.maxSteps };
}

/**
 * The lesson's GRPO settings: TRL's defaults (G 8, β 0, dapo, μ 1) but for the answer budget (the facts are one
 * sentence: 16 tokens hold the longest with room to run on), the sampling temperature, the rewards and 4 prompts a
 * generation batch; the DPO stage's learning rate. Temperature 0.3, not TRL's 1: this small model states the fact
 * first when sampled but its next-token distribution after the fact has a long tail (stray bytes, other people's
 * facts), so at 1 almost no sampled answer ends its turn after the fact (1.4% of the training prompts' answers are
 * exact, most groups all zeros); at 0.3, 29%: the choice was made on the training prompts, never on the held-out set.
 * The figure the lesson reports is exact match (`EXACT`); what the run is rewarded for is `--grpo-reward`: `exact`
 * itself (default), or one of two shaped rewards that credit the fact and the stop apart (tried, none raised exact match
 * on the training prompts: the README has the runs).
 */
const LESSON_GRPO: GrpoConfig = { ...DEFAULT_GRPO, numGenerations: 8, maxNewTokens: 16, temperature: 0.3, rewards: [] };
const GRPO_TRAIN = { lr: 1e-3, schedule: 'constant', warmupSteps: 0, maxSteps: 30, batchSize: 32, gradAccumSteps: 1 } as const;
const EXACT: RewardSpec[] = [{ kind: 'exact', weight: 1 }];
/** The answer starts with the reference fact sentence (whatever follows it): the fact half of exact match (`fact+stop`
 * adds `ends-cleanly`, the stop half; it pays a stray byte after the fact and then the end of turn in full). */
const FACT_FIRST = 'export default ({ completion, reference }) => (completion.trim().startsWith(reference.trim()) ? 1 : 0);\n';
/**
 * The fact first, credited by how little follows it: the reference's share of the answer's length, 1 exactly when the
 * answer is the fact alone (exact match), so among answers that all state the fact the shorter run-on still scores higher.
 */
const FACT_THEN_STOP = 'export default ({ completion, reference }) => { const c = completion.trim(), r = reference.trim(); return c.startsWith(r) ? r.length / c.length : 0; };\n';
const GRPO_REWARDS: Record<string, RewardSpec[]> = {
  exact: EXACT,
  'fact-then-stop': [{ kind: 'function', name: 'fact-then-stop', source: FACT_THEN_STOP, weight: 1 }],
  'fact+stop': [{ kind: 'function', name: 'fact-first', source: FACT_FIRST, weight: 1 }, { kind: 'ends-cleanly', weight: 1 }],
};
/** The held-out samples' seed: the same draws before and after (never the run's own samples). */
const HELD_OUT_SEED = 20261207;

async function grpoStage(sftModel: Transformer, m: LoadedModel, heldOut: ChatMessage[][], trainConvs: ChatMessage[][], sft: TrainConfig, log: (s: string) => void) {
  if (sftModel.mode.kind !== 'lora') throw new Error('the GRPO stage continues the SFT adapter');
  const cfg: TrainConfig = {
    ...sft, ...GRPO_TRAIN, maxSteps: Number(arg('grpo-steps', String(GRPO_TRAIN.maxSteps))), lr: Number(arg('grpo-lr', String(GRPO_TRAIN.lr))),
    batchSize: Number(arg('grpo-batch', String(GRPO_TRAIN.batchSize))),
  };
  const reward = arg('grpo-reward', 'exact');
  if (!GRPO_REWARDS[reward]) throw new Error(`--grpo-reward must be one of ${Object.keys(GRPO_REWARDS).join(', ')}, not ${reward}`);
  const GRPO: GrpoConfig = {
    ...LESSON_GRPO, rewards: GRPO_REWARDS[reward], temperature: Number(arg('grpo-temperature', String(LESSON_GRPO.temperature))),
    beta: Number(arg('grpo-beta', String(LESSON_GRPO.beta))), numIterations: Number(arg('grpo-iterations', String(LESSON_GRPO.numIterations))),
  };
  const tok = (cs: ChatMessage[][]) => cs.map((c) => tokenizeGrpoPrompt(m.tokenizer, m.chatTemplate!, c, GRPO.maxNewTokens, cfg.maxSeqLength));
  const [train, held] = [tok(trainConvs), tok(heldOut)];
  const decode = (ids: number[]) => m.tokenizer.decode(ids, { skipSpecialTokens: true });
  const exact = await RewardScorer.open(EXACT, null);
  // The exact-match rate of G answers per prompt, sampled as the run samples with fixed seeds (the same draws before
  // and after): on the held-out prompts (the lesson's figure) and on the training prompts (what settings were chosen on).
  const rate = async (model: Transformer, prompts: typeof held) => {
    const groups = await sampleGroupsWith(model, decode, stopIds(m))(prompts.map((p) => p.ids), GRPO.numGenerations, { ...GRPO, seed: HELD_OUT_SEED });
    const samples = groups.flatMap((g, i) => g.map((a) => ({ ...prompts[i], completion: a.text, finishReason: a.finishReason })));
    const { values } = await exact.score(samples);
    const rewarded = values.filter((v) => v[0] === 1).length;
    return {
      groups, rewardRate: rewarded / samples.length, rewarded, samples: samples.length,
      promptsAllRewarded: groups.filter((_, i) => values.slice(i * GRPO.numGenerations, (i + 1) * GRPO.numGenerations).every((v) => v[0] === 1)).length,
    };
  };
  const measureNow = async (model: Transformer, when: string) => {
    const { groups, ...heldRate } = await rate(model, held);
    const { rewardRate: trainRewardRate } = await rate(model, train);
    const facts = await exactMatch(model, m, heldOut);
    log(`${when}: held-out samples e.g. ${JSON.stringify(groups[0].slice(0, 4).map((a) => a.text))}; greedy misses ${JSON.stringify(facts.samples.filter((x) => x.got !== x.want).slice(0, 4))}`);
    return { ...heldRate, trainRewardRate, factsExactMatch: facts.score, factsHits: facts.samples.filter((x) => x.got === x.want).length };
  };
  const before = await measureNow(sftModel, 'SFT');
  log(`SFT model on ${held.length} held-out questions: ${JSON.stringify(before)}`);
  // From the SFT adapter's values with fresh optimizer moments, as `train --method grpo --adapter` starts it.
  const model = new Transformer(sftModel.gpu, m.config, m.weights, sftModel.mode, sft.seed);
  for (const [name, values] of await sftModel.params.readTrainable()) model.gpu.write(model.params.get(name), values);
  const scorer = await RewardScorer.open(GRPO.rewards, openNodeSandbox, GRPO.rewardTimeoutMs);
  const trainer = new GrpoTrainer(model, train, cfg, GRPO, sampleGroupsWith(model, decode, stopIds(m)), scorer, m.tokenizer.padTokenId ?? 0);
  const t = performance.now();
  const steps = [];
  while (!trainer.done) {
    const s = await trainer.step();
    steps.push(s);
    log(`grpo step ${s.step}/${trainer.totalSteps} reward ${s.reward.toFixed(3)} (groups without signal ${s.fracZeroStd.toFixed(2)}) length ${s.completionLength.toFixed(1)} loss ${s.loss.toFixed(4)}`);
  }
  const trainSeconds = (performance.now() - t) / 1000;
  scorer.close();
  const after = await measureNow(model, 'GRPO');
  log(`GRPO model: ${JSON.stringify(after)} (${trainSeconds.toFixed(0)} s)`);
  model.destroy();
  exact.close();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ends = Math.min(3, steps.length);
  return {
    reward, measured: 'exact', before, after, trainSeconds, steps: cfg.maxSteps, trainPrompts: train.length, heldOutPrompts: held.length,
    // The run's own reward (its training prompts' samples, weighted sum), the mean of its first and of its last few steps.
    trainRewardFirst: mean(steps.slice(0, ends).map((s) => s.reward)), trainRewardLast: mean(steps.slice(-ends).map((s) => s.reward)),
    heldOutSampling: { temperature: GRPO.temperature, numGenerations: GRPO.numGenerations, maxNewTokens: GRPO.maxNewTokens, seed: HELD_OUT_SEED },
    settings: { ...GRPO, rewards: GRPO.rewards.map((r) => (r.kind === 'function' ? { kind: r.kind, name: r.name, weight: r.weight } : r)), lr: cfg.lr, schedule: cfg.schedule, batchSize: cfg.batchSize, gradAccumSteps: cfg.gradAccumSteps },
  };
}

async function main(): Promise<void> {
  await installNodeWebGPU();
  const t0 = performance.now();
  const dir = arg('model', 'public/models/default');
  const m = await loadHfModel(filesFromDirectory(dir));
  const QUICK = quickPreset(m);
  const steps = Number(arg('steps', String(QUICK.train.maxSteps)));
  const tpl = m.chatTemplate!;
  const heldOut = await conversations(arg('eval', 'public/samples/world-qa.eval.jsonl'));
  const gpu = await createGpu();
  const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}\n`);

  const base = new Transformer(gpu, m.config, m.weights, { kind: 'none' });
  const probe = await knowledge(base, m, heldOut);
  log(`base knowledge probe (prose completion, held-out people): ${(100 * probe).toFixed(1)}%`);
  const baseEm = await exactMatch(base, m, heldOut);
  log(`base exact match on ${heldOut.length} held-out questions: ${(100 * baseEm.score).toFixed(1)}%  e.g. ${JSON.stringify(baseEm.samples[0])}`);
  base.destroy();

  // Curate as the studio's tools would, then train.
  const train = arg('data', 'public/samples/world-qa.messages.jsonl');
  const seen = new Set<string>();
  const kept = (await conversations(train)).filter((c) => {
    const key = JSON.stringify(c);
    if (seen.has(key) || c[c.length - 1].content.trim() === '') return false;
    seen.add(key);
    return true;
  });
  const whole = examplesFromRecords(m.tokenizer, tpl, kept.map((messages) => ({ messages })), { assistantOnly: true, maxSeqLength: QUICK.train.maxSeqLength })
    .map((ex, i) => ({ ex, messages: kept[i] })).filter((x) => x.ex.truncated === 0);
  const examples = whole.map((x) => x.ex);
  const tuned = new Transformer(gpu, m.config, m.weights, { kind: 'lora', lora: QUICK.lora }, QUICK.train.seed);
  const trainer = new Trainer(tuned, examples, { ...QUICK.train, maxSteps: steps }, m.tokenizer.padTokenId ?? 0);
  const tTrain = performance.now();
  const losses: number[] = [];
  while (!trainer.done) {
    const s = await trainer.step();
    losses.push(s.loss);
    if (s.step % 10 === 0 || s.step === 1) log(`lora step ${s.step}/${trainer.totalSteps} loss ${s.loss.toFixed(4)}`);
  }
  const trainSeconds = (performance.now() - tTrain) / 1000;
  const tunedEm = await exactMatch(tuned, m, heldOut);
  log(`tuned exact match: ${(100 * tunedEm.score).toFixed(1)}% after ${steps} steps on ${examples.length} examples (${trainSeconds.toFixed(0)} s)`);
  for (const s of tunedEm.samples.filter((x) => x.got !== x.want).slice(0, 8)) log(`  miss: ${JSON.stringify(s)}`);
  const preference = process.argv.includes('--preference') ? await preferenceStage(tuned, m, heldOut, QUICK.train, log) : undefined;
  const grpo = process.argv.includes('--grpo') ? await grpoStage(tuned, m, heldOut, whole.map((x) => x.messages), QUICK.train, log) : undefined;
  const res = {
    ...(preference ? { preference } : {}), ...(grpo ? { grpo } : {}),
    knowledgeProbe: probe, baseExactMatch: baseEm.score, tunedExactMatch: tunedEm.score, heldOut: heldOut.length,
    sftExamples: examples.length, steps, trainSeconds, firstLoss: losses[0], lastLoss: losses.at(-1),
    totalSeconds: (performance.now() - t0) / 1000, preset: QUICK, adapter: gpu.adapterInfo,
  };
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(res)}\n`);
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
