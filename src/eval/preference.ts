// Held-out preference evaluation: how often a model prefers the chosen answer of (prompt, chosen, rejected) pairs.
// Shared by the CLI's `eval --pairs` and the lesson's measure script, so both report the same numbers.
//
// Contract (ties count as not preferring chosen):
//  - logpAccuracy: share of pairs whose summed answer log-probability prefers chosen (πc > πr); logpMargin: mean
//    πc - πr. What the model would pick between the two if asked to score them.
//  - rewardAccuracy / rewardMargin, when reference log-probs are given: DPO's implicit reward, share of pairs with
//    (πc - refc) > (πr - refr), and the mean of that difference (no β: the CLI's reference is the adapter off, so
//    this reads "did the adapter move towards chosen", held out; the trainer's accuracy is the same on its batch).
//  - generation, when greedy answers are given (one per pair, to the pair's prompt): chosenRate / rejectedRate,
//    the share whose answer equals the chosen / rejected answer (normalizeAnswer on both sides), and
//    propertyRate, the share whose answer has the caller's property (the lesson's "names the home town").
//
// The same questions on a batch evaluation whose rows are pairs (batchPreference, versus): held-out pairs answered by
// several models side by side, so a DPO run can be set against the SFT run it started from.
//  - lean(answer) = ROUGE-L F1 against chosen - ROUGE-L F1 against rejected, in [-1, 1]: > 0 when the answer reads
//    more like the preferred answer. closerToChosen is the share of answers with lean > 0.
//  - versus(model, against), per pair: the model wins when its answer leans further towards chosen than the other
//    model's (answers), or when its log-prob margin πc - πr is larger (margins); equal values are ties. The win rate
//    is (wins + ties / 2) / pairs, as for the marks a person makes (metrics.ts winRate).
// Not here: tokenizing pairs (src/train/preference-pairs.ts), generating (the caller's decoder).
import type { Transformer } from '../model/transformer';
import { pairLogps } from '../train/preference';
import { type PreferenceExample, type PreferencePair } from '../train/preference-pairs';
import type { EvalRow } from './export';
import { normalizeAnswer, rougeL, winRate, type Verdict, type WinTally } from './metrics';

export interface PreferenceEval {
  pairs: number;
  logpAccuracy: number;
  logpMargin: number;
  rewardAccuracy?: number;
  rewardMargin?: number;
  generation?: { chosenRate: number; rejectedRate: number; propertyRate?: number };
}

type Logps = { chosen: number; rejected: number };

/** The answer a pair's chosen or rejected side stands for: its assistant turns' contents, joined. */
export function answerText(answer: PreferencePair['chosen']): string {
  return normalizeAnswer(answer.map((m) => m.content).join('\n'));
}

/** The scores from per-pair log-probs (and optionally reference log-probs and greedy answers); pure. */
export function preferenceScores(
  pairs: PreferencePair[], logps: Logps[],
  opts: { reference?: Logps[]; answers?: string[]; property?: (pair: PreferencePair, answer: string) => boolean } = {},
): PreferenceEval {
  const n = pairs.length;
  if (n === 0 || logps.length !== n) throw new Error(`need one log-prob pair per preference pair (${logps.length} for ${n})`);
  const share = (f: (i: number) => boolean) => pairs.reduce((s, _, i) => s + (f(i) ? 1 : 0), 0) / n;
  const mean = (f: (i: number) => number) => pairs.reduce((s, _, i) => s + f(i), 0) / n;
  const res: PreferenceEval = {
    pairs: n,
    logpAccuracy: share((i) => logps[i].chosen > logps[i].rejected),
    logpMargin: mean((i) => logps[i].chosen - logps[i].rejected),
  };
  const ref = opts.reference;
  if (ref) {
    const d = (i: number) => (logps[i].chosen - ref[i].chosen) - (logps[i].rejected - ref[i].rejected);
    res.rewardAccuracy = share((i) => d(i) > 0);
    res.rewardMargin = mean(d);
  }
  const answers = opts.answers?.map(normalizeAnswer);
  if (answers) {
    const property = opts.property;
    res.generation = {
      chosenRate: share((i) => answers[i] === answerText(pairs[i].chosen)),
      rejectedRate: share((i) => answers[i] === answerText(pairs[i].rejected)),
      ...(property ? { propertyRate: share((i) => property(pairs[i], answers[i])) } : {}),
    };
  }
  return res;
}

