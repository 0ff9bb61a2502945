// Token statistics and the training preview with a real (small) tokenizer: the tiny 'llama-small' model's
// own byte-level BPE with a ChatML template (scripts/make-tiny-models.ts). The reference is computed
// independently from the rendered ChatML text and plain tok.encode, not from tokenizeConversation. The
// datasets store takes the loaded model's tokenizer by default; picked files override it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDatasetsStore } from '../../app/store/datasets';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { createLocalDataTools } from '../../src/data/tools';
import { dataToolsClient } from '../../workers/data-client';
import { loadTokenizerFiles, previewTokens, tokenStats } from '../../src/data/tokens';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import type { ChatMessage } from '../../src/data/types';

const files = buildTinyModel('llama-small', 1);
const text = (name: string) => new TextDecoder().decode(files.get(name)!);
const tokFiles = { name: 'tiny llama', tokenizerJson: text('tokenizer.json'), tokenizerConfig: text('tokenizer_config.json') };

const conv = (user: string, answer: string): ChatMessage[] => [{ role: 'user', content: user }, { role: 'assistant', content: answer }];
const chatml = (ms: ChatMessage[]) => ms.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('');

describe('token statistics', () => {
  it('lengths, trainable tokens and the cut match an independent count', async () => {
    const lt = await loadTokenizerFiles(tokFiles);
    expect(lt.info.hasTemplate).toBe(true);
    expect(lt.info.endOfTurn).toBe('<|im_end|>');
    const records = [
      { id: 'a', messages: conv('What is the capital of France?', 'The capital of France is Paris.') },
      { id: 'b', messages: conv('Say hello.', 'Hello there, it is nice to meet you and talk for a while today.') },
    ];
    const enc = (s: string) => lt.tok.encode(s, { addSpecialTokens: false });
    const full = records.map((r) => enc(chatml(r.messages)).length);
    const trainable = records.map((r) => enc(r.messages[1].content).length + 1); // answer + <|im_end|>
    const s = tokenStats(lt, records, { maxSeqLen: 1000, assistantOnly: true });
    expect(s.lengths).toEqual([['a', full[0]], ['b', full[1]]]);
    expect(s.trainable).toBe(trainable[0] + trainable[1]);
    expect(s.total).toBe(full[0] + full[1]);
    expect(s.cut).toBe(0);

    const maxSeqLen = full[1] - 5;
    const cut = tokenStats(lt, records, { maxSeqLen, assistantOnly: true });
    expect(cut.total).toBe(Math.min(full[0], maxSeqLen) + maxSeqLen);
    expect(cut.cut).toBe(Math.max(0, full[0] - maxSeqLen) + 5);
    expect(cut.trainable).toBeLessThan(s.trainable);

    const whole = tokenStats(lt, records, { maxSeqLen: 1000, assistantOnly: false });
    expect(whole.trainable).toBe(full[0] - 1 + full[1] - 1); // every token but the first is a target
  });

  it('the preview colours exactly the answer and its end of turn, and marks the cut', async () => {
    const lt = await loadTokenizerFiles(tokFiles);
    const ms = conv('Name a colour.', 'Blue is a colour.');
    const toks = previewTokens(lt, ms, { maxSeqLen: 1000, assistantOnly: true });
    expect(toks.map((t) => t.text).join('')).toBe(chatml(ms));
    expect(toks.filter((t) => t.target).map((t) => t.text).join('')).toBe('Blue is a colour.<|im_end|>');
    const cut = previewTokens(lt, ms, { maxSeqLen: 4, assistantOnly: true });
    expect(cut.map((t) => t.cut)).toEqual(toks.map((_, i) => i >= 4));
  });

  it('the data tools keep the loaded tokenizer and refuse work without one', async () => {
    const tools = createLocalDataTools();
    await expect(tools.previewTokens(conv('a', 'b'), { maxSeqLen: 10, assistantOnly: true })).rejects.toThrow(/no tokenizer/);
    const info = await tools.loadTokenizer(tokFiles);
    expect(info.vocabSize).toBeGreaterThan(256);
    const s = await tools.tokenStats([{ id: 'x', messages: conv('a b c', 'd e f') }], { maxSeqLen: 64, assistantOnly: true });
    expect(s.lengths[0][0]).toBe('x');
  });
});

