// Curation logic: duplicates (exact + MinHash/LSH), quality checks, splits, the table's view query, and
// export (JSONL both forms, Parquet read back with hyparquet). References are independent: exact Jaccard
// over shingle sets for MinHash, hand-stated expectations for the rest.
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { estimatedJaccard, exactKey, findDuplicates, jaccard, minhash, shingles } from '../../src/data/dedupe';
import { exportJsonl, exportParquet } from '../../src/data/export';
import { mulberry32 } from '../../src/data/hash';
import { checkAll, checkRecord } from '../../src/data/quality';
import type { DatasetRecord } from '../../src/data/record';
import { assignSplits, splitCounts } from '../../src/data/split';
import { applyView, EMPTY_QUERY } from '../../src/data/view';

function rec(id: string, user: string, assistant: string, extra: Partial<DatasetRecord> = {}): DatasetRecord {
  return {
    id, messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }],
    source: { file: 'f.jsonl', line: Number(id.replace(/\D/g, '')) || 1 },
    original: { instruction: user, input: '', output: assistant, tag: 'kept' },
    shape: 'alpaca', flagged: false, split: 'train', edited: false, rev: 0, ...extra,
  };
}

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega'.split(' ');
function sentence(rand: () => number, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
}

describe('duplicates', () => {
  it('exact duplicates ignore whitespace differences but not case', () => {
    const rs = [rec('r1', 'Hi  there', 'Hello\n friend'), rec('r2', 'Hi there', 'Hello friend'), rec('r3', 'hi there', 'Hello friend')];
    expect(exactKey(rs[0])).toBe(exactKey(rs[1]));
    expect(findDuplicates(rs, { near: false, threshold: 0.8 })).toEqual([{ kind: 'exact', ids: ['r1', 'r2'], similarity: 1 }]);
  });

  it('MinHash estimates Jaccard similarity within sampling error', () => {
    const rand = mulberry32(7);
    for (let t = 0; t < 20; t++) {
      const base = sentence(rand, 60).split(' ');
      const edited = base.map((w) => (rand() < 0.1 ? 'changed' : w)).join(' ');
      const a = shingles(base.join(' ')), b = shingles(edited);
      // 64 hashes: standard error sqrt(J(1-J)/64) ≤ 0.0625; allow 4 sigma.
      expect(Math.abs(estimatedJaccard(minhash(a), minhash(b)) - jaccard(a, b))).toBeLessThan(0.25);
    }
  });

  it('near-duplicates group by similarity; unrelated text stays apart', () => {
    const rand = mulberry32(3);
    const base = sentence(rand, 80);
    const nearCopy = base.replace(/^(\S+)/, 'changedword');
    const rs = [
      rec('r1', 'Question about greek letters', base),
      rec('r2', 'Unrelated', sentence(rand, 80)),
      rec('r3', 'Question about greek letters', nearCopy),
      rec('r4', 'Question about greek letters', base), // exact copy of r1
    ];
    const a = shingles(rs[0].messages.map((m) => m.content).join('\n'));
    const c = shingles(rs[2].messages.map((m) => m.content).join('\n'));
    expect(jaccard(a, c)).toBeGreaterThan(0.9);
    const groups = findDuplicates(rs, { near: true, threshold: 0.8 });
    expect(groups.map((g) => [g.kind, g.ids])).toEqual([['exact', ['r1', 'r4']], ['near', ['r1', 'r3']]]);
    expect(groups[1].similarity).toBeGreaterThanOrEqual(0.8);
  });
});

describe('quality', () => {
  it('names empty, repeated, short and too-long examples', () => {
    const opts = { maxSeqLen: 10, minAnswerWords: 3 };
    expect(checkRecord(rec('r1', 'q', '   '), opts).checks).toEqual(['empty-response']);
    expect(checkRecord({ messages: [{ role: 'user', content: 'only a prompt' }] }, opts).checks).toEqual(['empty-response']);
    expect(checkRecord(rec('r2', 'Tell me about cats', 'tell me  about cats'), opts).checks).toContain('repeats-prompt');
    expect(checkRecord(rec('r3', 'Is the sky blue on a clear day?', 'Is the sky blue on a clear day? Yes it is.'), { ...opts, maxSeqLen: 1000 }).checks).toEqual(['repeats-prompt']);
    expect(checkRecord(rec('r4', 'q', 'Yes.'), opts).checks).toEqual(['short-answer']);
    const long = checkRecord(rec('r5', 'x'.repeat(40), 'a fine long enough answer'), opts); // 65 chars → 17 tokens (est.)
    expect(long).toMatchObject({ tokens: 17, overBy: 7, estimated: true });
    expect(long.checks).toEqual(['too-long']);
  });

  it('uses the given token counter instead of the estimate', () => {
    const r = checkRecord(rec('r1', 'a b c', 'one two three four'), { maxSeqLen: 5, minAnswerWords: 3, countTokens: (c) => c.messages.length * 4 });
    expect(r).toMatchObject({ tokens: 8, overBy: 3, estimated: false, checks: ['too-long'] });
  });
});

