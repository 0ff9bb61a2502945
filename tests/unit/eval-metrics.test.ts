// Metrics shared by the Compare screen and the CLI's `eval` (src/eval/metrics.ts) and the files the Compare
// screen exports (src/eval/export.ts). ROUGE-L cases are worked by hand in the comments; the LCS is also
// checked against a plain recursive definition on random short sequences.
import { describe, expect, it } from 'vitest';
import {
  answerLength, exactMatch, lcsLength, normalizeAnswer, promptAndReference, rougeL, rougeTokens, stoppedCleanly, summarize, winRate,
} from '../../src/eval/metrics';
import { csvField, evalCsv, evalJsonl, markedPairs, preferenceJsonl, type EvalRow, type PreferenceMark } from '../../src/eval/export';
import { preferencePairsFromJsonl } from '../../src/train/preference-pairs';

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-12);

describe('exact match', () => {
  it('ignores surrounding and repeated whitespace and Unicode composition, not case or punctuation', () => {
    expect(exactMatch('  Four.\n', 'Four.')).toBe(true);
    expect(exactMatch('Four \n\t legs', 'Four legs')).toBe(true);
    expect(exactMatch('caf\u0065\u0301', 'caf\u00e9')).toBe(true);
    expect(exactMatch('four.', 'Four.')).toBe(false);
    expect(exactMatch('Four', 'Four.')).toBe(false);
    expect(normalizeAnswer(' a  b ')).toBe('a b');
  });
});

describe('ROUGE-L', () => {
  it('matches hand-worked cases', () => {
    // cand 5 tokens, ref 6, LCS "the cat on the mat" = 5: P = 1, R = 5/6, F = 2·(5/6)/(11/6) = 10/11.
    const a = rougeL('The cat on the mat.', 'the cat sat on the mat');
    close(a.precision, 1); close(a.recall, 5 / 6); close(a.f, 10 / 11);
    // Reversed words: the LCS is the longest palindromic subsequence "the X the" = 3 of 6: P = R = F = 1/2.
    close(rougeL('mat the on sat cat the', 'the cat sat on the mat').f, 0.5);
    // Case and punctuation are not words.
    close(rougeL('Paris!', 'paris').f, 1);
    // Nothing in common, or nothing at all.
    expect(rougeL('alpha beta', 'gamma').f).toBe(0);
    expect(rougeL('', 'gamma').f).toBe(0);
    expect(rougeL('...', '').f).toBe(0);
    // Cand "a b c d" (4), ref "a x c" (3): LCS "a c" = 2, P = 1/2, R = 2/3, F = 2·(1/3)/(7/6) = 4/7.
    close(rougeL('a b c d', 'a x c').f, 4 / 7);
    expect(rougeTokens('Éte, déjà-vu 42')).toEqual(['éte', 'déjà', 'vu', '42']);
  });

  it('LCS equals the recursive definition on random sequences', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const ref = (a: string[], b: string[]): number => {
      const memo = new Map<string, number>();
      const go = (i: number, j: number): number => {
        if (i === a.length || j === b.length) return 0;
        const k = `${i},${j}`;
        if (!memo.has(k)) memo.set(k, a[i] === b[j] ? 1 + go(i + 1, j + 1) : Math.max(go(i + 1, j), go(i, j + 1)));
        return memo.get(k)!;
      };
      return go(0, 0);
    };
    for (let t = 0; t < 200; t++) {
      const a = Array.from({ length: Math.floor(rnd() * 9) }, () => 'abc'[Math.floor(rnd() * 3)]);
      const b = Array.from({ length: Math.floor(rnd() * 9) }, () => 'abc'[Math.floor(rnd() * 3)]);
      expect(lcsLength(a, b)).toBe(ref(a, b));
    }
  });
});

