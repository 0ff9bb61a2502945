// Hostile and careless input to the command line, as a user runs it (scripts/run-gpu.mjs cli/studio.ts): each
// case must end in one clear "error: ..." line and a non-zero exit, with every input and the previous adapter
// untouched, or (for the cases the studio accepts) do what was meant. Issue 17's classes, one test each:
// outputs never destroy inputs, a stop is a stop, nothing to learn is an error, validation before
// allocation, one-line errors, content over extension, adapters for another model. Issue 27's: each message says
// what happened (an empty or unusable data file, a missing adapter folder, / as a model folder, only a test
// split), and what a killed command leaves is cleaned and named by the next command that writes beside it.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../../scripts/make-tiny-models';
import { parseSafetensors, readTensorF32, writeSafetensors } from '../../src/io/safetensors';
import { REPO_ROOT, STUDIO_LAUNCHER, studio } from '../helpers/cli';

let dir = '';
let model = '';
let data = '';
let adapter = '';
/** Enough rows for a run that is still training when it is stopped. */
let big = '';


/** A failure as the CLI must report it: non-zero, exactly one stderr line "error: ...", matching `why`. */
function expectRefused(r: ReturnType<typeof studio>, why: RegExp): void {
  expect(r.code, r.stderr).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(why);
}

/** Every file of a folder with its bytes, to show that nothing changed. */
function snapshot(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(path)) out[f] = readFileSync(join(path, f)).toString('base64');
  return out;
}

/** A copy of the tiny model with config.json (or another JSON file) edited. */
function modelWith(name: string, file: string, edit: (json: Record<string, unknown>) => void): string {
  const copy = join(dir, name);
  cpSync(model, copy, { recursive: true });
  const json = JSON.parse(readFileSync(join(copy, file), 'utf8'));
  edit(json);
  writeFileSync(join(copy, file), JSON.stringify(json));
  return copy;
}

/** A copy of the trained adapter with adapter_config.json edited. */
function adapterWith(name: string, edit: (json: Record<string, unknown>) => void): string {
  const copy = join(dir, name);
  cpSync(adapter, copy, { recursive: true });
  const json = JSON.parse(readFileSync(join(copy, 'adapter_config.json'), 'utf8'));
  edit(json);
  writeFileSync(join(copy, 'adapter_config.json'), JSON.stringify(json));
  return copy;
}

const ROWS = [
  { instruction: 'Say hi', input: '', output: 'hi' },
  { instruction: 'Say bye', input: '', output: 'bye' },
  { instruction: 'Count to two', input: '', output: 'one two' },
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-hard-'));
  model = join(dir, 'model');
  makeTinyModel('llama-small', model, 3);
  data = join(dir, 'train.jsonl');
  writeFileSync(data, ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
  big = join(dir, 'big.jsonl');
  writeFileSync(big, Array.from({ length: 200 }, (_, i) => JSON.stringify({ instruction: `Say hi ${i}`, input: '', output: 'hi there' })).join('\n'));
  adapter = join(dir, 'adapter');
  const t = studio('train', model, '--data', data, '--out', adapter, '--max-steps', '2', '--rank', '4', '--json');
  expect(t.code, t.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('outputs never destroy inputs', () => {
  it('refuses the model folder, the data file, their parent, a foreign folder and /proc; all stay as they were', () => {
    const before = { model: snapshot(model), data: readFileSync(data, 'utf8') };
    const foreign = join(dir, 'work');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    const train = (out: string) => studio('train', model, '--data', data, '--out', out, '--max-steps', '1');
    expectRefused(train(model), /is the model folder/);
    expectRefused(train(data), /is the data file/);
    expectRefused(train(dir), /contains the model folder/);
    expectRefused(train(foreign), /the studio did not write/);
    expectRefused(train('/proc/x'), /virtual file system/);
    expect(snapshot(model)).toEqual(before.model);
    expect(readFileSync(data, 'utf8')).toBe(before.data);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    // No staging folder is left next to any of them.
    expect(readdirSync(dir).filter((n) => n.includes('.studio-'))).toEqual([]);
  });
});

describe('a stop is a stop', () => {
  it('SIGTERM to the launcher ends the run with the previous adapter untouched and no staging left', async () => {
    const before = snapshot(adapter);
    const child = spawn(process.execPath, [STUDIO_LAUNCHER, 'cli/studio.ts', 'train', model, '--data', big, '--out', adapter, '--max-steps', '100000', '--rank', '4'], { cwd: REPO_ROOT });
    let stderr = '';
    // Stopped once training has started (its first step line), so the stop lands mid-run.
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => { stderr += d; if (stderr.includes('step ')) resolve(); }));
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stderr.trim().split('\n').at(-1)).toBe('error: interrupted by SIGTERM; nothing was written');
    expect(snapshot(adapter)).toEqual(before);
    expect(readdirSync(dir).filter((n) => n.includes('.studio-'))).toEqual([]);
  });
});

