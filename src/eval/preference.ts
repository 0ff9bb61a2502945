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
// Not here: tokenizing pairs (src/train/preference.ts), generating (the caller's decoder).
import type { Transformer } from '../model/transformer';
import { pairLogps, type PreferenceExample, type PreferencePair } from '../train/preference';
import { normalizeAnswer } from './metrics';

interface PreferenceEval {
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
