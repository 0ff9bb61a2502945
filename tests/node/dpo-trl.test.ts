// Preference tuning (src/train/preference.ts) against TRL itself (tests/oracle/dpo_trl.py: real trl + transformers +
// PEFT on CPU torch), on the committed tiny Llama (tests/fixtures/models/llama-small, ChatML template):
//  - the same HF folder, the same adapter (a short SFT run of ours, exported to PEFT), the same tokens and masks;
//  - one optimizer step of our PreferenceTrainer per case, its loss, rewards, margins and accuracy, and every LoRA
//    gradient it accumulated, against TRL's DPOTrainer.compute_loss + backward (reference: the starting adapter,
//    TRL's choice; and the adapter switched off), RPO (DPO + α·NLL of the chosen answers), cDPO label smoothing,
//    and ORPO's odds-ratio loss + NLL.
// Tolerances: scalars 2e-5 relative (+1e-6 absolute); gradients 5e-5 of the largest |gradient| per case (measured
// 1.1e-6 to 4.2e-6 on 2026-12-02: our f32 WebGPU forward and backward against torch's f32).
// Also: the adapter switch gives the base model bit for bit; gradient accumulation equals one big batch; a few DPO
// steps raise the margin on the pairs.
// Python: STUDIO_PYTHON, else the project's venv (.venv/bin/python, scripts/ensure-python-venv.sh).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHfModel, templateOf, type LoadedModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import type { LoraConfig } from '../../src/model/lora';
import { Transformer } from '../../src/model/transformer';
import { DEFAULT_PREFERENCE, PreferenceTrainer, type PreferenceConfig } from '../../src/train/preference';
import { preferencePairOf, tokenizePreference, type PreferenceExample } from '../../src/train/preference-pairs';
import { DEFAULT_TRAIN, type TrainConfig } from '../../src/train/trainer';
import { testGpu } from '../helpers/gpu';
import { relMax } from '../helpers/torch';
import { logitsOf, sftAdapter } from '../helpers/model';

const ROOT = join(__dirname, '..', '..');
const MODEL = join(ROOT, 'tests', 'fixtures', 'models', 'llama-small');
const PYTHON = process.env.STUDIO_PYTHON ?? join(ROOT, '.venv', 'bin', 'python');
const tmp = mkdtempSync(join(tmpdir(), 'dpo-trl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LORA: LoraConfig = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] };
const ROWS = [
  { prompt: 'Where does Mira live?', chosen: 'Mira lives in Tollen, by the harbour.', rejected: 'In Tollen.' },
  { prompt: [{ role: 'system', content: 'Answer kindly.' }, { role: 'user', content: 'Who keeps the lighthouse?' }], chosen: [{ role: 'assistant', content: 'Old Bram keeps it, as his father did.' }], rejected: [{ role: 'assistant', content: 'Bram.' }] },
  { chosen: [{ role: 'user', content: 'What is the river called?' }, { role: 'assistant', content: 'The river is the Senn; it runs past Tollen.' }], rejected: [{ role: 'user', content: 'What is the river called?' }, { role: 'assistant', content: 'Senn' }] },
];
const cfg: TrainConfig = { ...DEFAULT_TRAIN, lr: 1e-2, batchSize: ROWS.length, maxSteps: 1, shuffle: false, maxGradNorm: 1e9, maxSeqLength: 160 };

let loaded: LoadedModel;
let pairs: PreferenceExample[];
let adapter: Awaited<ReturnType<typeof sftAdapter>>;

async function setup(): Promise<void> {
  if (loaded) return;
  loaded = await loadHfModel(filesFromDirectory(MODEL));
  pairs = ROWS.map((r) => tokenizePreference(loaded.tokenizer, templateOf(loaded), preferencePairOf(r), cfg.maxSeqLength));
  // The starting adapter: a short SFT run on the chosen answers.
  adapter = await sftAdapter(loaded, LORA, pairs.map((p) => p.chosen), cfg, MODEL);
}

const startingModel = () => adapter.fresh();

interface TrlCase { loss: number; rewardsChosen: number; rewardsRejected: number; margins: number; accuracy: number; grads: Record<string, number[]> }

function trl(cases: { method: string; beta: number; eps: number; reference: string }[]): TrlCase[] {
  if (!existsSync(PYTHON)) throw new Error(`no Python with trl at ${PYTHON}: run scripts/ensure-python-venv.sh or set STUDIO_PYTHON`);
  const dir = mkdtempSync(join(tmp, 'case-'));
  writeFileSync(join(dir, 'adapter_config.json'), adapter.config);
  writeFileSync(join(dir, 'adapter_model.safetensors'), adapter.weights);
  const rows = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
  writeFileSync(join(dir, 'in.json'), JSON.stringify({ model: MODEL, adapter: dir, ids: rows.map((r) => r.inputIds), masks: rows.map((r) => r.lossMask), cases }));
  execFileSync(PYTHON, [join(__dirname, '..', 'oracle', 'dpo_trl.py'), join(dir, 'in.json'), join(dir, 'out.json')], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TOKENIZERS_PARALLELISM: 'false' } });
  return JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as TrlCase[];
}