describe('a stop is a stop, even for kill -9', () => {
  it('kill -9 of the launcher: the command notices, removes its staging folder and exits; the adapter stays', async () => {
    const before = snapshot(adapter);
    const child = spawn(process.execPath, [STUDIO_LAUNCHER, 'cli/studio.ts', 'train', model, '--data', big, '--out', adapter, '--max-steps', '100000', '--rank', '4'], { cwd: REPO_ROOT });
    let stderr = '';
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => { stderr += d; if (stderr.includes('step ')) resolve(); }));
    expect(readdirSync(dir).filter((n) => n.startsWith('adapter.studio-new-'))).toHaveLength(1);
    child.kill('SIGKILL');
    // The command (the launcher's child, out of our reach) removes its staging folder as it stops.
    const deadline = Date.now() + 20_000;
    while (readdirSync(dir).some((n) => n.includes('.studio-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(readdirSync(dir).filter((n) => n.includes('.studio-'))).toEqual([]);
    expect(snapshot(adapter)).toEqual(before);
  });
});

describe('a run must have something to learn', () => {
  it('data without assistant turns: train and eval refuse, the previous adapter stays', () => {
    const before = snapshot(adapter);
    const noAnswers = join(dir, 'no-answers.jsonl');
    writeFileSync(noAnswers, `${JSON.stringify({ messages: [{ role: 'user', content: 'hello' }, { role: 'user', content: 'again' }] })}\n`);
    expectRefused(studio('train', model, '--data', noAnswers, '--out', adapter, '--max-steps', '1'), /nothing to learn/);
    expectRefused(studio('eval', model, '--data', noAnswers), /nothing to evaluate/);
    expect(snapshot(adapter)).toEqual(before);
  });

  it('NaN in the weights is refused at load', () => {
    const copy = join(dir, 'nan-model');
    cpSync(model, copy, { recursive: true });
    const file = parseSafetensors(new Uint8Array(readFileSync(join(copy, 'model.safetensors'))), 'model.safetensors');
    const tensors = [...file.tensors.keys()].map((name) => ({ name, ...readTensorF32(file, name) }));
    tensors.find((t) => t.name === 'model.norm.weight')!.data[3] = NaN;
    writeFileSync(join(copy, 'model.safetensors'), writeSafetensors(tensors));
    expectRefused(studio('info', copy), /model\.norm\.weight holds NaN at index 3/);
  });
});

describe('validate before allocating', () => {
  it('config sizes and numbers out of range are one line, before any table grows', () => {
    const cases: [string, (c: Record<string, unknown>) => void, RegExp][] = [
      ['layers', (c) => { c.num_hidden_layers = 1e12; }, /num_hidden_layers must be a whole number from 1 to 1024/],
      ['theta', (c) => { c.rope_theta = 0; }, /rope_theta must be a positive number/],
      ['eps', (c) => { c.rms_norm_eps = -1e-6; }, /config\.json: rms_norm_eps must be a number above 0 and below 1 \(got -0\.000001\)/],
    ];
    for (const [name, edit, why] of cases) expectRefused(studio('info', modelWith(`cfg-${name}`, 'config.json', edit)), why);
  });

  it('a chat template that would loop 10^8 times is refused', () => {
    const m = modelWith('tpl-range', 'tokenizer_config.json', (c) => { c.chat_template = '{% for i in range(100000000) %}x{% endfor %}'; });
    expectRefused(studio('generate', m, '--prompt', 'hi', '--max-new-tokens', '1'), /range\(\) of 100000000 items is over the limit/);
  });

  it('control characters from a file are escaped in the error line, and long lines are capped', () => {
    const m = modelWith('cfg-ctl', 'config.json', (c) => { c.model_type = `\u001b]0;pwned\u0007${'x'.repeat(2000)}`; });
    const r = studio('info', m, '--json');
    expectRefused(r, /unsupported architecture \\x1b\]0;pwned\\x07x+… \(\d+ more characters\)$/);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(r.stderr.length).toBeLessThan(600);
    // --json carries the whole message.
    expect(JSON.parse(r.stdout).error).toContain('x'.repeat(2000));
  });

  it('unknown options and numbers out of range are refused before loading', () => {
    const train = (...a: string[]) => studio('train', model, '--data', data, '--out', join(dir, 'never'), ...a);
    expectRefused(train('--rnak', '4'), /unknown option --rnak \(did you mean --rank\?\)/);
    for (const [flag, value, why] of [
      ['--lr', '-0.001', /--lr must be > 0/], ['--dropout', '1', /--dropout must be ≥ 0 and < 1/],
      ['--rank', '0', /--rank must be ≥ 1/], ['--epochs', '0', /--epochs must be ≥ 1/],
      ['--batch-size', '0', /--batch-size must be ≥ 1/], ['--grad-accum', '0', /--grad-accum must be ≥ 1/],
      ['--max-seq-len', '0', /--max-seq-len must be ≥ 2/], ['--rank', '2.5', /--rank must be a whole number/],
    ] as const) expectRefused(train(flag, value), why);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('a prompt longer than the context is refused', () => {
    expectRefused(studio('generate', model, '--prompt', 'hello '.repeat(2000), '--max-new-tokens', '4'), /the prompt is \d+ tokens; this model's context is 256 positions/);
  });
});

describe('adapters are checked against the model', () => {
  it('refuses an adapter of another base model (unless told), a huge rank and targets that match nothing', () => {
    const other = adapterWith('other-base', (c) => { c.base_model_name_or_path = 'someone/another-model'; });
    expectRefused(studio('generate', model, '--adapter', other, '--prompt', 'hi', '--max-new-tokens', '2'), /trained on someone\/another-model, not on .*--ignore-base-model/);
    const ok = studio('generate', model, '--adapter', other, '--prompt', 'hi', '--max-new-tokens', '2', '--ignore-base-model', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expectRefused(studio('generate', model, '--adapter', adapterWith('huge-r', (c) => { c.r = 50_000_000; }), '--prompt', 'hi'), /r must be a whole number up to 4096/);
    expectRefused(studio('generate', model, '--adapter', adapterWith('no-target', (c) => { c.target_modules = ['c_attn']; }), '--prompt', 'hi'), /"c_attn" matches no linear layer/);
  });
});

describe('say what was understood', () => {
  it('JSON Lines named .json trains on every row', () => {
    const misnamed = join(dir, 'rows.json');
    writeFileSync(misnamed, ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const d = studio('data', misnamed, '--json');
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ format: 'jsonl', records: 3 });
  });
});

describe('say what went wrong', () => {
  const file = (name: string, content: string | Buffer) => { const f = join(dir, name); writeFileSync(f, content); return f; };

  it('data: a file that yields no usable record exits 3 and says so first; --json carries the report', () => {
    const empty = file('empty.jsonl', '');
    expectRefused(studio('data', empty), new RegExp(`^error: ${empty} is empty: no rows, so no record to use$`));
    const j = studio('data', empty, '--json');
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: `${empty} is empty: no rows, so no record to use`, rows: 0, records: 0 });
    const refused = file('refused.jsonl', [{ messages: [{ role: 'wizard', content: 'x' }] }, { messages: [] }, { messages: [{ role: 'user' }] }, { messages: 'x' }]
      .map((r) => JSON.stringify(r)).join('\n'));
    expectRefused(studio('data', refused), /refused\.jsonl has no usable record: all 4 rows were refused \(line 1: messages\[0\] has unknown role 'wizard'; line 2: field 'messages' is empty; line 3: messages\[0\] has no text content; … \(1 more\)\)$/);
    // Usable rows beside refused ones: exit 0, the refusals listed.
    const mixed = studio('data', file('mixed.jsonl', `${ROWS.map((r) => JSON.stringify(r)).join('\n')}\n${JSON.stringify({ instruction: 'x', output: {} })}\n`), '--json');
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(JSON.parse(mixed.stdout)).toMatchObject({ records: 3, errors: [{ line: 4, message: "error: missing field 'output'" }] });
  });

  it('train: rows all refused, binary garbage, only a test split: how many, why, and which split', () => {
    const before = snapshot(adapter);
    const train = (data: string) => studio('train', model, '--data', data, '--out', adapter, '--max-steps', '1');
    const garbage = file('garbage.jsonl', Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919 + 13) % 256)));
    expectRefused(train(garbage), /garbage\.jsonl has no usable record: all \d+ rows were refused \(line 1: .*; line 2: .*; line 3: .*; … \(\d+ more\)\)$/);
    const invalid = file('invalid.jsonl', `${JSON.stringify({ instruction: 'x', output: {} })}\n${JSON.stringify({ instruction: {}, output: 'y' })}\n`);
    expectRefused(train(invalid), /invalid\.jsonl has no usable record: all 2 rows were refused \(line 1: missing field 'output'; line 2: missing field 'instruction'\)$/);
    const testOnly = file('test-only.json', JSON.stringify({ test: ROWS }));
    expectRefused(train(testOnly), /test-only\.json has no training rows: all 3 records are in the validation split \(grouped under val, validation, dev, eval or test\); training takes the train split$/);
    expect(snapshot(adapter)).toEqual(before);
  });

  it('eval on an empty file, a missing --adapter folder, / as a model folder', () => {
    const empty = file('empty-eval.jsonl', '\n\n');
    const e = studio('eval', model, '--data', empty);
    expectRefused(e, /empty-eval\.jsonl is empty: no rows, so no record to use$/);
    expect(e.stderr).not.toMatch(/none of the 0/);
    expectRefused(studio('generate', model, '--adapter', join(dir, 'no-such-adapter'), '--prompt', 'hi'), /--adapter .*no-such-adapter: no such folder$/);
    expectRefused(studio('info', '/'), /^error: \/ is not a model folder: it has no config\.json$/);
  });
});

