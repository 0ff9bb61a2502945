// The pure parts of issue 17's hardening, each on its own: the one-line error format, the CLI's option
// grammar and ranges, the output folder rules and the recovery after kill -9 (on a real temp folder),
// config/LoRA validation, the base-model name check, content-over-extension format sniffing and the JSON
// nesting bound. The CLI end to end is tests/node/cli-hardening.test.ts.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { num, parseArgs } from '../../cli/args';
import { sniffFormat } from '../../src/data/formats';
import { nestsDeeperThan, parseJsonRow } from '../../src/data/formats/rows';
import { oneLine } from '../../src/errors';
import type { ModelConfig } from '../../src/model/config';
import { abandon, claimOutputFolder, commit, keepPartial, MANIFEST, partialOf, RESUME_FILE, STAGING_MARK, writeStaged } from '../../src/io/output';
import { assertFinite, baseModelMismatch, validateLora, validateModelConfig } from '../../src/io/validate';
import { DEFAULT_LORA } from '../../src/model/lora';

describe('oneLine', () => {
  it('escapes control and bidi characters and caps the length without splitting an escape', () => {
    expect(oneLine('a\u001b]0;title\u0007b\nc\td\u202ee\u0085')).toBe('a\\x1b]0;title\\x07b\\nc\\td\\u{202e}e\\x85');
    const long = oneLine(`${'x'.repeat(398)}\u0001${'y'.repeat(5000)}`);
    expect(long.startsWith('x'.repeat(398))).toBe(true);
    expect(long).toMatch(/^x{398}… \(5004 more characters\)$/); // the half escape "\x" is dropped, not printed
    expect(oneLine('plain')).toBe('plain');
  });
});

describe('CLI options', () => {
  const grammar = { flags: ['json'], options: ['rank', 'lr', 'out'] };
  it('refuses unknown options with the closest known one, and values on flags', () => {
    expect(() => parseArgs(['train', '--rnak', '4'], grammar)).toThrow('unknown option --rnak (did you mean --rank?)');
    expect(() => parseArgs(['train', '--frobnicate', '4'], grammar)).toThrow(/^unknown option --frobnicate$/);
    expect(() => parseArgs(['--json=yes'], grammar)).toThrow('--json takes no value');
    expect(() => parseArgs(['--rank'], grammar)).toThrow('--rank needs a value');
    const p = parseArgs(['train', 'm', '--rank=4', '--json', '--lr', '1e-3'], grammar);
    expect([p.positionals, p.options.get('rank'), p.flags.has('json')]).toEqual([['train', 'm'], ['4'], true]);
  });

  it('checks numbers against their range', () => {
    const p = (v: string) => parseArgs(['--lr', v], grammar);
    expect(num(p('1e-3'), 'lr', 1, { min: 0, minExclusive: true })).toBe(1e-3);
    expect(() => num(p('0'), 'lr', 1, { min: 0, minExclusive: true })).toThrow('--lr must be > 0, got 0');
    expect(() => num(p(''), 'lr', 1)).toThrow('--lr must be a number, got ""');
    expect(() => num(p('Infinity'), 'lr', 1)).toThrow(/must be a number/);
    expect(() => num(p('1'), 'lr', 1, { min: 0, max: 1, maxExclusive: true })).toThrow('--lr must be ≥ 0 and < 1, got 1');
    expect(() => num(p('2.5'), 'lr', 1, { integer: true })).toThrow('--lr must be a whole number, got 2.5');
    expect(num(parseArgs([], grammar), 'lr', 7, { min: 100 })).toBe(7); // the fallback is not the user's
  });
});

/** A staging folder as a run killed while writing it leaves it: marked as the studio's, with `files`. */
function stagingOfDeadRun(path: string, files: Record<string, string>): void {
  mkdirSync(path);
  writeFileSync(join(path, STAGING_MARK), '{}');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
}