/**
 * Scores a model on held-out pairs: log-probs with the adapter as it is; with `reference: 'base'` also with the
 * adapter switched off (LoRA models only); greedy answers from `answer` when given.
 */
export async function evaluatePreference(
  model: Transformer, pairs: PreferencePair[], examples: PreferenceExample[],
  opts: {
    batchSize: number; maxSeqLength: number; padId: number; reference?: 'base';
    answer?: (prompt: PreferencePair['prompt']) => Promise<string>;
    property?: (pair: PreferencePair, answer: string) => boolean;
  },
): Promise<PreferenceEval> {
  const logps = await pairLogps(model, examples, opts.batchSize, opts.maxSeqLength, opts.padId);
  let reference: Logps[] | undefined;
  if (opts.reference === 'base') {
    if (model.mode.kind !== 'lora') throw new Error('a base-model reference needs a LoRA adapter to switch off');
    model.adapterEnabled = false;
    try {
      reference = await pairLogps(model, examples, opts.batchSize, opts.maxSeqLength, opts.padId);
    } finally {
      model.adapterEnabled = true;
    }
  }
  let answers: string[] | undefined;
  if (opts.answer) {
    answers = [];
    for (const p of pairs) answers.push(await opts.answer(p.prompt));
  }
  return preferenceScores(pairs, logps, { reference, answers, property: opts.property });
}

// ---- Batch rows that are pairs ----

export function lean(answer: string, chosen: string, rejected: string): number {
  return rougeL(answer, chosen).f - rougeL(answer, rejected).f;
}

export interface BatchPreference {
  pairs: number;
  /** Share of answers closer to chosen than to rejected (lean > 0), and the mean lean. */
  closerToChosen: number;
  meanLean: number;
  /** From the model's log-probs of both answers; null when the batch stopped before scoring them. */
  logpAccuracy: number | null;
  logpMargin: number | null;
}

const pairRows = (rows: readonly EvalRow[], model: string) => rows.filter((r) => r.pair && r.outputs[model]);
const rowLean = (r: EvalRow, model: string) => lean(r.outputs[model].text, r.reference, r.pair!.rejected);
const rowMargin = (r: EvalRow, model: string) => {
  const lp = r.pair!.logps?.[model];
  return lp ? lp.chosen - lp.rejected : null;
};

/** One model's scores over the rows that are pairs; null when none is. */
export function batchPreference(rows: readonly EvalRow[], model: string): BatchPreference | null {
  const rs = pairRows(rows, model);
  if (rs.length === 0) return null;
  const leans = rs.map((r) => rowLean(r, model));
  const margins = rs.map((r) => rowMargin(r, model));
  const scored = margins.every((m) => m !== null) ? (margins as number[]) : null;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    pairs: rs.length,
    closerToChosen: leans.filter((x) => x > 0).length / rs.length,
    meanLean: mean(leans),
    logpAccuracy: scored && scored.filter((m) => m > 0).length / rs.length,
    logpMargin: scored && mean(scored),
  };
}

const verdict = (mine: number, theirs: number): Verdict => (mine > theirs ? 'tuned' : mine < theirs ? 'base' : 'tie');

/**
 * `model` against `against` on the pairs both answered ('tuned' = model wins, 'base' = against wins); margins is
 * null unless every such pair has both models' log-probs.
 */
export function versus(rows: readonly EvalRow[], model: string, against: string): { answers: WinTally; margins: WinTally | null } | null {
  const rs = pairRows(rows, model).filter((r) => r.outputs[against]);
  if (rs.length === 0) return null;
  const margins = rs.map((r) => [rowMargin(r, model), rowMargin(r, against)]);
  return {
    answers: winRate(rs.map((r) => verdict(rowLean(r, model), rowLean(r, against)))),
    margins: margins.every(([a, b]) => a !== null && b !== null) ? winRate(margins.map(([a, b]) => verdict(a!, b!))) : null,
  };
}
