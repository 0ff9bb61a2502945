// Batch rows that are preference pairs (src/eval/preference.ts batchPreference, versus): hand-computed leans
// (ROUGE-L F1 against chosen minus against rejected), log-prob accuracy and margin, and the win rate of one model
// against another by answers and by margins, ties counted half; rows without a pair or a model's answer are left out.
import { describe, expect, it } from 'vitest';
import type { EvalRow } from '../../src/eval/export';
import { batchPreference, lean, versus } from '../../src/eval/preference';

const gen = (text: string) => ({ text, tokens: [], finishReason: 'stop-token' as const });
const row = (index: number, reference: string, rejected: string | null, outputs: Record<string, string>, logps?: Record<string, [number, number]>): EvalRow => ({
  index, prompt: { kind: 'raw', text: `q${index}` }, reference,
  outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, gen(v)])),
  ...(rejected === null ? {} : { pair: { rejected, ...(logps ? { logps: Object.fromEntries(Object.entries(logps).map(([k, [c, r]]) => [k, { chosen: c, rejected: r }])) } : {}) } }),
});

describe('lean', () => {
  it('ROUGE-L F1 against chosen minus against rejected', () => {
    // "calder is a sailor" vs chosen "calder is a sailor calder lives in tarn" (LCS 4 of 4 and 8: F1 2/3) and rejected (F1 1).
    expect(lean('Calder is a sailor.', 'Calder is a sailor. Calder lives in Tarn.', 'Calder is a sailor.')).toBeCloseTo(2 / 3 - 1, 12);
    expect(lean('Calder is a sailor. Calder lives in Tarn.', 'Calder is a sailor. Calder lives in Tarn.', 'Calder is a sailor.')).toBeCloseTo(1 - 2 / 3, 12);
    expect(lean('', 'a', 'b')).toBe(0);
  });
});

describe('batchPreference and versus', () => {
  const rows = [
    // sft answers the rejected way, dpo the chosen way: dpo wins by answers; margins 1 vs 3: dpo wins.
    row(0, 'Mira lives in Tollen by the sea.', 'Mira.', { sft: 'Mira.', dpo: 'Mira lives in Tollen by the sea.' }, { sft: [-5, -4], dpo: [-2, -5] }),
    // the same answer: a tie by answers; margins 2 vs 2: a tie.
    row(1, 'Bram keeps it.', 'Nobody.', { sft: 'Bram keeps it.', dpo: 'Bram keeps it.' }, { sft: [-3, -5], dpo: [-3, -5] }),
    // sft closer to chosen: sft wins by answers; margins -1 vs 4: dpo wins.
    row(2, 'The Senn.', 'It has no name.', { sft: 'The Senn.', dpo: 'It has no name.' }, { sft: [-4, -3], dpo: [-1, -5] }),
    // not a pair: left out of everything here.
    row(3, 'Four.', null, { sft: 'Four.', dpo: 'Five.' }),
  ];

  it('one model over the pairs', () => {
    const dpo = batchPreference(rows, 'dpo')!;
    expect(dpo.pairs).toBe(3);
    expect(dpo.closerToChosen).toBeCloseTo(2 / 3, 15);
    expect(dpo.meanLean).toBeCloseTo((lean(rows[0].outputs.dpo.text, rows[0].reference, 'Mira.') + 1 - 1) / 3, 12);
    expect(dpo.logpAccuracy).toBe(1);
    expect(dpo.logpMargin).toBeCloseTo((3 + 2 + 4) / 3, 12);
    const sft = batchPreference(rows, 'sft')!;
    expect(sft.closerToChosen).toBeCloseTo(2 / 3, 15);
    expect(sft.logpAccuracy).toBeCloseTo(1 / 3, 15);
    expect(sft.logpMargin).toBeCloseTo((-1 + 2 - 1) / 3, 12);
    expect(batchPreference(rows, 'nobody')).toBeNull();
    expect(batchPreference([rows[3]], 'sft')).toBeNull();
  });

  it('win rates by answers and by margins, ties half', () => {
    const v = versus(rows, 'dpo', 'sft')!;
    expect(v.answers).toEqual({ tuned: 1, base: 1, tie: 1, total: 3, winRate: 0.5 });
    expect(v.margins).toEqual({ tuned: 2, base: 0, tie: 1, total: 3, winRate: 2.5 / 3 });
    const back = versus(rows, 'sft', 'dpo')!;
    expect(back.margins!.winRate).toBeCloseTo(1 - 2.5 / 3, 15);
  });

  it('a batch stopped before the log-probs gives answers only', () => {
    const bare = rows.map((r) => (r.pair ? { ...r, pair: { rejected: r.pair.rejected } } : r));
    expect(batchPreference(bare, 'dpo')!.logpAccuracy).toBeNull();
    expect(versus(bare, 'dpo', 'sft')!.margins).toBeNull();
    expect(versus(bare, 'dpo', 'sft')!.answers.total).toBe(3);
  });
});