describe('output folders', () => {
  let root = '';
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'out-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('takes a new or empty folder or its own, and refuses inputs, their parents, files and foreign folders', () => {
    const model = join(root, 'models', 'm');
    mkdirSync(model, { recursive: true });
    writeFileSync(join(model, 'config.json'), '{}');
    const data = join(root, 'data.jsonl');
    writeFileSync(data, '{}\n');
    const inputs = [{ path: model, what: 'the model folder' }, { path: data, what: 'the data file' }];
    expect(() => claimOutputFolder(model, inputs)).toThrow(/is the model folder/);
    expect(() => claimOutputFolder(join(root, 'models'), inputs)).toThrow(/contains the model folder/);
    expect(() => claimOutputFolder(`${root}/./models/../models/m/`, inputs)).toThrow(/is the model folder/);
    expect(() => claimOutputFolder(data, inputs)).toThrow(/is the data file/);
    expect(() => claimOutputFolder(root, inputs)).toThrow(/contains the model folder/);
    expect(() => claimOutputFolder('/proc/self/x', inputs)).toThrow(/virtual file system/);
    const foreign = join(root, 'mine');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'keep.txt'), 'k');
    expect(() => claimOutputFolder(foreign, inputs)).toThrow(/the studio did not write/);
    mkdirSync(join(root, 'empty'));
    const claim = claimOutputFolder(join(root, 'empty'), inputs);
    commit(claim, 'test', { 'a.txt': 'one' });
    expect(readdirSync(join(root, 'empty')).sort()).toEqual([MANIFEST, 'a.txt']);
    // Its own folder again: replaced whole, the previous files gone only after the new ones are in place.
    const again = claimOutputFolder(join(root, 'empty'), inputs);
    commit(again, 'test', { 'b.txt': 'two' });
    expect(readdirSync(join(root, 'empty')).sort()).toEqual([MANIFEST, 'b.txt']);
    expect(readdirSync(root).filter((n) => n.includes('.studio-'))).toEqual([]);
    expect(readFileSync(join(foreign, 'keep.txt'), 'utf8')).toBe('k');
  });

  it('abandon leaves the previous output; after kill -9 the next claim restores it and clears the staging', () => {
    const out = join(root, 'adapter');
    commit(claimOutputFolder(out, []), 'test', { 'w.bin': 'v1' });
    abandon(claimOutputFolder(out, []));
    expect(readFileSync(join(out, 'w.bin'), 'utf8')).toBe('v1');
    // A run killed between the two renames of commit: the previous output sits at .studio-old-<dead pid>.
    const dead = 2 ** 22 + 7; // above pid_max's default: no such process
    const old = `${out}.studio-old-${dead}`;
    stagingOfDeadRun(`${out}.studio-new-${dead}`, { 'w.bin': 'half' });
    rmSync(old, { recursive: true, force: true });
    renameSync(out, old);
    expect(existsSync(out)).toBe(false);
    const claim = claimOutputFolder(out, []);
    expect(readFileSync(join(out, 'w.bin'), 'utf8')).toBe('v1');
    expect(readdirSync(root).sort()).toEqual(['adapter', `adapter.studio-new-${process.pid}`]);
    expect(claim.recovered.sort()).toEqual([
      `adapter put back from adapter.studio-old-${dead}: a run (process ${dead}) was killed while replacing it`,
      `removed adapter.studio-new-${dead}, the staging folder of a killed run (process ${dead}); adapter is as it was`,
    ]);
    abandon(claim);
  });

  it('a run with a checkpoint that will not commit keeps it as the partial run, whole, and replaces nothing else', () => {
    const out = join(root, 'adapter');
    commit(claimOutputFolder(out, []), 'test', { 'w.bin': 'v1' });
    // Stopped: the staging folder with its checkpoint becomes <out>.studio-partial; one without is removed.
    const claim = claimOutputFolder(out, []);
    writeStaged(claim, RESUME_FILE, 'step 4');
    expect(readdirSync(claim.staging).sort()).toEqual([STAGING_MARK, RESUME_FILE]); // written whole: no .part left
    expect(keepPartial(claim)).toBe(partialOf(claim.dir));
    expect(keepPartial(claimOutputFolder(out, []))).toBeNull();
    expect(readFileSync(join(partialOf(claim.dir), RESUME_FILE), 'utf8')).toBe('step 4');
    // Killed with -9: the next claim keeps the dead run's checkpoint as the partial run (the newer one).
    const dead = 2 ** 22 + 7;
    stagingOfDeadRun(`${out}.studio-new-${dead}`, { [RESUME_FILE]: 'step 6' });
    const next = claimOutputFolder(out, []);
    abandon(next);
    expect(next.recovered).toEqual([`adapter.studio-new-${dead}, the staging folder of a killed run (process ${dead}), holds a checkpoint: kept as adapter.studio-partial; continue it with --resume ${partialOf(out)}`]);
    expect(readFileSync(join(partialOf(claim.dir), RESUME_FILE), 'utf8')).toBe('step 6');
    expect(readFileSync(join(out, 'w.bin'), 'utf8')).toBe('v1');
    expect(readdirSync(root).sort()).toEqual(['adapter', 'adapter.studio-partial']);
  });

  it('what killed runs left is cleaned by a claim of any output beside it, and named; what the studio did not write is left', () => {
    const dead = 2 ** 22 + 7;
    commit(claimOutputFolder(join(root, 'a'), []), 'test', { 'w.bin': 'v1' });
    stagingOfDeadRun(join(root, `a.studio-new-${dead}`), { 'adapter_model.safetensors': 'half' });
    mkdirSync(join(root, `b.studio-new-${dead + 1}`)); // the run died before it marked its folder: empty
    const foreign = join(root, `c.studio-new-${dead + 2}`);
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    const live = join(root, `d.studio-new-${process.pid}`); // a run still going (this process)
    stagingOfDeadRun(live, { 'checkpoint-last.ckpt.part': 'x' });
    const claim = claimOutputFolder(join(root, 'other'), []);
    expect(claim.recovered.sort()).toEqual([
      `left c.studio-new-${dead + 2} as it is: named like a studio folder, but the studio did not write it`,
      `removed a.studio-new-${dead}, the staging folder of a killed run (process ${dead}); a is as it was`,
      `removed b.studio-new-${dead + 1}, the staging folder of a killed run (process ${dead + 1}); b is as it was`,
    ]);
    expect(readdirSync(root).sort()).toEqual(['a', `c.studio-new-${dead + 2}`, `d.studio-new-${process.pid}`, `other.studio-new-${process.pid}`]);
    expect(readFileSync(join(root, 'a', 'w.bin'), 'utf8')).toBe('v1');
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    // Committed, the output carries the manifest and not the staging mark.
    commit(claim, 'test', { 'x.bin': 'x' });
    expect(readdirSync(join(root, 'other')).sort()).toEqual([MANIFEST, 'x.bin']);
  });
});

