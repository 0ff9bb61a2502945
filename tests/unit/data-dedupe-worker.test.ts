// Duplicate search through the worker protocol: the real client (workers/data-client.ts) and the real
// host (workers/data-host.ts, what workers/data-worker.ts runs) joined by a stand-in channel that
// clones each message and delivers it in a later task, as postMessage does. The records cross in
// slices, and the groups must be exactly those of one whole run of findDuplicates (the reference),
// including groups whose members sit in different slices.
import { describe, expect, it } from 'vitest';
import { findDuplicates } from '../../src/data/dedupe';
import { RECORDS_PER_MESSAGE } from '../../src/data/tools';
import { mulberry32 } from '../../src/data/hash';
import type { DataRequest } from '../../workers/protocol-data';
import { dataWorker } from '../helpers/data-worker';

function channel() {
  const { data, sent } = dataWorker();
  return { tools: data, sent: sent as DataRequest[] };
}

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon'.split(' ');

describe('duplicates through the worker', () => {
  it('sends the records in slices and finds exactly the groups of one whole run', async () => {
    const rand = mulberry32(11);
    const text = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
    const records = Array.from({ length: 4500 }, (_, i) => ({
      id: `r${i}`, messages: [{ role: 'user' as const, content: `question ${i}` }, { role: 'assistant' as const, content: text(40) }],
    }));
    // Exact copies (whitespace changed) and near copies (one word changed), across slice boundaries.
    for (const [from, to] of [[10, 2100], [10, 4400], [1999, 2000], [3000, 30]]) {
      records[to] = { id: `r${to}`, messages: records[from].messages.map((m) => ({ ...m, content: m.content.replace(/ /g, '  ') })) };
    }
    for (const [from, to] of [[500, 2500], [4200, 700]]) {
      records[to] = { id: `r${to}`, messages: records[from].messages.map((m, k) => ({ ...m, content: k ? m.content.replace(/^\S+/, 'changed') : m.content })) };
    }
    const opts = { near: true, threshold: 0.8 };
    const whole = findDuplicates(records, opts);
    expect(whole.filter((g) => g.kind === 'exact').length).toBe(3);
    expect(whole.some((g) => g.kind === 'near' && g.ids.includes('r500') && g.ids.includes('r2500'))).toBe(true);

    const { tools, sent } = channel();
    const fractions: number[] = [];
    const groups = await tools.findDuplicates(records, opts, (p) => fractions.push(p.fraction));
    expect(groups).toEqual(whole);
    expect(sent.map((r) => (r.kind === 'dedupeRecords' ? r.args.records.length : r.kind)))
      .toEqual([RECORDS_PER_MESSAGE, RECORDS_PER_MESSAGE, 4500 - 2 * RECORDS_PER_MESSAGE, 'duplicates']);
    expect(fractions.at(-1)).toBe(1);
    expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1])).toBe(true);

    // A second search starts from nothing: the first batch's records were let go.
    expect(await tools.findDuplicates(records.slice(0, 50), opts)).toEqual(findDuplicates(records.slice(0, 50), opts));
  });
});
