// The embedded default model and sample datasets (scripts/default-model/): the committed folder loads the
// way the studio loads it, its own tokenizer round-trips and frames chats with a one-token end of turn, the
// sample files are exactly what the seeded generator writes (so the held-out people really are held out),
// the preference pairs read as TRL rows (chosen = rejected + the home town sentence, held-out people apart),
// and a short LoRA run on a few SFT rows lowers their loss.
// Exact-match quality (base vs tuned) takes minutes on SwiftShader and is measured by
// scripts/default-model/measure.ts, not here.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { memorySource } from '../../src/data/bytes';
import { importSource } from '../../src/data/import';
import { createGpu } from '../../src/gpu/runtime';
import { loadHfModel, parameterCount, type LoadedModel } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { Transformer } from '../../src/model/transformer';
import { tokenizeConversation } from '../../src/tokenize/loss-mask';
import { preferencePairsFromJsonl } from '../../src/train/preference-pairs';
import { evaluateLoss, DEFAULT_TRAIN, Trainer } from '../../src/train/trainer';
import { writeSamples } from '../../scripts/default-model/samples';
import { corpus, makeWorld, SEED } from '../../scripts/default-model/world';

const DIR = 'public/models/default';
const SAMPLES = 'public/samples';
const SAMPLE_FILES = ['world-qa.alpaca.json', 'world-qa.sharegpt.json', 'world-qa.messages.jsonl', 'world-qa.csv', 'world-qa.eval.jsonl', 'world-pref.train.jsonl', 'world-pref.eval.jsonl'];

let m: LoadedModel;
beforeAll(async () => {
  m = await loadHfModel(filesFromDirectory(DIR));
}, 60_000);

async function importFile(name: string) {
  return importSource(memorySource(name, new Uint8Array(readFileSync(join(SAMPLES, name)))));
}

const nameOf = (question: string): string => /(?:does|is) (\p{Lu}\p{Ll}+)/u.exec(question)?.[1] ?? '';

describe('default model folder', () => {
  it('is a tiny Llama in Hugging Face layout, well under 10 MB', () => {
    expect(m.config.architecture).toBe('llama');
    expect(m.config.modelType).toBe('llama');
    expect(statSync(join(DIR, 'model.safetensors')).size).toBeLessThan(10 * 2 ** 20);
    expect(parameterCount(m.config)).toBeLessThan(2_000_000);
    expect(m.tokenizer.vocabSize).toBeLessThanOrEqual(m.config.vocabSize);
    expect(m.tokenizer.vocabSize).toBeLessThanOrEqual(1000);
    const cfg = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8'));
    expect(cfg.torch_dtype).toBe('float32');
    expect(m.tokenizer.idToToken(cfg.eos_token_id)).toBe('<|im_end|>');
  });

  it('tokenizer round-trips prose, questions and special tokens', () => {
    const texts = [
      ...corpus(makeWorld(SEED), SEED, 20),
      "Where does Mira live?\nWhat is Tobin's job?", '  two  spaces, tabs\tand ünïcödé ✓ 123',
    ];
    for (const t of texts) expect(m.tokenizer.decode(m.tokenizer.encode(t, { addSpecialTokens: false }))).toBe(t);
    for (const s of ['<|endoftext|>', '<|im_start|>', '<|im_end|>']) {
      expect(m.tokenizer.encode(s, { addSpecialTokens: false })).toEqual([m.tokenizer.tokenToId(s)]);
    }
  });

  it('chat template ends each turn with one special token, and the SFT mask teaches it', () => {
    const tpl = m.chatTemplate!;
    expect(tpl).not.toBeNull();
    expect(tpl.endOfTurn).toBe('<|im_end|>');
    const eot = m.tokenizer.encode(tpl.endOfTurn, { addSpecialTokens: false });
    expect(eot).toHaveLength(1);
    const msgs = [{ role: 'user' as const, content: 'Where does Mira live?' }, { role: 'assistant' as const, content: 'Mira lives in Dunmore.' }];
    const ex = tokenizeConversation(m.tokenizer, tpl, msgs, { assistantOnly: true });
    const masked = ex.inputIds.filter((_, i) => ex.lossMask[i] === 1);
    expect(masked.at(-1)).toBe(eot[0]);
    // The template puts a space before content, so the answer's first word is the question's " Mira" token.
    expect(m.tokenizer.decode(masked, { skipSpecialTokens: true })).toBe(' Mira lives in Dunmore.');
    expect(masked[0]).toBe(m.tokenizer.encode('Where does Mira', { addSpecialTokens: false }).at(-1));
  });
});