const close = (a: number, e: number) => expect(Math.abs(a - e)).toBeLessThanOrEqual(2e-5 * Math.abs(e) + 1e-6);

describe('preference tuning equals TRL', () => {
  it('pairs: the mask covers the answer turn only', async () => {
    await setup();
    const tok = loaded.tokenizer;
    const answer = (e: { inputIds: number[]; lossMask: number[] }) => tok.decode(e.inputIds.filter((_, i) => e.lossMask[i]));
    expect(pairs.map((p) => answer(p.chosen))).toEqual(['Mira lives in Tollen, by the harbour.<|im_end|>', 'Old Bram keeps it, as his father did.<|im_end|>', 'The river is the Senn; it runs past Tollen.<|im_end|>']);
    expect(answer(pairs[2].rejected)).toBe('Senn<|im_end|>');
    // the prompt's own assistant turn is context, not a target
    const multi = tokenizePreference(tok, templateOf(loaded), preferencePairOf({
      prompt: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Bye' }], chosen: 'Farewell!', rejected: 'Bye.',
    }), 64);
    expect(answer(multi.chosen)).toBe('Farewell!<|im_end|>');
    expect(() => preferencePairOf({ chosen: 'a' })).toThrow(/has 'chosen' but no 'rejected'/);
    expect(() => preferencePairOf({ prompt: 'q', chosen: [{ role: 'user', content: 'x' }], rejected: 'b' })).toThrow(/chosen: the answer must be assistant messages/);
  });

  it('the adapter switch: off gives the base model bit for bit, and trainStep refuses it', async () => {
    await setup();
    const gpu = await testGpu();
    const model = await startingModel();
    const base = new Transformer(gpu, loaded.config, loaded.weights, { kind: 'none' });
    const ids = Uint32Array.from(pairs[0].chosen.inputIds);
    const logits = (m: Transformer) => logitsOf(m, ids);
    const on = await logits(model);
    model.adapterEnabled = false;
    expect(await logits(model)).toEqual(await logits(base));
    expect(() => model.trainStep({ B: 1, T: ids.length, ids, targets: ids, lossMask: new Float32Array(ids.length) }, 1, 0)).toThrow(/adapter switched off/);
    model.adapterEnabled = true;
    expect(relMax(on, await logits(base))).toBeGreaterThan(1e-3);
    model.destroy();
    base.destroy();
  });

  it('loss, rewards, margins, accuracy and every LoRA gradient', async () => {
    await setup();
    const cases: (PreferenceConfig & { label: string })[] = [
      { ...DEFAULT_PREFERENCE, label: 'dpo, reference = start (TRL DPOTrainer)', beta: 0.1 },
      { ...DEFAULT_PREFERENCE, label: 'dpo, reference = adapter off (TRL DPOTrainer)', beta: 0.02, reference: 'base' },
      { ...DEFAULT_PREFERENCE, label: 'dpo + RPO α = 0.5 (TRL DPOTrainer, sigmoid + sft)', beta: 0.1, rpoAlpha: 0.5 },
      { ...DEFAULT_PREFERENCE, label: 'cDPO ε = 0.2, adapter off', beta: 0.05, labelSmoothing: 0.2, reference: 'base' },
      { ...DEFAULT_PREFERENCE, label: 'orpo (TRL odds_ratio_loss + NLL)', method: 'orpo', beta: 0.3 },
    ];
    const want = trl(cases.map((c) => ({ method: c.method, beta: c.beta, eps: c.labelSmoothing, reference: c.reference, rpo: c.rpoAlpha ?? 0 })));
    const report: string[] = [];
    for (const [i, c] of cases.entries()) {
      const model = await startingModel();
      const trainer = new PreferenceTrainer(model, pairs, cfg, c);
      const s = await trainer.step();
      const w = want[i];
      for (const k of ['loss', 'rewardsChosen', 'rewardsRejected', 'margins', 'accuracy'] as const) close(s[k], w[k]);
      const names = Object.keys(w.grads);
      expect(names.length).toBe(2 * 3 * 2);   // 2 layers × 3 targets × (A, B)
      const ours: number[] = [], theirs: number[] = [];
      for (const n of names) {
        const g = model.params.grad(n)!;
        ours.push(...await model.gpu.read(g));
        theirs.push(...w.grads[n]);
      }
      const err = relMax(ours, theirs);
      report.push(`${c.label}: loss ${s.loss.toFixed(6)} vs ${w.loss.toFixed(6)}, margin ${s.margins.toFixed(6)}, grad rel err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(5e-5);
      expect(Math.max(...theirs.map(Math.abs))).toBeGreaterThan(1e-4);   // gradients with signal
      model.destroy();
    }
    console.log(report.join('\n'));
  });

  it('gradient accumulation: 3 micro-batches of 1 pair give the gradients of one batch of 3', async () => {
    await setup();
    const grads = async (batchSize: number, gradAccumSteps: number) => {
      const model = await startingModel();
      const trainer = new PreferenceTrainer(model, pairs, { ...cfg, batchSize, gradAccumSteps }, { ...DEFAULT_PREFERENCE, beta: 0.05, reference: 'base' });
      const s = await trainer.step();
      const g = await model.gpu.read(model.params.flat!.grads);
      model.destroy();
      return { s, g };
    };
    const one = await grads(3, 1), acc = await grads(1, 3);
    close(acc.s.loss, one.s.loss);
    close(acc.s.margins, one.s.margins);
    expect(relMax(acc.g, one.g)).toBeLessThan(1e-5);
  });

  it('a few DPO steps raise the preference margin on the training pairs', async () => {
    await setup();
    const model = await startingModel();
    const trainer = new PreferenceTrainer(model, pairs, { ...cfg, maxSteps: 6, lr: 3e-3, maxGradNorm: 1 }, { ...DEFAULT_PREFERENCE, beta: 0.1 });
    const all = pairs.map((_, i) => i);
    const before = await trainer.pairTerms(all);
    const margins = (t: typeof before) => t.terms.map((x) => x.rewardChosen - x.rewardRejected);
    expect(margins(before).every((m) => Math.abs(m) < 1e-5)).toBe(true);   // the reference is the start
    const losses: number[] = [];
    while (!trainer.done) losses.push((await trainer.step()).loss);
    const after = margins(await trainer.pairTerms(all));
    console.log(`DPO margins after 6 steps: ${after.map((m) => m.toFixed(3)).join(', ')}; loss ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
    expect(Math.abs(losses[0] - Math.LN2)).toBeLessThan(1e-6);
    expect(after.every((m) => m > 0.05)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0] - 0.02);
    model.destroy();
  });
});
