// A stop is a stop: SIGINT, SIGTERM and SIGHUP end the command at once, and so does the death of the
// process that started it (scripts/run-gpu.mjs, killed with -9, can pass nothing on: the command notices
// that its parent changed). Before exiting, the cleanups registered by the running command run (remove a
// staging folder, or keep a checkpointed run's for --resume and say where), so an interrupted run replaces nothing.
//
// Output replacement (src/io/output.ts commit) is synchronous: a signal is handled only between JavaScript
// tasks, so it never lands between the two renames.
const cleanups = new Set<() => string | void>();

/** Runs `f` if the command is stopped before the returned function is called; what it returns is said on the stop line. */
export function onStop(f: () => string | void): () => void {
  cleanups.add(f);
  return () => cleanups.delete(f);
}

function stop(why: string, code: number): never {
  const notes: string[] = [];
  for (const f of cleanups) {
    try { const note = f(); if (note) notes.push(note); } catch { /* exiting anyway; the next run's claim cleans up what is left */ }
  }
  process.stderr.write(`error: ${why}; ${notes.length ? notes.join('; ') : 'nothing was written'}\n`);
  process.exit(code);
}

const SIGNALS: [NodeJS.Signals, number][] = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]];

export function installStopHandlers(): void {
  for (const [signal, n] of SIGNALS) process.on(signal, () => stop(`interrupted by ${signal}`, 128 + n));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('the launching process exited', 129);
  }, 500).unref();
}
