// Preference pairs in the Data step: each form's detection and normalisation (TRL explicit prompt as strings and as
// messages, the Compare screen's marks export, TRL implicit prompt, Anthropic HH), the per-row refusals, the readers
// they travel through (JSONL, CSV, Parquet), and the curation around them (dedupe, edit, token preview, export back
// to TRL). Expected values are written from each row's stated contents, never from running the importer.
import { readFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { createDatasetsStore } from '../../app/store/datasets';
import { buildTinyModel } from '../../scripts/make-tiny-models';
import { memorySource } from '../../src/data/bytes';
import { findDuplicates } from '../../src/data/dedupe';
import { createLocalDataTools } from '../../src/data/tools';
import { exportJsonl, exportParquet } from '../../src/data/export';
import { importSource, type FileImport } from '../../src/data/import';
import { detectShape } from '../../src/data/shapes';
import type { ChatMessage } from '../../src/data/types';
import { markedPairs, preferenceJsonl } from '../../src/eval/export';
import { createMemoryRepository } from '../../src/storage/memory-repository';
import { pairOfRecord, preferencePairOf } from '../../src/train/preference-pairs';

const enc = (t: string) => new TextEncoder().encode(t);
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const read = (name: string, text: string | Uint8Array) => importSource(memorySource(name, typeof text === 'string' ? enc(text) : text, 11));
const errors = (r: FileImport) => r.issues.filter((i) => i.severity === 'error').map((i) => [i.line, i.reason]);
const u = (content: string): ChatMessage => ({ role: 'user', content });
const a = (content: string): ChatMessage => ({ role: 'assistant', content });
const sys = (content: string): ChatMessage => ({ role: 'system', content });

describe('TRL explicit prompt', () => {
  it('the sample set (messages) reads as pairs: prompt + chosen in messages, the rejected answer apart', async () => {
    const text = readFileSync('public/samples/world-pref.train.jsonl', 'utf8');
    const rows = text.trim().split('\n').map((l) => JSON.parse(l) as { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] });
    const r = await read('world-pref.train.jsonl', text);
    expect(r.context.shape).toBe('preference');
    expect(r.issues).toEqual([]);
    expect(r.records.map((x) => x.messages)).toEqual(rows.map((x) => [...x.prompt, ...x.chosen]));
    expect(r.records.map((x) => x.rejected)).toEqual(rows.map((x) => x.rejected));
  });

  it('strings, a system turn in the prompt, and the Compare screen\'s marks export', async () => {
    const r = await read('s.jsonl', jsonl([
      { prompt: 'Name a colour.', chosen: 'Blue.', rejected: 'Blue blue blue.' },
      { prompt: [sys('Be brief.'), u('Hi')], chosen: [a('Hello.')], rejected: 'Hello there, how are you today?' },
    ]));
    expect(r.context.shape).toBe('preference');
    expect(r.records.map((x) => [x.messages, x.rejected])).toEqual([
      [[u('Name a colour.'), a('Blue.')], [a('Blue blue blue.')]],
      [[sys('Be brief.'), u('Hi'), a('Hello.')], [a('Hello there, how are you today?')]],
    ]);
    const marks = preferenceJsonl(markedPairs([
      { prompt: { kind: 'chat', messages: [u('Capital of France?')] }, base: 'Paris, Paris.', tuned: 'Paris.', verdict: 'tuned' },
      { prompt: { kind: 'raw', text: 'Once upon' }, base: ' a time', tuned: ' zzz', verdict: 'base' },
    ]));
    const m = await read('marks.jsonl', marks);
    expect(m.context.shape).toBe('preference');
    expect(m.records.map((x) => [x.messages, x.rejected])).toEqual([
      [[u('Capital of France?'), a('Paris.')], [a('Paris, Paris.')]],
      [[u('Once upon'), a(' a time')], [a(' zzz')]],
    ]);
  });

  it('through CSV (strings, and messages as JSON cells) and Parquet', async () => {
    const csv = 'prompt,chosen,rejected\r\n"Say hi, please",Hi!,"hi hi, hi"\r\n"[{""role"":""user"",""content"":""Q""}]","[{""role"":""assistant"",""content"":""A""}]",B\r\n';
    const c = await read('p.csv', csv);
    expect(c.context.shape).toBe('preference');
    expect(c.records.map((x) => [x.source.line, x.messages, x.rejected])).toEqual([
      [2, [u('Say hi, please'), a('Hi!')], [a('hi hi, hi')]],
      [3, [u('Q'), a('A')], [a('B')]],
    ]);
    const pq = new Uint8Array(parquetWriteBuffer({ columnData: [
      { name: 'prompt', data: ['One?', 'Two?'] }, { name: 'chosen', data: ['1', '2'] }, { name: 'rejected', data: ['one', '2'] },
    ] }));
    const p = await read('p.parquet', pq);
    expect(p.context.shape).toBe('preference');
    expect(p.records.map((x) => [x.messages, x.rejected])).toEqual([[[u('One?'), a('1')], [a('one')]]]);
    expect(errors(p)).toEqual([[2, 'chosen and rejected are the same (no preference to learn)']]);
  });
});