describe('lengths, stops, summaries, win rate', () => {
  it('counts answers without their end-of-turn token; stops at EOT or a stop string are clean', () => {
    expect(answerLength({ tokens: [5, 6, 2], finishReason: 'stop-token' })).toBe(2);
    expect(answerLength({ tokens: [5, 6, 7], finishReason: 'length' })).toBe(3);
    expect(stoppedCleanly({ finishReason: 'stop-string' })).toBe(true);
    expect(stoppedCleanly({ finishReason: 'length' })).toBe(false);
    const s = summarize([
      { output: { text: 'Four.', tokens: [1, 2, 0], finishReason: 'stop-token', tokensPerSecond: 10 }, reference: 'Four.' },
      { output: { text: 'Blue sky', tokens: [3, 4, 5, 6], finishReason: 'length', tokensPerSecond: 20 }, reference: 'Blue.' },
    ], Math.log(3));
    expect(s.examples).toBe(2);
    close(s.exactMatch, 0.5);
    close(s.rougeL, (1 + 2 / 3) / 2); // second: P = 1/2, R = 1, F = 2/3
    close(s.averageLength, (2 + 4) / 2);
    close(s.cleanStopRate, 0.5);
    close(s.tokensPerSecond!, 15);
    close(s.perplexity!, 3);
    expect(summarize([]).exactMatch).toBe(0);
  });

  it('scores ties as half a win', () => {
    const t = winRate(['tuned', 'tuned', 'base', 'tie']);
    expect(t).toMatchObject({ base: 1, tuned: 2, tie: 1, total: 4 });
    close(t.winRate!, 2.5 / 4);
    expect(winRate([]).winRate).toBeNull();
  });

  it('takes the prompt up to the last assistant turn', () => {
    const msgs = [{ role: 'system' as const, content: 's' }, { role: 'user' as const, content: 'q' }, { role: 'assistant' as const, content: 'a' }];
    expect(promptAndReference(msgs)).toEqual({ prompt: msgs.slice(0, 2), reference: 'a' });
    expect(promptAndReference(msgs.slice(0, 2))).toBeNull();
  });
});

describe('exports', () => {
  it('writes preference JSONL in TRL\'s conversational and standard forms, ties and equal answers left out', () => {
    const marks: PreferenceMark[] = [
      { prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Say "hi"\nplease' }] }, base: 'hi hi hi', tuned: 'Hi!', verdict: 'tuned' },
      { prompt: { kind: 'raw', text: 'Once upon' }, base: ' a time', tuned: ' zzz', verdict: 'base' },
      { prompt: { kind: 'raw', text: 'x' }, base: 'a', tuned: 'b', verdict: 'tie' },
      { prompt: { kind: 'raw', text: 'y' }, base: 'same', tuned: 'same', verdict: 'tuned' },
    ];
    const text = preferenceJsonl(markedPairs(marks));
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { prompt: [{ role: 'user', content: 'Say "hi"\nplease' }], chosen: [{ role: 'assistant', content: 'Hi!' }], rejected: [{ role: 'assistant', content: 'hi hi hi' }] },
      { prompt: 'Once upon', chosen: ' a time', rejected: ' zzz' },
    ]);
    // The marks train as they are: the preference trainer's reader takes the file whole (a chat mark as its turns;
    // how a raw-text mark should train, without the template, is open: it is read as a chat turn today).
    const pairs = preferencePairsFromJsonl(text, 'marks.jsonl');
    expect(pairs.length).toBe(2);
    expect(pairs[0]).toEqual({ prompt: [{ role: 'user', content: 'Say "hi"\nplease' }], chosen: [{ role: 'assistant', content: 'Hi!' }], rejected: [{ role: 'assistant', content: 'hi hi hi' }] });
  });

  it('writes an evaluation as RFC 4180 CSV and as JSONL', () => {
    expect(csvField('a,"b"\nc')).toBe('"a,""b""\nc"');
    expect(csvField(0.5)).toBe('0.5');
    const rows: EvalRow[] = [{
      index: 3, prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Capital, of France?' }] }, reference: 'Paris.',
      outputs: { base: { text: 'Paris is "big"', tokens: [1, 2, 3], finishReason: 'length', tokensPerSecond: 4 }, tuned: { text: 'Paris.', tokens: [9, 0], finishReason: 'stop-token' } },
    }];
    const csv = evalCsv(['base', 'tuned'], rows);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('index,model,prompt,reference,output,exact_match,rouge_l,length,finish_reason,clean_stop,tokens_per_second');
    // "Paris is big" (3 words) vs "paris": P = 1/3, R = 1, F = 2·(1/3)/(4/3) = 1/2.
    expect(lines[1]).toBe('3,base,"Capital, of France?",Paris.,"Paris is ""big""",false,0.5,3,length,false,4');
    expect(lines[2]).toBe('3,tuned,"Capital, of France?",Paris.,Paris.,true,1,1,stop-token,true,');
    const jl = evalJsonl(['base', 'tuned'], rows).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(jl.map((l) => [l.model, l.exact_match, l.length])).toEqual([['base', false, 3], ['tuned', true, 1]]);
  });
});