describe('what a killed command leaves is cleaned and named by the next one that writes beside it', () => {
  it('SIGKILL to the command itself leaves its staging folder; an export to another folder beside it removes it and says so, and leaves a folder the studio did not write', async () => {
    const before = snapshot(adapter);
    const out = join(dir, 'killed');
    const child = spawn(process.execPath, [STUDIO_LAUNCHER, 'cli/studio.ts', 'train', model, '--data', big, '--out', out, '--max-steps', '100000', '--rank', '4'], { cwd: REPO_ROOT });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => { stderr += d; if (stderr.includes('step ')) resolve(); }));
    const [staging] = readdirSync(dir).filter((n) => n.startsWith('killed.studio-new-'));
    const pid = Number(staging.slice('killed.studio-new-'.length));
    // The command (the launcher's child) dies at once: no handler runs, its staging folder stays.
    process.kill(pid, 'SIGKILL');
    expect(await exited).toBe(137);
    expect(existsSync(join(dir, staging))).toBe(true);
    const foreign = join(dir, `notes.studio-new-${2 ** 22 + 7}`);
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');

    const r = studio('export', model, '--adapter', adapter, '--format', 'peft', '--out', join(dir, 'exported'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`note: removed ${staging}, the staging folder of a killed run (process ${pid}); killed is as it was`);
    expect(r.stderr).toContain(`note: left notes.studio-new-${2 ** 22 + 7} as it is: named like a studio folder, but the studio did not write it`);
    expect(readdirSync(dir).filter((n) => n.startsWith('killed'))).toEqual([]);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    expect(snapshot(adapter)).toEqual(before);
    rmSync(foreign, { recursive: true });
    rmSync(join(dir, 'exported'), { recursive: true });
  });
});

