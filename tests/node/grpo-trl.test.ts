// GRPO (src/train/grpo.ts) against TRL's GRPOTrainer itself (tests/oracle/grpo_trl.py: real trl 1.13 + transformers +
// PEFT on CPU torch), on the committed tiny Llama (tests/fixtures/models/llama-small, ChatML template):
//  - the same HF folder, the same adapter (a short SFT run of ours, exported to PEFT), the same prompt tokens, the same
//    sampled answers (fixed: some end on <|im_end|>, some run into the token limit) and the same rewards (two reward
//    functions with weights 1 and 0.5; one answer unscorable, as when a reward function fails on it);
//  - per case one optimizer step of our GrpoTrainer, its loss, every LoRA gradient, KL and clip ratio against TRL's
//    own _generate_and_score_completions + _compute_loss + backward; the advantages against TRL's; for
//    num_iterations = 2 also the second step on the same generation batch (our adapter after the first step loaded
//    into TRL, π_old from generation time), where ratios leave the clip band.
// Cases: each loss type (grpo, dr_grpo, dapo), β = 0 and β > 0 (reference: the starting adapter, TRL's copy, and the
// adapter switched off), reward scaling group / batch / none, temperature 1 and below, μ = 1 and 2, gradient
// accumulation 1 and 2.
// Tolerances: scalars 2e-5 relative (+1e-6 absolute); advantages 1e-5 absolute (TRL's are float32); gradients 5e-5 of
// the largest |gradient| per case (our f32 WebGPU forward and backward against torch's f32; measured figures are
// printed by the test).
// Python: STUDIO_PYTHON, else the project's venv (.venv/bin/python, scripts/ensure-python-venv.sh).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/data/types';
import { exportPeftAdapter } from '../../src/export/peft';
import { loadHfModel, templateOf, type LoadedModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import type { LoraConfig } from '../../src/model/lora';
import { DEFAULT_GRPO, groupAdvantages, GrpoTrainer, tokenizeGrpoPrompt, type GrpoConfig, type GrpoPrompt, type SampledAnswer } from '../../src/train/grpo';
import { DEFAULT_TRAIN, type TrainConfig } from '../../src/train/trainer';
import { sftAdapter } from '../helpers/model';
import { relMax } from '../helpers/torch';

const ROOT = join(__dirname, '..', '..');
const MODEL = join(ROOT, 'tests', 'fixtures', 'models', 'llama-small');
const PYTHON = process.env.STUDIO_PYTHON ?? join(ROOT, '.venv', 'bin', 'python');
const tmp = mkdtempSync(join(tmpdir(), 'grpo-trl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LORA: LoraConfig = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] };
const PROMPTS: ChatMessage[][] = [
  [{ role: 'user', content: 'Where does Mira live?' }],
  [{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'What is the river called?' }],
];
const G = 3, MAX_NEW = 24;
/** Three answers per prompt; '…' marks one cut at the token limit (no stop token). */
const ANSWERS = [['Mira lives in Tollen.', 'In Tollen, by the harbour where the boats come in every morning…', 'Tollen'], ['Senn', 'The river is the Senn.', 'It is called the Senn, and it runs past the town of Tollen to the…']];
/** Two rewards per answer; null: unscorable (both failed). */
const REWARDS: (number | null)[][] = [[1, 0.5], [0, 1], [1, 0], [null, null], [1, 1], [0, 0.25]];
const WEIGHTS = [1, 0.5];
const cfg: TrainConfig = { ...DEFAULT_TRAIN, lr: 1e-2, maxSteps: 1, shuffle: false, maxGradNorm: 1e9, maxSeqLength: 160 };

let loaded: LoadedModel;
let prompts: GrpoPrompt[];
let answers: SampledAnswer[][];
let adapter: Awaited<ReturnType<typeof sftAdapter>>;

async function setup(): Promise<void> {
  if (loaded) return;
  loaded = await loadHfModel(filesFromDirectory(MODEL));
  const tok = loaded.tokenizer, tpl = templateOf(loaded);
  prompts = PROMPTS.map((m) => tokenizeGrpoPrompt(tok, tpl, m, MAX_NEW, cfg.maxSeqLength));
  const stop = tok.tokenToId('<|im_end|>')!;
  answers = ANSWERS.map((group) => group.map((text) => {
    const cut = text.endsWith('…');
    const ids = tok.encode(text.replace('…', ''), { addSpecialTokens: false });
    return cut ? { ids: ids.slice(0, MAX_NEW), text: tok.decode(ids.slice(0, MAX_NEW)), finishReason: 'length' as const }
      : { ids: [...ids, stop], text, finishReason: 'stop-token' as const };
  }));
  expect(answers.flat().map((a) => a.ids.length).every((n) => n <= MAX_NEW)).toBe(true);
  expect(answers.flat().filter((a) => a.finishReason === 'length')).toHaveLength(2);
  // The starting adapter: a short SFT run on each prompt's first answer.
  const examples = PROMPTS.map((_, i) => ({ inputIds: [...prompts[i].ids, ...answers[i][0].ids], lossMask: [...prompts[i].ids.map(() => 0), ...answers[i][0].ids.map(() => 1)] }));
  adapter = await sftAdapter(loaded, LORA, examples, { ...cfg, batchSize: 2 }, MODEL);
}

/** The fixed answers and rewards as the trainer's sampler and scorer. */
const fixedSampler = async () => answers;
const values = REWARDS.map((r) => r.map((v) => v ?? NaN));
const fixedScorer = {
  names: ['r0', 'r1'], weights: WEIGHTS,
  score: async () => ({ values, errors: REWARDS.map((r) => (r[0] === null ? 'reward r0: failed' : null)) }),
};

interface Pass { loss: number; grads: Record<string, number[]>; kl: number | null; clipRatio: number }
type TrlCase = Pass & { advantages: number[]; next?: Pass };

function trl(cases: Record<string, unknown>[]): TrlCase[] {
  if (!existsSync(PYTHON)) throw new Error(`no Python with trl at ${PYTHON}: run scripts/ensure-python-venv.sh or set STUDIO_PYTHON`);
  const dir = mkdtempSync(join(tmp, 'case-'));
  writeFileSync(join(dir, 'adapter_config.json'), adapter.config);
  writeFileSync(join(dir, 'adapter_model.safetensors'), adapter.weights);
  const flat = answers.flat();
  writeFileSync(join(dir, 'in.json'), JSON.stringify({
    model: MODEL, adapter: dir, prompts: PROMPTS, prompt_ids: flat.map((_, i) => prompts[Math.floor(i / G)].ids),
    completions: flat.map((a) => a.ids), rewards: REWARDS, cases,
  }));
  execFileSync(PYTHON, [join(__dirname, '..', 'oracle', 'grpo_trl.py'), join(dir, 'in.json'), join(dir, 'out.json')], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TOKENIZERS_PARALLELISM: 'false' } });
  return JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as TrlCase[];
}

const close = (a: number, e: number) => expect(Math.abs(a - e)).toBeLessThanOrEqual(2e-5 * Math.abs(e) + 1e-6);

interface Case { label: string; grpo: GrpoConfig; B: number; GA: number; lr?: number }

const CASES: Case[] = [
  { label: 'dapo, β 0, μ 1 (TRL defaults), 2 micro-batches', B: 3, GA: 2, grpo: { ...DEFAULT_GRPO } },
  { label: 'grpo, β 0.04 against the starting adapter, μ 1', B: 6, GA: 1, grpo: { ...DEFAULT_GRPO, lossType: 'grpo', beta: 0.04 } },
  { label: 'dr_grpo, β 0.04 against the adapter off, unscaled, temperature 0.7', B: 6, GA: 1, grpo: { ...DEFAULT_GRPO, lossType: 'dr_grpo', beta: 0.04, reference: 'base', scaleRewards: 'none', temperature: 0.7 } },
  { label: 'dapo, β 0.04 (start), μ 2, batch scaling, ε 0.2 / 0.28, 2 micro-batches', B: 3, GA: 2, lr: 2e-2, grpo: { ...DEFAULT_GRPO, beta: 0.04, numIterations: 2, scaleRewards: 'batch', epsilonHigh: 0.28 } },
  { label: 'grpo, β 0, μ 2, temperature 0.9', B: 6, GA: 1, lr: 2e-2, grpo: { ...DEFAULT_GRPO, lossType: 'grpo', numIterations: 2, temperature: 0.9 } },
  { label: 'dr_grpo, β 0.1 (adapter off), μ 2, 2 micro-batches', B: 3, GA: 2, lr: 2e-2, grpo: { ...DEFAULT_GRPO, lossType: 'dr_grpo', beta: 0.1, reference: 'base', numIterations: 2 } },
];

describe('GRPO equals TRL\'s GRPOTrainer', () => {
  it('advantages, loss, KL, clip ratio and every LoRA gradient, per loss type, β, μ', async () => {
    await setup();
    const ours: { first: Pass; next?: Pass }[] = [];
    const inputs: Record<string, unknown>[] = [];
    for (const c of CASES) {
      const grpo: GrpoConfig = { ...c.grpo, numGenerations: G, maxNewTokens: MAX_NEW };
      const model = await adapter.fresh();
      const trainer = new GrpoTrainer(model, prompts, { ...cfg, batchSize: c.B, gradAccumSteps: c.GA, maxSteps: grpo.numIterations, lr: c.lr ?? cfg.lr }, grpo, fixedSampler, fixedScorer);
      await trainer.prepare();
      const pass = async (): Promise<Pass> => {
        const s = await trainer.step();
        const grads: Record<string, number[]> = {};
        for (const n of model.params.trainableNames()) grads[n] = Array.from(await model.gpu.read(model.params.grad(n)!));
        return { loss: s.loss, grads, kl: s.kl, clipRatio: s.clipRatio };
      };
      const first = await pass();
      let next: Pass | undefined, nextAdapter: string | undefined;
      if (grpo.numIterations > 1) {
        nextAdapter = join(tmp, `next-${inputs.length}.safetensors`);
        writeFileSync(nextAdapter, (await exportPeftAdapter(model, MODEL))['adapter_model.safetensors']);
        next = await pass();
      }
      ours.push({ first, next });
      inputs.push({
        loss_type: grpo.lossType, beta: grpo.beta, reference: grpo.reference, scale_rewards: grpo.scaleRewards, epsilon: grpo.epsilon,
        epsilon_high: grpo.epsilonHigh, temperature: grpo.temperature, num_iterations: grpo.numIterations, G, B: c.B, GA: c.GA,
        max_completion_length: MAX_NEW, reward_weights: WEIGHTS, next_adapter: nextAdapter ?? null,
      });
      model.destroy();
    }
    const want = trl(inputs);
    const report: string[] = [];
    const compare = (label: string, c: Case, o: Pass, w: Pass) => {
      close(o.loss, w.loss);
      if (c.GA === 1) {
        // TRL logs KL and clip ratio per micro-batch; with one micro-batch they are the step's.
        if (c.grpo.beta > 0) close(o.kl!, w.kl!);
        close(o.clipRatio, w.clipRatio);
      }
      const names = Object.keys(w.grads);
      expect(names.length).toBe(2 * 3 * 2);   // 2 layers × 3 targets × (A, B)
      const a = names.flatMap((n) => o.grads[n]), b = names.flatMap((n) => w.grads[n]);
      const err = relMax(a, b);
      report.push(`${label}: loss ${o.loss.toExponential(6)} vs ${w.loss.toExponential(6)}, clip ${o.clipRatio.toFixed(3)}, grad rel err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(5e-5);
      expect(Math.max(...b.map(Math.abs))).toBeGreaterThan(1e-5);   // gradients with signal
    };
    for (const [i, c] of CASES.entries()) {
      const adv = groupAdvantages(values, WEIGHTS, G, c.grpo.scaleRewards).advantages;
      for (const [k, a] of adv.entries()) expect(Math.abs(a - want[i].advantages[k])).toBeLessThan(1e-5);
      expect(adv[3]).toBe(0);   // the unscorable answer
      compare(c.label, c, ours[i].first, want[i]);
      if (ours[i].next) compare(`${c.label}, second step`, c, ours[i].next!, want[i].next!);
    }
    console.log(report.join('\n'));
    // The second steps of μ = 2 left the clip band somewhere (the clipped branch is exercised).
    expect(ours.some((o) => (o.next?.clipRatio ?? 0) > 0)).toBe(true);
  });
});
