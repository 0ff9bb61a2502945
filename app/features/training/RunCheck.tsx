// A run's check before it starts, as every start button on the Train screen shows it: the problems validateRunConfig
// finds (with "Load a model first" when none is loaded; any error keeps the button disabled) and the core's
// memory/time estimate, both for the loaded model (its base counted as it is kept: bf16, 8-bit, 4-bit).
// Not here: the settings themselves (the form, the method panels).
import { useMemo } from 'react';
import { charLength, type DatasetRecord } from '../../../src/data/record';
import { estimateRun, validateRunConfig, type RunConfig } from '../../../src/train/presets';
import { useEngine } from '../../store/engine';
import { fmtSeconds } from './LivePanel';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

type Problem = ReturnType<typeof validateRunConfig>[number];

/** Tokens per row before tokenizing: ~4 characters a token plus template overhead (the run itself counts exactly). */
export const meanTokensOf = (rows: readonly DatasetRecord[]) => (rows.length ? rows.reduce((s, r) => s + charLength(r) / 4 + 12, 0) / rows.length : 0);

/**
 * The problems and estimate of `run` on `counts` examples of `meanTokens` tokens (before tokenizing, a guess; the
 * run uses exact counts).
 */
export function useRunCheck(run: RunConfig, counts: { trainExamples: number; validationExamples: number }, meanTokens: number) {
  const model = useEngine((s) => s.model);
  const software = useEngine((s) => s.adapter?.software ?? false);
  const sized = useMemo(() => (model ? { ...run, train: { ...run.train, weights: model.weights } } : run), [run, model]);
  const problems = useMemo<Problem[]>(() => {
    const list = validateRunConfig(sized, model?.config ?? null, counts, model ? { model: model.config, budget: model.memoryBudget } : undefined);
    return model ? list : [{ field: 'model', severity: 'error', message: 'Load a model first.' }, ...list];
  }, [sized, model, counts]);
  const errors = problems.filter((p) => p.severity === 'error');
  // Sustained FLOP/s guess until a run measures it: a software adapter does ~2 GFLOP/s, a GPU ~1 TFLOP/s here.
  const estimate = model && errors.length === 0 ? estimateRun(sized, model.config, { ...counts, meanTokens }, software ? 2e9 : 1e12) : null;
  return { problems, errors, estimate, software };
}

/** The check's problems and estimate, under the accessible names `problemsLabel` and `estimateLabel`. */
export function RunCheck({ check, problemsLabel, estimateLabel }: { check: ReturnType<typeof useRunCheck>; problemsLabel: string; estimateLabel: string }) {
  const { problems, estimate, software } = check;
  return (
    <>
      {problems.length > 0 && (
        <ul aria-label={problemsLabel} className="problems">
          {problems.map((p, i) => <li key={i} className={p.severity}>{p.severity === 'error' ? 'Error' : 'Warning'}: {p.message}</li>)}
        </ul>
      )}
      {estimate && (
        <p aria-label={estimateLabel}>
          Estimated GPU memory {mib(estimate.memoryBytes)}; {estimate.stepsPerEpoch} steps per epoch, {estimate.totalSteps} in all;
          roughly {fmtSeconds(estimate.secondsPerEpoch)} per epoch{software ? ' on this software adapter' : ''} (measured once the run starts).
        </p>
      )}
    </>
  );
}