describe('split', () => {
  const rs = Array.from({ length: 1000 }, (_, i) => rec(`r${i}`, `q${i}`, `answer number ${i}`, { original: { part: i % 5 === 0 ? 'Validation' : 'train' } }));

  it('seeded random split: exact counts, same seed same split, other seed different', () => {
    const a = assignSplits(rs, { kind: 'random', seed: 1, validationFraction: 0.1 });
    expect(splitCounts(a)).toEqual({ train: 900, validation: 100 });
    const again = assignSplits(rs, { kind: 'random', seed: 1, validationFraction: 0.1 });
    expect(again.map((r) => r.split)).toEqual(a.map((r) => r.split));
    const other = assignSplits(rs, { kind: 'random', seed: 2, validationFraction: 0.1 });
    expect(other.map((r) => r.split)).not.toEqual(a.map((r) => r.split));
    expect(a.filter((r, i) => r.split !== rs[i].split).every((r) => r.rev > 0)).toBe(true);
    expect(a.every((r, i) => r.split !== rs[i].split || r === rs[i])).toBe(true); // unchanged rows keep their object
  });

  it('split by column', () => {
    expect(splitCounts(assignSplits(rs, { kind: 'column', column: 'part' }))).toEqual({ train: 800, validation: 200 });
  });
});

describe('view', () => {
  const rs = [
    rec('r1', 'Apple pie recipe', 'Bake it well and long.'),
    rec('r2', 'Banana bread', 'Mash the bananas first, then bake.', { flagged: true, split: 'validation' }),
    rec('r3', 'Cherry tart', 'x'),
  ];
  const verdicts = checkAll(rs);
  const ctx = { quality: (r: DatasetRecord) => verdicts.get(r.id)!, duplicateIds: new Set(['r3']) };
  const ids = (q: Partial<typeof EMPTY_QUERY>) => applyView(rs, { ...EMPTY_QUERY, ...q }, ctx).map((r) => r.id);

  it('search, column filters, flags, split, checks, duplicates, length', () => {
    expect(ids({})).toEqual(['r1', 'r2', 'r3']);
    expect(ids({ search: 'BAKE' })).toEqual(['r1', 'r2']);
    expect(ids({ prompt: 'bread' })).toEqual(['r2']);
    expect(ids({ response: 'bake it' })).toEqual(['r1']);
    expect(ids({ flag: 'flagged' })).toEqual(['r2']);
    expect(ids({ flag: 'unflagged' })).toEqual(['r1', 'r3']);
    expect(ids({ split: 'validation' })).toEqual(['r2']);
    expect(ids({ check: 'short-answer' })).toEqual(['r3']);
    expect(ids({ duplicates: 'duplicates' })).toEqual(['r3']);
    expect(ids({ minChars: 30 })).toEqual(['r1', 'r2']);
    expect(ids({ maxChars: 20 })).toEqual(['r3']);
  });

  it('sorts stably both ways', () => {
    expect(ids({ sort: { column: 'length', desc: true } })).toEqual(['r2', 'r1', 'r3']);
    expect(ids({ sort: { column: 'prompt', desc: false } })).toEqual(['r1', 'r2', 'r3']);
    expect(ids({ sort: { column: 'response', desc: true } })).toEqual(['r3', 'r2', 'r1']);
  });
});

describe('export', () => {
  const rs = [
    rec('r1', 'Q one', 'A one'),
    { ...rec('r2', 'Q two', 'A two'), messages: [{ role: 'user' as const, content: 'Q two (edited)' }, { role: 'assistant' as const, content: 'A two (edited)' }], edited: true },
  ];

  it('JSONL in messages form and in the original shape (edited rows rebuilt, extra fields kept)', () => {
    const m = exportJsonl(rs, 'messages').trim().split('\n').map((l) => JSON.parse(l));
    expect(m[1]).toEqual({ messages: [{ role: 'user', content: 'Q two (edited)' }, { role: 'assistant', content: 'A two (edited)' }] });
    const o = exportJsonl(rs, 'original').trim().split('\n').map((l) => JSON.parse(l));
    expect(o[0]).toEqual({ instruction: 'Q one', input: '', output: 'A one', tag: 'kept' });
    expect(o[1]).toEqual({ instruction: 'Q two (edited)', input: '', output: 'A two (edited)', tag: 'kept' });
  });

  it('Parquet round-trips through hyparquet', async () => {
    const buf = exportParquet(rs);
    const rows = await parquetReadObjects({ file: buf });
    expect(rows.map((r) => r.messages)).toEqual(rs.map((r) => r.messages));
    expect(rows.map((r) => [r.split, r.source_file, r.source_line])).toEqual([['train', 'f.jsonl', 1], ['train', 'f.jsonl', 2]]);
  });
});