describe('TRL implicit prompt', () => {
  it('the shared turns are the prompt (an assistant turn in it stays context); the answers may be several turns', async () => {
    const prompt = [sys('Answer in French.'), u('Hello'), a('Bonjour.'), u('Thanks')];
    const r = await read('i.jsonl', jsonl([
      { chosen: [...prompt, a('De rien.')], rejected: [...prompt, a('You are welcome.')] },
      { chosen: [u('Q'), a('Part one.'), a('Part two.')], rejected: [u('Q'), a('No.')] },
    ]));
    expect(r.context.shape).toBe('preference-implicit');
    expect(r.records.map((x) => [x.messages, x.rejected])).toEqual([
      [[...prompt, a('De rien.')], [a('You are welcome.')]],
      [[u('Q'), a('Part one.'), a('Part two.')], [a('No.')]],
    ]);
    // The trainer's pair: the chosen answer is the final run of assistant turns, the rest the prompt.
    expect(pairOfRecord(r.records[1])).toEqual({ prompt: [u('Q')], chosen: [a('Part one.'), a('Part two.')], rejected: [a('No.')] });
    expect(pairOfRecord(r.records[0]).prompt).toEqual(prompt);
  });

  it('refuses, row by row: no rejected, identical answers, no shared prompt, an answer that is not the assistant\'s', async () => {
    const r = await read('bad.jsonl', jsonl([
      { chosen: [u('Q'), a('A')], rejected: [u('Q'), a('B')] },
      { chosen: [u('Q'), a('A')] },
      { chosen: [u('Q'), a('A')], rejected: [u('Q'), a('A')] },
      { chosen: [u('Q1'), a('A')], rejected: [u('Q2'), a('B')] },
      { chosen: [u('Q'), a('A'), u('more')], rejected: [u('Q'), a('B')] },
    ]));
    expect(r.context.shape).toBe('preference-implicit');
    expect(r.records.map((x) => x.source.line)).toEqual([1]);
    expect(errors(r)).toEqual([
      [2, "has 'chosen' but no 'rejected'"],
      [3, 'chosen and rejected are the same (no preference to learn)'],
      [4, 'chosen and rejected share no prompt (they must start with the same turns)'],
      [5, 'chosen: the answer must be assistant messages after the prompt'],
    ]);
    // A fixed row is read again the way its file was.
    const { retryIssue } = await import('../../src/data/import');
    const issue = r.issues.find((i) => i.line === 2)!;
    const fixed = retryIssue(issue, JSON.stringify({ chosen: [u('Q'), a('A')], rejected: [u('Q'), a('C')] }), r.context);
    expect('rejected' in fixed && fixed.rejected).toEqual([a('C')]);
  });
});

describe('Anthropic HH', () => {
  it('splits on the Human/Assistant markers; the shared prefix is the prompt', async () => {
    const head = '\n\nHuman: What is a kiln?\n\nAssistant: An oven for pottery.\n\nHuman: How hot does it get?';
    const r = await read('hh.jsonl', jsonl([
      { chosen: `${head}\n\nAssistant: Around 1200 °C for stoneware.`, rejected: `${head}\n\nAssistant: Hot.` },
      { chosen: 'Human: Hi\n\nAssistant: Hello!', rejected: 'Human: Hi\n\nAssistant:' },
    ]));
    expect(r.context.shape).toBe('hh-rlhf');
    const prompt = [u('What is a kiln?'), a('An oven for pottery.'), u('How hot does it get?')];
    expect(r.records.map((x) => [x.messages, x.rejected])).toEqual([
      [[...prompt, a('Around 1200 °C for stoneware.')], [a('Hot.')]],
      [[u('Hi'), a('Hello!')], [a('')]],
    ]);
    expect(r.issues).toEqual([]);
  });

  it('refuses text before the first turn, strings without turns, and rows whose conversations part before the answer', async () => {
    const rows = [
      { chosen: '\n\nHuman: Q\n\nAssistant: A', rejected: '\n\nHuman: Q\n\nAssistant: B' },
      { chosen: 'Preamble\n\nHuman: Q\n\nAssistant: A', rejected: '\n\nHuman: Q\n\nAssistant: B' },
      { chosen: '\n\nHuman: Q\n\nAssistant: A', rejected: 'just text' },
      { chosen: '\n\nHuman: Q\n\nAssistant: A\n\nHuman: more\n\nAssistant: C', rejected: '\n\nHuman: Q\n\nAssistant: B' },
      { chosen: '\n\nHuman: Q\n\nAssistant: A', rejected: '\n\nHuman: Q\n\nAssistant: A' },
    ];
    expect(detectShape(rows).shape).toBe('hh-rlhf');
    const r = await read('hh-bad.jsonl', jsonl(rows));
    expect(r.records.map((x) => x.source.line)).toEqual([1]);
    expect(errors(r)).toEqual([
      [2, 'field \'chosen\' has text before its first "Human:" turn'],
      [3, 'field \'rejected\' has no "Human:" / "Assistant:" turns'],
      [4, 'chosen: the answer must be assistant messages after the prompt'],
      [5, 'chosen and rejected are the same (no preference to learn)'],
    ]);
  });
});

