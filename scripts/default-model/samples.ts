// The sample datasets over the default model's invented world, one file per shape the importer reads:
//   world-qa.alpaca.json      Alpaca JSON     [{instruction, input, output}]
//   world-qa.sharegpt.json    ShareGPT JSON   [{conversations: [{from: human|gpt, value}]}]
//   world-qa.messages.jsonl   messages JSONL  {"messages": [{role, content}]} per line
//   world-qa.csv              CSV             instruction,output
//   world-qa.eval.jsonl       messages JSONL, the held-out evaluation set: only people the four files above
//                             never ask about (the pretraining corpus states their facts like everyone's)
//   world-pref.train.jsonl    TRL preference JSONL (conversational, explicit prompt) about the SFT people:
//                             chosen = the fact plus the home town sentence, rejected = the bare fact
//   world-pref.eval.jsonl     the same about the held-out people only (the preference lesson's held-out pairs)
// The four SFT files carry the same questions (all four per SFT person, in a seeded order) plus the same
// deliberately flawed rows for the curation tools to find: two exact duplicates, one empty answer and one
// example far longer than any sequence length; the JSONL also has one malformed line. The evaluation set is
// clean. Deterministic from the world.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { Rng } from '../../src/model/random';
import { preferenceQa, qa, type QA, type World } from './world';

export interface SampleFiles {
  sft: QA[];
  heldOut: QA[];
}

/** The clean SFT and held-out question/answer pairs (before any flaws are added). */
export function sampleQa(world: World): SampleFiles {
  const rng = new Rng(0x5eed);
  const sft = world.sft.flatMap(qa);
  const order = rng.permutation(sft.length).map((i) => sft[i]);
  return { sft: order, heldOut: world.heldOut.flatMap(qa) };
}

/** The SFT rows with the flaws mixed in at fixed places. */
function withFlaws(sft: QA[]): QA[] {
  const rows = [...sft];
  const longAnswer = Array.from({ length: 250 }, (_, i) => `${sft[i % sft.length].answer}`).join(' ');
  rows.splice(5, 0, { ...sft[2] });                                           // duplicate of row 3
  rows.splice(17, 0, { ...sft[11] });                                         // duplicate of row 12
  rows.splice(23, 0, { question: sft[23].question, answer: '' });             // empty answer
  rows.splice(40, 0, { question: 'Tell me everything you know about everyone.', answer: longAnswer }); // over-long
  return rows;
}

/** TRL's conversational preference rows; the training pairs in a seeded order. */
export function preferenceRows(world: World): { train: object[]; heldOut: object[] } {
  const row = (r: { question: string; chosen: string; rejected: string }) => ({
    prompt: [{ role: 'user', content: r.question }],
    chosen: [{ role: 'assistant', content: r.chosen }],
    rejected: [{ role: 'assistant', content: r.rejected }],
  });
  const train = world.sft.flatMap(preferenceQa);
  const order = new Rng(0x9ef).permutation(train.length);
  return { train: order.map((i) => row(train[i])), heldOut: world.heldOut.flatMap(preferenceQa).map(row) };
}

const messages = (r: QA) => [{ role: 'user', content: r.question }, { role: 'assistant', content: r.answer }];

export function writeSamples(world: World, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const { sft, heldOut } = sampleQa(world);
  const rows = withFlaws(sft);
  writeFileSync(join(dir, 'world-qa.alpaca.json'), `${JSON.stringify(rows.map((r) => ({ instruction: r.question, input: '', output: r.answer })), null, 1)}\n`);
  writeFileSync(join(dir, 'world-qa.sharegpt.json'), `${JSON.stringify(rows.map((r) => ({ conversations: [{ from: 'human', value: r.question }, { from: 'gpt', value: r.answer }] })), null, 1)}\n`);
  const jsonl = rows.map((r) => JSON.stringify({ messages: messages(r) }));
  jsonl.splice(30, 0, '{"messages": [{"role": "user", "content": "Where does Bram live?"}, {"role": "assistant", "content": "Bram lives in'); // malformed: cut off
  writeFileSync(join(dir, 'world-qa.messages.jsonl'), `${jsonl.join('\n')}\n`);
  writeFileSync(join(dir, 'world-qa.csv'), `${Papa.unparse(rows.map((r) => ({ instruction: r.question, output: r.answer })), { newline: '\n' })}\n`);
  writeFileSync(join(dir, 'world-qa.eval.jsonl'), `${heldOut.map((r) => JSON.stringify({ messages: messages(r) })).join('\n')}\n`);
  const pref = preferenceRows(world);
  writeFileSync(join(dir, 'world-pref.train.jsonl'), `${pref.train.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(join(dir, 'world-pref.eval.jsonl'), `${pref.heldOut.map((r) => JSON.stringify(r)).join('\n')}\n`);
}