const LLAMA: ModelConfig = {
  architecture: 'llama', modelType: 'llama', vocabSize: 256, hiddenSize: 32, intermediateSize: 64, numLayers: 2,
  numHeads: 4, numKvHeads: 2, headDim: 8, maxPositions: 256, normEps: 1e-6, ropeTheta: 10000, attentionBias: false,
  mlpBias: false, tieWordEmbeddings: false, bosTokenId: null, eosTokenId: null,
};

describe('model config and LoRA validation', () => {
  it('accepts a sane config and refuses each field out of range, naming it as config.json does', () => {
    expect(() => validateModelConfig(LLAMA)).not.toThrow();
    const bad: [Partial<ModelConfig>, RegExp][] = [
      [{ numLayers: 1e12 }, /num_hidden_layers must be a whole number from 1 to 1024 \(got 1000000000000\)/],
      [{ hiddenSize: 0 }, /hidden_size/], [{ vocabSize: 2.5 }, /vocab_size/],
      [{ numKvHeads: 3 }, /not a multiple of num_key_value_heads 3/], [{ numKvHeads: 8 }, /num_key_value_heads must be .* to 4/],
      [{ ropeTheta: 0 }, /rope_theta must be a positive number/], [{ ropeTheta: NaN }, /rope_theta/],
      [{ normEps: -1e-6 }, /epsilon must be between 0 and 1/], [{ normEps: 1 }, /epsilon/],
      [{ headDim: 7 }, /head size 7 is odd/],
      [{ numLayers: 1000, hiddenSize: 65536, intermediateSize: 262144 }, /more than the studio can hold/],
    ];
    for (const [edit, why] of bad) expect(() => validateModelConfig({ ...LLAMA, ...edit }, 'm/config.json'), JSON.stringify(edit)).toThrow(why);
    expect(() => validateModelConfig({ ...LLAMA, architecture: 'gpt2', ropeTheta: 0, headDim: 7, numHeads: 4, numKvHeads: 4 })).not.toThrow();
  });

  it('checks rank against the targeted layers and targets against the model', () => {
    const linears = [{ path: 'model.layers.0.self_attn.q_proj', shape: [32, 32] }, { path: 'model.layers.0.self_attn.k_proj', shape: [16, 32] }];
    const lora = { ...DEFAULT_LORA, targetModules: ['q_proj', 'k_proj'] };
    expect(() => validateLora({ ...lora, rank: 16 }, linears, 'x')).not.toThrow();
    expect(() => validateLora({ ...lora, rank: 17 }, linears, 'x')).toThrow('x: rank 17 is larger than the smallest targeted layer (16 features)');
    expect(() => validateLora({ ...lora, rank: 17, targetModules: ['q_proj'] }, linears, 'x')).not.toThrow();
    expect(() => validateLora({ ...lora, rank: 50_000_000 }, linears, 'x')).toThrow(/rank must be a whole number from 1 to 4096/);
    expect(() => validateLora({ ...lora, dropout: 1 }, linears, 'x')).toThrow(/dropout must be at least 0 and below 1/);
    expect(() => validateLora({ ...lora, alpha: 0 }, linears, 'x')).toThrow(/alpha must be a positive number/);
    expect(() => validateLora({ ...lora, targetModules: ['q_proj', 'c_attn'] }, linears, 'x')).toThrow('x: target module "c_attn" matches no linear layer of this model');
  });

  it('finds NaN and Inf in tensors', () => {
    expect(() => assertFinite(new Float32Array([1, 2, 3]), 'f', 't')).not.toThrow();
    expect(() => assertFinite(new Float32Array([1, Infinity]), 'f', 't')).toThrow('f: tensor t holds Infinity at index 1');
  });

  it('compares base models by their last path segment, and passes unnamed ones', () => {
    expect(baseModelMismatch('HuggingFaceTB/SmolLM2-135M', '/models/smollm2-135m/')).toBeNull();
    expect(baseModelMismatch('org/a', 'b')).toBe('the adapter was trained on org/a, not on b');
    expect(baseModelMismatch(null, 'b')).toBeNull();
    expect(baseModelMismatch('dropped files', 'b')).toBeNull();
    // The page calls the built-in model "default model"; the studio's exports record its folder.
    expect(baseModelMismatch('public/models/default', 'default model')).toBeNull();
    expect(baseModelMismatch('default model', 'public/models/default')).toBeNull();
    expect(baseModelMismatch('elsewhere/world-model', 'default model')).toBe('the adapter was trained on elsewhere/world-model, not on default model');
  });
});

