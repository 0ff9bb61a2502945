// Train / validation split, either seeded random or by a column of the original rows.
//   random:  each record gets score fmix32(seed ⊕ fnv1a(id)); the round(n × fraction) lowest scores are
//            validation. The same seed and ids give the same split; adding rows moves few others.
//   column:  the value of original[column]; val/valid/validation/dev/eval/test (any case) → validation,
//            anything else (or missing) → train.
import { fmix32, fnv1a } from './hash';
import { withSplit, type DatasetRecord, type Split } from './record';

export type SplitConfig =
  | { kind: 'random'; seed: number; validationFraction: number }
  | { kind: 'column'; column: string };

export const DEFAULT_SPLIT: SplitConfig = { kind: 'random', seed: 42, validationFraction: 0.1 };

const VALIDATION_VALUES = /^(val|valid|validation|dev|eval|test)$/i;

export function assignSplits(records: readonly DatasetRecord[], cfg: SplitConfig): DatasetRecord[] {
  if (cfg.kind === 'column') {
    return records.map((r) => {
      const v = r.original[cfg.column];
      return withSplit(r, typeof v === 'string' && VALIDATION_VALUES.test(v.trim()) ? 'validation' : 'train');
    });
  }
  const nVal = Math.round(records.length * Math.min(1, Math.max(0, cfg.validationFraction)));
  const order = records.map((r, i) => ({ i, score: fmix32((cfg.seed >>> 0) ^ fnv1a(r.id)) }));
  order.sort((a, b) => a.score - b.score || a.i - b.i);
  const isVal = new Uint8Array(records.length);
  for (let k = 0; k < nVal; k++) isVal[order[k].i] = 1;
  return records.map((r, i) => withSplit(r, isVal[i] ? 'validation' : 'train'));
}

export function splitCounts(records: readonly DatasetRecord[]): Record<Split, number> {
  const c: Record<Split, number> = { train: 0, validation: 0 };
  for (const r of records) c[r.split]++;
  return c;
}