describe('the exit status says the class of failure (cli/exit.ts)', () => {
  it('usage 2, data 3, model or adapter 4, --out 5, anything else 1; each with its one line', () => {
    const empty = join(dir, 'empty-status.jsonl');
    writeFileSync(empty, '');
    const cases: [string[], number, RegExp][] = [
      [['train', model, '--data', data, '--out', join(dir, 'status'), '--rnak', '4'], 2, /unknown option --rnak/],
      [['eval', model, '--data', data, '--pairs', data], 2, /not both/],
      [['data', empty], 3, /is empty: no rows/],
      [['train', model, '--data', empty, '--out', join(dir, 'status')], 3, /is empty: no rows/],
      [['info', '/'], 4, /is not a model folder/],
      [['generate', model, '--adapter', join(dir, 'no-such-adapter'), '--prompt', 'hi'], 4, /no such folder/],
      [['train', model, '--data', data, '--out', data], 5, /is the data file/],
      [['generate', model, '--prompt', 'hello '.repeat(2000), '--max-new-tokens', '4'], 1, /this model's context is 256 positions/],
    ];
    for (const [args, code, why] of cases) {
      const r = studio(...args);
      expectRefused(r, why);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
    }
    expect(existsSync(join(dir, 'status'))).toBe(false);
  });
});