describe('formats by content', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  it('reads JSON Lines named .json as JSON Lines, and a real .json object as JSON', () => {
    expect(sniffFormat('rows.json', bytes('{"a":1}\n{"a":2}\n'))).toBe('jsonl');
    expect(sniffFormat('rows.json', bytes('{\n  "train": [{"a": 1}]\n}'))).toBe('json');
    expect(sniffFormat('rows.json', bytes('[{"a":1}]'))).toBe('json');
    expect(sniffFormat('rows.jsonl', bytes('[{"a":1},\n{"a":2}]'))).toBe('json');
    expect(sniffFormat('rows.csv', bytes('PAR1\0\0'))).toBe('parquet');
    expect(sniffFormat('rows.parquet', bytes('a,b\n1,2\n'))).toBe('csv');
    expect(sniffFormat('rows.csv', bytes('a,b\n1,2\n'))).toBe('csv');
  });

  it('bounds JSON nesting, ignoring brackets inside strings', () => {
    expect(nestsDeeperThan('[[[]]]', 3)).toBe(false);
    expect(nestsDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(nestsDeeperThan('["[[[[[", "\\"[[[["]', 1)).toBe(false);
    const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(parseJsonRow(deep)).toEqual({ ok: false, reason: 'nested more than 64 levels deep' });
  });
});
