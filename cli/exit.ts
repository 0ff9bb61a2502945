// The command line's exit statuses: one per class of failure, so that a script can tell a mistyped command from
// unusable data, a refused model, a refused --out and a run that failed (the README's table "Exit status").
//
// Contract: a failure's class is the phase it happened in. The command line's refusals of its own arguments are
// UsageErrors (args.ts); `classed(EXIT.data, () => …)` marks whatever the reading of the data throws (the model's loading,
// the claim of --out likewise); a data file with no usable record and a run with nothing to learn are data wherever
// they are found. Everything else (a step that diverged, the GPU, the network, the disk) is EXIT.failed. A stop by
// signal N exits 128 + N (stop.ts). Not here: the message itself (src/errors.ts oneLine).
import { NothingToLearn } from '../src/train/trainer';
import { UsageError } from './args';
import { NoUsableRecords } from './data-file';

export const EXIT = { ok: 0, failed: 1, usage: 2, data: 3, model: 4, output: 5 } as const;

const classes = new WeakMap<object, number>();

/** Runs `f` (sync or async); what it throws is of class `code` unless a phase within it classed it first. */
export function classed<T>(code: number, f: () => T): T {
  const mark = (e: unknown) => {
    if (typeof e === 'object' && e !== null && !classes.has(e)) classes.set(e, code);
    return e;
  };
  try {
    const r = f();
    return (r instanceof Promise ? r.catch((e: unknown) => { throw mark(e); }) : r) as T;
  } catch (e) {
    throw mark(e);
  }
}

/** A failure of class `code`. */
export function failure(code: number, message: string): Error {
  const e = new Error(message);
  classes.set(e, code);
  return e;
}

/** `error` in the class of `cause` (a message rewritten on the way out keeps its exit status). */
export function sameClass<E extends Error>(error: E, cause: unknown): E {
  classes.set(error, exitCodeOf(cause));
  return error;
}

/** The exit status of a failure. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError) return EXIT.usage;
  if (e instanceof NoUsableRecords || e instanceof NothingToLearn) return EXIT.data;
  return (typeof e === 'object' && e !== null && classes.get(e)) || EXIT.failed;
}
