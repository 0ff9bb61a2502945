// `train --method dpo|orpo` end to end, as a user runs it: TRL preference JSONL (string and message rows), a DPO run
// continuing an SFT adapter the CLI wrote (its reference: that adapter, so the first step's margin is 0 and the
// loss ln 2), an ORPO run from scratch, LoRA dropout from --dropout (fresh or continued adapter); the same JSON summary as SFT plus the preference metrics; bad rows and bad
// options fail with one line naming them. And checkpoints, as for SFT (the same session): a DPO run stopped by SIGTERM
// after a few steps keeps its last checkpoint (nothing replaced), and `--resume` that folder, with the run's own
// settings, ends with the losses, rewards and adapter bytes of a run that never stopped.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import type { MetricPoint } from '../../src/storage/runs';
import { REPO_ROOT, STUDIO_LAUNCHER, studio, studioJson } from '../helpers/cli';

let dir = '';
let model = '';


beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-pref-'));
  model = join(dir, 'model');
  makeTinyModel('llama-small', model, 3);
  const pairs = [
    { prompt: 'Where does Mira live?', chosen: 'Mira lives in Tollen.', rejected: 'Tollen.' },
    { prompt: [{ role: 'user', content: 'Who keeps the lighthouse?' }], chosen: [{ role: 'assistant', content: 'Bram keeps it.' }], rejected: [{ role: 'assistant', content: 'Bram.' }] },
  ];
  writeFileSync(join(dir, 'pairs.jsonl'), pairs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'sft.jsonl'), pairs.map((r) => JSON.stringify({ instruction: 'Where does Mira live?', input: '', output: typeof r.chosen === 'string' ? r.chosen : r.chosen[0].content })).join('\n') + '\n');
  writeFileSync(join(dir, 'bad.jsonl'), `${JSON.stringify(pairs[0])}\n{"prompt": "x", "chosen": "y"}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('studio CLI: preference tuning', () => {
  it('dpo continues an SFT adapter; orpo starts fresh; both write an adapter and report rewards', () => {
    const sft = join(dir, 'sft');
    expect(studio('train', model, '--data', join(dir, 'sft.jsonl'), '--out', sft, '--max-steps', '2', '--lr', '1e-2', '--rank', '4', '--json').code).toBe(0);

    const out = join(dir, 'dpo');
    const r = studio('train', model, '--method', 'dpo', '--adapter', sft, '--data', join(dir, 'pairs.jsonl'), '--out', out,
      '--max-steps', '3', '--batch-size', '2', '--lr', '5e-3', '--beta', '0.1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ steps: 3, examples: 2, lora: { rank: 4 }, preference: { method: 'dpo', beta: 0.1, reference: 'start' } });
    const log = JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')).log;
    expect(Math.abs(log[0].loss - Math.LN2)).toBeLessThan(1e-6);
    expect(log[0].margins).toBe(0);
    expect(s.preference.margins).toBeGreaterThan(0);
    expect(s.preference.accuracy).toBe(1);
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);

    const o = studio('train', model, '--method', 'orpo', '--data', join(dir, 'pairs.jsonl'), '--out', join(dir, 'orpo'), '--max-steps', '2', '--rank', '4', '--json');
    expect(o.code, o.stderr).toBe(0);
    const os = JSON.parse(o.stdout);
    expect(os.preference).toMatchObject({ method: 'orpo' });
    expect(Number.isFinite(os.finalLoss) && Number.isFinite(os.preference.rewardsChosen)).toBe(true);
  });

  it('--dropout: a fresh adapter and a continued one train with it and record it', () => {
    const fresh = join(dir, 'dpo-dropout');
    const r = studio('train', model, '--method', 'dpo', '--dropout', '0.1', '--data', join(dir, 'pairs.jsonl'), '--out', fresh, '--max-steps', '1', '--rank', '4', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).lora.dropout).toBe(0.1);
    expect(JSON.parse(readFileSync(join(fresh, 'adapter_config.json'), 'utf8')).lora_dropout).toBe(0.1);
    const cont = join(dir, 'dpo-dropout-2');
    const c = studio('train', model, '--method', 'dpo', '--adapter', fresh, '--dropout', '0.2', '--data', join(dir, 'pairs.jsonl'), '--out', cont, '--max-steps', '1', '--json');
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(cont, 'adapter_config.json'), 'utf8')).lora_dropout).toBe(0.2);
  });

  it('bad rows and options: one line naming them', () => {
    const bad = studio('train', model, '--method', 'dpo', '--data', join(dir, 'bad.jsonl'), '--out', join(dir, 'x'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toBe("error: bad.jsonl line 2: has 'chosen' but no 'rejected'");
    const m = studio('train', model, '--method', 'kto', '--data', join(dir, 'pairs.jsonl'), '--out', join(dir, 'x'));
    expect(m.stderr.trim()).toBe('error: --method must be sft, dpo, orpo or grpo, got "kto"');
    const same = studio('train', model, '--method', 'dpo', '--adapter', join(dir, 'dpo'), '--data', join(dir, 'pairs.jsonl'), '--out', join(dir, 'dpo', '.'));
    expect(same.stderr.trim()).toBe('error: --out must not be the --adapter folder the run starts from');
    const packed = studio('train', model, '--method', 'orpo', '--packing', '--data', join(dir, 'pairs.jsonl'), '--out', join(dir, 'x'));
    expect(packed.stderr.trim()).toBe('error: --eval-every and --packing are for --method sft (a preference run has no validation split)');
    expect(existsSync(join(dir, 'dpo', 'adapter_model.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('a DPO run stopped after a checkpoint and resumed ends as a run that never stopped, adapter bytes and all', async () => {
    // Dropout, shuffling over several epochs, a warm-up and a cosine schedule; the reference is the fresh adapter's start.
    const flags = ['--method', 'dpo', '--data', join(dir, 'pairs.jsonl'), '--max-steps', '8', '--checkpoint-every', '2', '--batch-size', '1',
      '--lr', '5e-3', '--dropout', '0.1', '--rank', '4', '--schedule', 'cosine', '--warmup', '1', '--seed', '7', '--max-seq-len', '48'];
    const straight = join(dir, 'dpo-straight');
    studioJson('train', model, ...flags, '--out', straight, '--json');

    const out = join(dir, 'dpo-resumed');
    const child = spawn(process.execPath, [STUDIO_LAUNCHER, 'cli/studio.ts', 'train', model, ...flags, '--out', out], { cwd: REPO_ROOT });
    let stderr = '';
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    await new Promise<void>((ok) => child.stderr.on('data', (d: Buffer) => { stderr += d; if (stderr.includes('step 3/')) ok(); }));
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(143);
    const partial = stderr.trim().split('\n').at(-1)!.split('continue with --resume ')[1];
    expect(partial).toBe(`${out}.studio-partial`);
    const stopped = JSON.parse(readFileSync(join(partial, 'run.json'), 'utf8'));
    expect(stopped.config.preference).toMatchObject({ method: 'dpo', beta: 0.1 });
    expect(stopped.checkpoints.last).toBeGreaterThanOrEqual(2);
    expect(stopped.checkpoints.last).toBeLessThan(8);

    // The method and its settings come from the run folder too.
    const refused = studio('train', model, '--data', join(dir, 'pairs.jsonl'), '--out', out, '--resume', partial, '--method', 'dpo', '--beta', '0.5');
    expect(refused.stderr.trim()).toBe('error: --resume continues the run with its own settings; drop --method, --beta');
    const resumed = studioJson('train', model, '--data', join(dir, 'pairs.jsonl'), '--out', out, '--resume', partial, '--json');
    expect(resumed).toMatchObject({ steps: 8, preference: { method: 'dpo' } });
    type Log = { log: MetricPoint[] };
    const curve = (folder: string) => (JSON.parse(readFileSync(join(folder, 'training_log.json'), 'utf8')) as Log).log
      .map((p) => [p.step, p.epoch, p.loss, p.lr, p.gradNorm, p.rewardsChosen, p.rewardsRejected, p.margins, p.accuracy]);
    expect(curve(out)).toEqual(curve(straight));
    expect(curve(out).map((c) => c[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(readFileSync(join(out, 'adapter_model.safetensors')).equals(readFileSync(join(straight, 'adapter_model.safetensors')))).toBe(true);
    expect(existsSync(partial)).toBe(false);
    expect(readdirSync(out).sort()).toEqual(['.studio-output.json', 'adapter_config.json', 'adapter_model.safetensors', 'training_log.json']);
  }, 300_000);
});