describe('sample datasets', () => {
  it('are exactly what the seeded generator writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'samples-'));
    writeSamples(makeWorld(SEED), dir);
    for (const f of SAMPLE_FILES) expect(readFileSync(join(dir, f), 'utf8'), f).toBe(readFileSync(join(SAMPLES, f), 'utf8'));
  });

  it('import in each shape, with the deliberate flaws', async () => {
    const shapes: Record<string, string> = {
      'world-qa.alpaca.json': 'alpaca', 'world-qa.sharegpt.json': 'sharegpt', 'world-qa.messages.jsonl': 'messages', 'world-qa.csv': 'alpaca',
    };
    const counts = new Set<number>();
    for (const [file, shape] of Object.entries(shapes)) {
      const r = await importFile(file);
      expect(r.context.shape, file).toBe(shape);
      counts.add(r.records.length);
      const keys = r.records.map((x) => JSON.stringify(x.messages));
      expect(new Set(keys).size, `${file}: duplicates`).toBe(keys.length - 2);
      expect(r.records.filter((x) => x.messages.at(-1)!.content === '').length, `${file}: empty answers`).toBe(1);
      expect(Math.max(...r.records.map((x) => x.messages.at(-1)!.content.length)), `${file}: over-long`).toBeGreaterThan(4000);
      const errors = r.issues.filter((i) => i.severity === 'error');
      expect(errors.length, `${file}: malformed lines`).toBe(file.endsWith('.jsonl') ? 1 : 0);
    }
    expect(counts.size).toBe(1); // the same rows in every shape
  });

  it('held-out set asks only about people the SFT data never mentions but the corpus does', async () => {
    const sft = (await importFile('world-qa.messages.jsonl')).records.map((r) => r.messages.map((x) => x.content).join('\n'));
    const held = (await importFile('world-qa.eval.jsonl')).records;
    expect(held.length).toBeGreaterThanOrEqual(20);
    const names = new Set(held.map((r) => nameOf(r.messages[0].content)));
    const text = corpus(makeWorld(SEED), SEED, 200).join('\n');
    for (const n of names) {
      expect(n).not.toBe('');
      expect(sft.some((s) => new RegExp(`\\b${n}\\b`).test(s)), n).toBe(false);
      expect(text).toContain(`${n} lives in`);
    }
  });
});

describe('preference samples', () => {
  it('are TRL rows: the bare fact rejected, the fact plus the home town chosen; held-out pairs ask only about held-out people', () => {
    const read = (f: string) => preferencePairsFromJsonl(readFileSync(join(SAMPLES, f), 'utf8'), f);
    const train = read('world-pref.train.jsonl'), held = read('world-pref.eval.jsonl');
    const world = makeWorld(SEED);
    expect([train.length, held.length]).toEqual([3 * world.sft.length, 3 * world.heldOut.length]);
    const town = new Map(world.people.map((p) => [p.name, p.town]));
    for (const p of [...train, ...held]) {
      const name = nameOf(p.prompt[0].content);
      expect(p.chosen[0].content).toBe(`${p.rejected[0].content} ${name} lives in ${town.get(name)}.`);
    }
    const heldNames = new Set(world.heldOut.map((p) => p.name));
    expect(held.every((p) => heldNames.has(nameOf(p.prompt[0].content)))).toBe(true);
    expect(train.some((p) => heldNames.has(nameOf(p.prompt[0].content)))).toBe(false);
  });
});

describe('default model trains', () => {
  it('a short LoRA run on a few SFT rows lowers their loss', async () => {
    const gpu = await createGpu();
    const rows = (await importFile('world-qa.messages.jsonl')).records.slice(0, 8).filter((r) => r.messages.at(-1)!.content.length > 0 && r.messages.at(-1)!.content.length < 200);
    const examples = rows.map((r) => tokenizeConversation(m.tokenizer, m.chatTemplate!, r.messages, { assistantOnly: true, maxLength: 65 }));
    const lora = { rank: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] };
    const model = new Transformer(gpu, m.config, m.weights, { kind: 'lora', lora }, 7);
    const before = await evaluateLoss(model, examples, 8, 64, m.tokenizer.padTokenId ?? 0);
    const trainer = new Trainer(model, examples, { ...DEFAULT_TRAIN, lr: 5e-3, schedule: 'constant', maxSteps: 8, batchSize: examples.length, maxSeqLength: 64 }, m.tokenizer.padTokenId ?? 0);
    while (!trainer.done) await trainer.step();
    const after = await evaluateLoss(model, examples, 8, 64, m.tokenizer.padTokenId ?? 0);
    expect(Number.isFinite(before.loss)).toBe(true);
    // 8 full-batch steps at a high LR on 7 rows: at least a quarter off the loss (measured: 4.57 → 2.42).
    expect(after.loss).toBeLessThan(0.75 * before.loss);
    model.destroy();
  }, 120_000);
});