describe('the studio counts with the loaded model\'s tokenizer', () => {
  it('takes the model\'s files by default, lets picked files override, and goes back', async () => {
    // The loaded model, as the engine would hand it over: its folder without tokenizer_config.json (the plain
    // fallback template); none at first.
    let model: typeof tokFiles | null = null;
    const modelFiles = async () => {
      if (!model) throw new Error('Load a model first.');
      return { ...model, tokenizerConfig: null };
    };
    const store = createDatasetsStore({ repo: createMemoryRepository(), tools: createLocalDataTools(modelFiles), autosaveMs: 5 });
    const s = () => store.getState();
    await s().importFiles([new File([readFileSync('tests/fixtures/data/alpaca.jsonl')], 'alpaca.jsonl')]);
    const opts = { maxSeqLen: s().quality.maxSeqLen, assistantOnly: true };

    await s().countWithModelTokenizer();
    expect(s().error).toBe("Could not read the loaded model's tokenizer: Load a model first.");
    expect(s().tokenizer).toBeNull();
    model = tokFiles;
    await s().countWithModelTokenizer();
    const plain = tokenStats(await loadTokenizerFiles({ ...tokFiles, tokenizerConfig: null }), s().records, opts);
    expect(s().tokenizer).toMatchObject({ name: 'tiny llama', origin: 'model', info: { hasTemplate: false } });
    expect(s().modelTokenizer).toBe('tiny llama');
    expect(s().tokenStats!.trainable).toBe(plain.trainable);

    await s().loadTokenizer([new File([tokFiles.tokenizerJson], 'tokenizer.json'), new File([tokFiles.tokenizerConfig], 'tokenizer_config.json')]);
    const chat = tokenStats(await loadTokenizerFiles(tokFiles), s().records, opts);
    expect(s().tokenizer).toMatchObject({ origin: 'files', info: { hasTemplate: true } });
    expect(s().tokenStats!.trainable).toBe(chat.trainable);
    expect(chat.trainable).not.toBe(plain.trainable); // the two templates differ, so the check can tell them apart

    await s().countWithModelTokenizer();
    expect(s().tokenizer).toMatchObject({ name: 'tiny llama', origin: 'model' });
    expect(s().tokenStats!.trainable).toBe(plain.trainable);
  });
});

describe('the worker client', () => {
  it('sends token statistics work in slices whose results add up to the whole', async () => {
    // A stand-in worker answering with the in-thread data tools, as workers/data-worker.ts does.
    const local = createLocalDataTools();
    const posts: number[] = [];
    const worker = {
      onmessage: null as ((ev: MessageEvent) => void) | null,
      onerror: null,
      postMessage(req: { id: number; kind: string; args: { files: never; records: never[]; options: never } }) {
        const reply = (v: object) => queueMicrotask(() => this.onmessage?.({ data: { id: req.id, ...v } } as MessageEvent));
        if (req.kind === 'loadTokenizer') void local.loadTokenizer(req.args.files).then((result) => reply({ kind: 'return', method: req.kind, result }));
        if (req.kind === 'tokenStats') {
          posts.push(req.args.records.length);
          void local.tokenStats(req.args.records, req.args.options).then((result) => reply({ kind: 'return', method: req.kind, result }));
        }
      },
      terminate() {},
    };
    const tools = dataToolsClient(worker as unknown as Worker);
    await tools.loadTokenizer(tokFiles);
    const records = Array.from({ length: 4500 }, (_, i) => ({ id: `r${i}`, messages: conv(`q${i}`, i % 7 ? `a${i}` : 'a longer answer '.repeat(i % 30)) }));
    const opts = { maxSeqLen: 64, assistantOnly: true };
    const sliced = await tools.tokenStats(records, opts);
    expect(posts).toEqual([2000, 2000, 500]);
    const whole = await local.tokenStats(records, opts);
    expect(sliced).toEqual(whole);
    expect(whole.cut).toBeGreaterThan(0); // the cut is exercised too
  });
});
