// Every tiny model kind written to disk by scripts/make-tiny-models.ts, loaded back through the Node
// directory adapter and loadHfModel, and checked against the safetensors reader directly: same tensors,
// same values, the real tokenizers and chat templates where the kind uses them. Generation is seeded.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildTinyModel, makeTinyModel, TINY_KINDS, type TinyKind } from '../../scripts/make-tiny-models';
import { expectedWeights, loadHfModel, stopTokenIds } from '../../src/io/hf';
import { filesFromDirectory } from '../../src/io/node-files';
import { parseSafetensors, readTensorF32 } from '../../src/io/safetensors';
import { tokenizeConversation } from '../../src/tokenize/loss-mask';

/** Bitwise equality (expect.toEqual walks millions of elements far too slowly for 128k-row embeddings). */
const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const root = mkdtempSync(join(tmpdir(), 'tiny-models-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const EXPECT: Record<TinyKind, { modelType: string; vocab: number; tied: boolean; endOfTurn: string | null }> = {
  llama: { modelType: 'llama', vocab: 128256, tied: true, endOfTurn: '<|eot_id|>' },
  qwen2: { modelType: 'qwen2', vocab: 151936, tied: false, endOfTurn: '<|im_end|>' },
  qwen3: { modelType: 'qwen3', vocab: 151936, tied: true, endOfTurn: '<|im_end|>' },
  gemma3: { modelType: 'gemma3_text', vocab: 262144, tied: true, endOfTurn: '<end_of_turn>' },
  'llama-small': { modelType: 'llama', vocab: 384, tied: false, endOfTurn: '<|im_end|>' },
  gpt2: { modelType: 'gpt2', vocab: 330, tied: true, endOfTurn: null },
  smollm3: { modelType: 'smollm3', vocab: 384, tied: true, endOfTurn: '<|im_end|>' },
};

describe.each(TINY_KINDS)('tiny %s', (kind) => {
  test('written to disk and loaded through the directory adapter, equal to the safetensors reader', async () => {
    const dir = join(root, kind);
    makeTinyModel(kind, dir, 11);
    const files = filesFromDirectory(dir);
    expect(files.list().sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const m = await loadHfModel(files);
    const e = EXPECT[kind];
    expect(m.config).toMatchObject({ modelType: e.modelType, vocabSize: e.vocab, tieWordEmbeddings: e.tied, hiddenSize: 32, numLayers: kind === 'gemma3' ? 3 : 2, numHeads: 4 });
    expect(m.config.numKvHeads).toBe(kind === 'gpt2' ? 4 : 2);
    // Gemma 3's tokenizer has one special token past the embedding (<image_soft_token>, as the real 1B model).
    expect(m.tokenizer.vocabSize).toBeLessThanOrEqual(m.config.vocabSize + (kind === 'gemma3' ? 1 : 0));

    // Every tensor the architecture needs, with its shape; values equal to reading the file directly.
    const expected = expectedWeights(m.config);
    expect([...m.weights.keys()].sort()).toEqual([...expected.keys()].sort());
    const st = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))), 'direct');
    for (const [name, w] of m.weights) {
      expect(w.shape, name).toEqual(expected.get(name));
      const fileName = kind === 'gpt2' ? name.replace(/^transformer\./, '') : name;
      expect(sameBits(w.data, readTensorF32(st, fileName).data), name).toBe(true);
    }
    if (m.config.attentionBias && kind !== 'gpt2') expect(m.weights.has('model.layers.0.self_attn.q_proj.bias')).toBe(true);

    expect(m.chatTemplate?.endOfTurn ?? null).toBe(e.endOfTurn);
    // Generation stops on the end-of-turn token too, even where it is not the EOS (Llama 3's <|eot_id|>).
    const stops = stopTokenIds(m);
    expect(stops).toContain(m.tokenizer.eosTokenId);
    if (e.endOfTurn) expect(stops).toContain(m.tokenizer.tokenToId(e.endOfTurn));
    expect(stops.every((id) => id < m.tokenizer.vocabSize)).toBe(true);
    expect(m.generationConfig).not.toBeNull();
    if (m.chatTemplate) {
      const r = tokenizeConversation(m.tokenizer, m.chatTemplate, [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello there.' }], { assistantOnly: true });
      expect(m.tokenizer.decode(r.inputIds.filter((_, i) => r.lossMask[i]))).toMatch(new RegExp(`Hello there\\.${e.endOfTurn!.replace(/\|/g, '\\|')}$`));
    }
  }, 120_000);
});

test('the same seed writes the same bytes; another seed other weights', () => {
  makeTinyModel('llama-small', join(root, 'a'), 1);
  makeTinyModel('llama-small', join(root, 'b'), 1);
  makeTinyModel('llama-small', join(root, 'c'), 2);
  const bytes = (d: string, f: string): Buffer => readFileSync(join(root, d, f));
  for (const f of ['config.json', 'tokenizer.json', 'model.safetensors']) expect(bytes('a', f).equals(bytes('b', f)), f).toBe(true);
  expect(bytes('a', 'model.safetensors').equals(bytes('c', 'model.safetensors'))).toBe(false);
  expect(bytes('a', 'tokenizer.json').equals(bytes('c', 'tokenizer.json'))).toBe(true);
});

test('the committed fixtures (tests/fixtures/models/{llama-small,gpt2}, seed 1) are what the script writes', () => {
  // They exist for tests without node:fs (the browser) and as small embedded defaults; regenerate with
  // makeTinyModel(kind, 'tests/fixtures/models/<kind>', 1) when the script changes.
  for (const kind of ['llama-small', 'gpt2'] as const) {
    const dir = join('tests', 'fixtures', 'models', kind);
    const built = buildTinyModel(kind, 1);
    expect(filesFromDirectory(dir).list().sort(), kind).toEqual([...built.keys()].sort());
    for (const [name, bytes] of built) expect(readFileSync(join(dir, name)).equals(bytes), `${kind}/${name}`).toBe(true);
  }
});

test('a directory that is not there', () => {
  expect(() => filesFromDirectory(join(root, 'nope'))).toThrow(/nope: not a directory/);
});
