// `studio train` and the Training tab run one loop (src/engine/session.ts): the CLI's run and the engine
// worker's core, on the same model, data, settings and seed, give the same losses, learning rates and grad
// norms bit for bit. And the CLI's checkpoints: a run stopped by SIGTERM after a few steps keeps its last
// checkpoint beside the output (nothing replaced), and `--resume` that folder ends with the same losses and
// the same adapter bytes as a run that never stopped.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { createMemoryRunStore, type MetricPoint } from '../../src/storage/runs';
import { PRESETS } from '../../src/train/presets';
import { REPO_ROOT, STUDIO_LAUNCHER, studio, studioJson } from '../helpers/cli';
import { droppedFiles, engineOver } from '../helpers/engine';

let dir = '', model = '', data = '';
const QA = [['What is 2+2?', 'Four.'], ['Name a colour.', 'Blue.'], ['Say hi.', 'Hi there!'], ['Capital of France?', 'Paris.'],
  ['Opposite of up?', 'Down.'], ['A fruit?', 'An apple.'], ['A number?', 'Seven.']];
const records = QA.map(([q, a]) => ({ messages: [{ role: 'user' as const, content: q }, { role: 'assistant' as const, content: a }], split: 'train' as const }));
// Dropout, shuffling, a warm-up and a cosine schedule: every source of randomness and every step-dependent value.
const FLAGS = ['--batch-size', '2', '--lr', '1e-2', '--dropout', '0.1', '--rank', '4', '--schedule', 'cosine', '--warmup', '1', '--seed', '5', '--max-seq-len', '48'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-session-'));
  model = join(dir, 'model');
  makeTinyModel('llama-small', model, 3);
  data = join(dir, 'qa.jsonl');
  writeFileSync(data, records.map((r) => JSON.stringify({ messages: r.messages })).join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Log = { log: MetricPoint[] };
const log = (out: string) => (JSON.parse(readFileSync(join(out, 'training_log.json'), 'utf8')) as Log).log;
const curve = (points: MetricPoint[]) => points.map((p) => [p.step, p.epoch, p.loss, p.lr, p.gradNorm]);

describe('one training session for the CLI and the worker', () => {
  it('the same settings and seed give the same loss curve, bit for bit', async () => {
    const out = join(dir, 'cli');
    const summary = studioJson('train', model, '--data', data, '--out', out, '--max-steps', '5', ...FLAGS, '--json') as { lora: typeof PRESETS.quick.lora; train: typeof PRESETS.quick.train };

    const engine = engineOver(createMemoryRunStore());
    const files = new Map(readdirSync(model).map((f) => [f, new Uint8Array(readFileSync(join(model, f)))]));
    await engine.loadModel(droppedFiles('model', files));
    const config = { ...PRESETS.quick, lora: summary.lora, train: summary.train, packing: false, assistantOnly: true, evalEvery: 0, checkpointEvery: 0, earlyStopPatience: 0 };
    const worker = await engine.startRun({ name: 'same', config, records, dataset: null });
    expect(worker.status).toBe('completed');
    expect(curve(log(out))).toEqual(curve(worker.run.metrics));
    expect(curve(worker.run.metrics).map((c) => c[0])).toEqual([1, 2, 3, 4, 5]);
  });

  it('a run stopped after a few steps and resumed ends where an uninterrupted run ends', async () => {
    const steps = ['--max-steps', '12', '--checkpoint-every', '2'];
    const straight = join(dir, 'straight');
    studioJson('train', model, '--data', data, '--out', straight, ...steps, ...FLAGS, '--json');

    const out = join(dir, 'resumed');
    const child = spawn(process.execPath, [STUDIO_LAUNCHER, 'cli/studio.ts', 'train', model, '--data', data, '--out', out, ...steps, ...FLAGS], { cwd: REPO_ROOT });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => { stderr += d; if (stderr.includes('step 3/')) resolve(); }));
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(143);
    const last = stderr.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^error: interrupted by SIGTERM; nothing was replaced; its checkpoint is kept: continue with --resume /);
    const partial = last.split('--resume ')[1];
    expect(partial).toBe(`${out}.studio-partial`);
    expect(existsSync(out)).toBe(false);
    const stoppedAt = JSON.parse(readFileSync(join(partial, 'run.json'), 'utf8')).checkpoints.last as number;
    expect(stoppedAt).toBeGreaterThanOrEqual(2);
    expect(stoppedAt).toBeLessThan(12);

    // Settings come from the run folder; a flag that would change them is refused.
    const refused = studio('train', model, '--data', data, '--out', out, '--resume', partial, '--lr', '1');
    expect(refused.stderr.trim()).toBe('error: --resume continues the run with its own settings; drop --lr');
    const resumed = studioJson('train', model, '--data', data, '--out', out, '--resume', partial, '--json');
    expect(resumed.steps).toBe(12);
    expect(curve(log(out))).toEqual(curve(log(straight)));
    expect(readFileSync(join(out, 'adapter_model.safetensors')).equals(readFileSync(join(straight, 'adapter_model.safetensors')))).toBe(true);
    // The partial run is finished: gone, and the output holds the adapter, not the checkpoints.
    expect(existsSync(partial)).toBe(false);
    expect(readdirSync(out).sort()).toEqual(['.studio-output.json', 'adapter_config.json', 'adapter_model.safetensors', 'training_log.json']);
  });
});
