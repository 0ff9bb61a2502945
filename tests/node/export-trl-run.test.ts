// The training kit runs as shipped, in real TRL (the .venv's trl 1.13, transformers 5.18, PEFT 0.21, CPU torch).
// A kit naming a Hub model by its id: with that repository in the Hugging Face cache (the built-in model's files
// under models--OWNER--NAME, the Hub offline), `python train_trl.py` runs unmodified a few steps and saves its adapter.
// The quick run's kit, carrying the built-in model:
//  1. the studio's quick run on the built-in model (`studio train` with presetFor('quick')'s settings on the SFT
//     sample), then `studio export --format kit` from that run's folder;
//  2. the kit zipped as the Export tab zips it, unzipped by Python's zipfile, and `python train_trl.py` run in it
//     with nothing edited (only the environment: one thread, the Hub offline, a fresh cache);
//  3. the adapter it saves loads in real transformers + PEFT (tests/oracle/kit_eval.py), with the run's LoRA shape, and
//     answers the held-out questions (world-qa.eval.jsonl: people the SFT file never asks about) like the studio's own
//     adapter scored the same way.
// Bar: the base model answers none exactly; the studio's adapter at least 75%; the kit's at least 50%, and its mean
// loss on the held-out answers at most 0.4 nats above the studio adapter's (the base model's: 4.1). The gap is the
// runs' noise, not the kit's: on this tiny model the stop is a near tie (the end-of-turn token wins at about 1%), and
// the kit's script gave 71%, 92%, 67%, 92% exact with seeds 42, 1, 2, 3 (loss 0.87, 0.78, 0.76, 0.85; two threads)
// and 83% and 92% (loss 0.96, 0.84) in two runs of this test (seed 42, one thread: TRL's runs are not bit-repeatable
// here), then 58% and 83% (loss 0.896, 0.889) in two more: the loss holds within 0.01 where exact match swings by
// 25 points, so the loss is the tight bar and exact match a floor far above the base model's 0%; the studio's runs 100% (this file's uncurated data; loss
// 0.73) and 87.5% (scripts/default-model/measure.ts, curated). Measured 2026-12-07. On 2 busy cores the studio's
// run takes most of the test's 4-11 minutes; TRL's 150 steps about half a minute.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportTrainingKit } from '../../src/export/trl';
import { zipExport } from '../../src/export/zip';
import { loadHfModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { presetFor } from '../../src/train/presets';
import { REPO_ROOT, studioJson } from '../helpers/cli';
import { venvPython } from '../helpers/torch';

const MODEL = 'public/models/default';
const DATA = 'public/samples/world-qa.messages.jsonl';
const HELD_OUT = join(REPO_ROOT, 'public/samples/world-qa.eval.jsonl');

const dir = mkdtempSync(join(tmpdir(), 'kit-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** One thread (the machine's cores are shared), the Hub offline, a cache of the test's own. */
const env = { ...process.env, OMP_NUM_THREADS: '1', HF_HUB_OFFLINE: '1', HF_HOME: join(dir, 'hf-home'), TOKENIZERS_PARALLELISM: 'false' };

interface Scored { exactMatch: number; hits: number; total: number; loss: number; answers: { want: string; got: string }[] }

describe('the TRL kit runs as shipped', () => {
  it('the quick run on the built-in model: the kit trains in real TRL unmodified, and its adapter answers like the studio\'s', async () => {
    const { config } = await loadHfModel(filesFromDirectory(join(REPO_ROOT, MODEL)));
    const { lora, train } = presetFor('quick', config);
    const studioRun = join(dir, 'studio');
    studioJson('train', MODEL, '--data', DATA, '--out', studioRun, '--json',
      '--rank', String(lora.rank), '--alpha', String(lora.alpha), '--dropout', String(lora.dropout), '--targets', lora.targetModules.join(','),
      '--lr', String(train.lr), '--schedule', train.schedule, '--warmup', String(train.warmupSteps), '--max-steps', String(train.maxSteps),
      '--batch-size', String(train.batchSize), '--grad-accum', String(train.gradAccumSteps), '--max-seq-len', String(train.maxSeqLength),
      '--seed', String(train.seed));
    const kitOut = join(dir, 'kit-export');
    studioJson('export', MODEL, '--adapter', studioRun, '--format', 'kit', '--data', DATA, '--out', kitOut, '--json');

    // The zip a user downloads, unzipped by another implementation.
    const files = new Map(readdirSync(kitOut, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name !== '.studio-output.json')
      .map((e) => { const path = join(e.parentPath, e.name); return [path.slice(kitOut.length + 1), new Uint8Array(readFileSync(path))] as const; }));
    expect([...files.keys()].filter((f) => f.startsWith('model/')).sort()).toEqual(['model/config.json', 'model/generation_config.json', 'model/model.safetensors', 'model/tokenizer.json', 'model/tokenizer_config.json']);
    const zip = join(dir, 'kit.zip');
    writeFileSync(zip, zipExport(files, { folder: 'quick-kit' }));
    const unzipped = join(dir, 'unzipped');
    execFileSync(venvPython(), ['-m', 'zipfile', '-e', zip, unzipped]);
    const kit = join(unzipped, 'quick-kit');

    // python train_trl.py, from the kit's folder, nothing edited.
    execFileSync(venvPython(), ['train_trl.py'], { cwd: kit, env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 2 ** 20 });
    const adapter = join(kit, 'outputs', 'lora');
    const saved = JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ peft_type: 'LORA', r: lora.rank, lora_alpha: lora.alpha, lora_dropout: lora.dropout });
    expect([...(saved.target_modules as string[])].sort()).toEqual([...lora.targetModules].sort());

    const scores = JSON.parse(execFileSync(venvPython(), [join(__dirname, '..', 'oracle', 'kit_eval.py'), join(kit, 'model'), HELD_OUT, `studio=${studioRun}`, `kit=${adapter}`],
      { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Record<'base' | 'studio' | 'kit', Scored>;
    const line = (k: keyof typeof scores) => `${k} ${scores[k].hits}/${scores[k].total} exact, loss ${scores[k].loss.toFixed(3)}`;
    console.log(`held-out (transformers + PEFT): ${line('base')}; ${line('studio')}; ${line('kit')}`);
    expect(scores.base.exactMatch).toBe(0);
    expect(scores.studio.exactMatch).toBeGreaterThanOrEqual(0.75);
    expect(scores.kit.exactMatch, JSON.stringify(scores.kit.answers.filter((a) => a.got !== a.want))).toBeGreaterThanOrEqual(0.5);
    expect(scores.kit.loss - scores.studio.loss).toBeLessThan(0.4);
  }, 1_200_000);

  it('a Hub model by its id: the kit names it, and runs unmodified from the Hugging Face cache', async () => {
    const repo = 'standin-org/world-llama';
    const snapshot = join(dir, 'hf-home', 'hub', `models--${repo.replace('/', '--')}`, 'snapshots', '0'.repeat(40));
    mkdirSync(snapshot, { recursive: true });
    cpSync(join(REPO_ROOT, MODEL), snapshot, { recursive: true });
    mkdirSync(join(snapshot, '..', '..', 'refs'));
    writeFileSync(join(snapshot, '..', '..', 'refs', 'main'), '0'.repeat(40));
    const { config } = await loadHfModel(filesFromDirectory(join(REPO_ROOT, MODEL)));
    const quick = presetFor('quick', config);
    const records = readFileSync(join(REPO_ROOT, DATA), 'utf8').split('\n').slice(0, 12).flatMap((l) => { try { return [JSON.parse(l) as { messages: [] }]; } catch { return []; } });
    const files = exportTrainingKit({ model: { hub: repo }, records, run: { ...quick, train: { ...quick.train, maxSteps: 3 } } });
    expect([...files.keys()]).toEqual(['train.jsonl', 'train_trl.py', 'axolotl.yaml']);
    const kit = join(dir, 'hub-kit');
    mkdirSync(kit);
    for (const [name, bytes] of files) writeFileSync(join(kit, name), bytes);
    execFileSync(venvPython(), ['train_trl.py'], { cwd: kit, env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 2 ** 20 });
    const saved = JSON.parse(readFileSync(join(kit, 'outputs', 'lora', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ peft_type: 'LORA', r: quick.lora.rank, base_model_name_or_path: repo });
  }, 300_000);
});