describe('the trainer reads rows through the same reader', () => {
  it('any form, row by row, with the same refusals', () => {
    expect(preferencePairOf({ prompt: 'Q', chosen: 'A', rejected: 'B' })).toEqual({ prompt: [u('Q')], chosen: [a('A')], rejected: [a('B')] });
    expect(preferencePairOf({ chosen: '\n\nHuman: Q\n\nAssistant: A', rejected: '\n\nHuman: Q\n\nAssistant: B' }))
      .toEqual({ prompt: [u('Q')], chosen: [a('A')], rejected: [a('B')] });
    expect(preferencePairOf({ chosen: [u('Q'), a('A')], rejected: [u('Q'), a('B')] })).toEqual({ prompt: [u('Q')], chosen: [a('A')], rejected: [a('B')] });
    expect(() => preferencePairOf({ chosen: [u('Q'), a('A')], rejected: [u('R'), a('B')] })).toThrow(/share no prompt/);
    expect(() => preferencePairOf(['not', 'a', 'row'])).toThrow(/expected an object/);
    expect(() => pairOfRecord({ messages: [u('Q'), a('A')] })).toThrow(/not a preference pair/);
    expect(() => pairOfRecord({ messages: [u('Q')], rejected: [a('B')] })).toThrow(/chosen: the answer must be assistant messages/);
  });
});

describe('curating pairs', () => {
  const tiny = buildTinyModel('llama-small', 1);
  const text = (name: string) => new TextDecoder().decode(tiny.get(name)!);
  const tokFiles = { name: 'tiny llama', tokenizerJson: text('tokenizer.json'), tokenizerConfig: text('tokenizer_config.json') };

  it('dedupe counts a pair as the same only when both answers are', () => {
    const recs = [
      { id: 'a', messages: [u('Q'), a('A')], rejected: [a('B')] },
      { id: 'b', messages: [u('Q'), a('A')], rejected: [a('B')] },
      { id: 'c', messages: [u('Q'), a('A')], rejected: [a('C')] },
      { id: 'd', messages: [u('Q'), a('A')] },
    ];
    expect(findDuplicates(recs, { near: false, threshold: 0.8 })).toEqual([{ kind: 'exact', ids: ['a', 'b'], similarity: 1 }]);
  });

  it('the store previews both answers as the preference loss sees them, edits the rejected answer, and exports TRL rows', async () => {
    const store = createDatasetsStore({ repo: createMemoryRepository(), tools: createLocalDataTools(async () => tokFiles), autosaveMs: 5 });
    const s = () => store.getState();
    const hh = jsonl([
      { chosen: '\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Name a colour.\n\nAssistant: Blue.', rejected: '\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Name a colour.\n\nAssistant: I cannot say.' },
      { chosen: '\n\nHuman: Q\n\nAssistant: A', rejected: '\n\nHuman: Q\n\nAssistant: B' },
    ]);
    await s().importFiles([new File([hh], 'hh.jsonl')]);
    expect(s().records).toHaveLength(2);
    await s().countWithModelTokenizer();
    const id = s().records[0].id;
    await s().previewExample(id);
    const answer = (ts: { text: string; target: boolean }[]) => ts.filter((t) => t.target).map((t) => t.text).join('');
    // Only the answer after the prompt counts: the prompt's own assistant turn ("Hello.") is context.
    expect(answer(s().preview!.tokens)).toBe('Blue.<|im_end|>');
    expect(answer(s().preview!.rejected!)).toBe('I cannot say.<|im_end|>');
    expect(s().preview!.rejected!.map((t) => t.text).join('')).toContain('<|im_start|>assistant\nHello.<|im_end|>');

    s().editRecord(id, s().records[0].messages, [a('No idea.')]);
    const edited = s().records[0];
    expect(edited.rejected).toEqual([a('No idea.')]);
    expect(edited.edited).toBe(true);

    const trl = exportJsonl(s().records, 'messages').trim().split('\n').map((l) => JSON.parse(l));
    expect(trl[0]).toEqual({ prompt: [u('Hi'), a('Hello.'), u('Name a colour.')], chosen: [a('Blue.')], rejected: [a('No idea.')] });
    expect(trl[1]).toEqual({ prompt: [u('Q')], chosen: [a('A')], rejected: [a('B')] });
    // The original shape: the edited HH row is rebuilt as HH text that reads back to the same pair.
    const original = exportJsonl(s().records, 'original');
    const again = await read('again.jsonl', original);
    expect(again.context.shape).toBe('hh-rlhf');
    expect(again.records.map((x) => [x.messages, x.rejected])).toEqual(s().records.map((x) => [x.messages, x.rejected]));
    // Parquet: a set of pairs only is written as TRL's columns, and reads back as the same pairs.
    const pq = await read('pairs.parquet', new Uint8Array(exportParquet(s().records)));
    expect(pq.context.shape).toBe('preference');
    expect(pq.records.map((x) => [x.messages, x.rejected])).toEqual(s().records.map((x) => [x.messages, x.rejected]));
  });
});
