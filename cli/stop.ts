// A stop is a stop: SIGINT, SIGTERM and SIGHUP end the command at once, and so does the death of the
// process that started it (scripts/run-gpu.mjs, killed with -9, can pass nothing on: the command notices
// that its parent changed, and ends as if hung up). Before ending, the cleanups registered by the running command run
// (remove a staging folder, or keep a checkpointed run's for --resume and say where), so an interrupted run replaces nothing.
//
// The command then dies of the signal itself (its default action, raised again), not process.exit: exit() runs the
// process's exit handlers, among them the Vulkan driver's static destructors, while the driver's threads may still
// be executing the GPU work the stopped step submitted (SwiftShader then segfaults on state already torn down; see
// docs/dawn-exit-crash.md). Dying of the signal runs no handlers, takes no time, and tells the parent the truth: the
// status is 128 + signal, as the README says (scripts/run-gpu.mjs passes the command's own status on).
//
// Output replacement (src/io/output.ts commit) is synchronous: a signal is handled only between JavaScript
// tasks, so it never lands between the two renames.
import { constants } from 'node:os';

const cleanups = new Set<() => string | void>();

/** Runs `f` if the command is stopped before the returned function is called; what it returns is said on the stop line. */
export function onStop(f: () => string | void): () => void {
  cleanups.add(f);
  return () => cleanups.delete(f);
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function stop(why: string, signal: NodeJS.Signals): never {
  const notes: string[] = [];
  for (const f of cleanups) {
    try { const note = f(); if (note) notes.push(note); } catch { /* exiting anyway; the next run's claim cleans up what is left */ }
  }
  // Synchronous on Linux for pipes, files and terminals: written before the signal lands.
  process.stderr.write(`error: ${why}; ${notes.length ? notes.join('; ') : 'nothing was written'}\n`);
  // With no listener left, Node gives the signal back its default action (terminate), which kill() to ourselves
  // delivers before it returns.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  process.exit(128 + constants.signals[signal]); // not reached where signals are delivered at once
}

export function installStopHandlers(): void {
  for (const signal of SIGNALS) process.on(signal, () => stop(`interrupted by ${signal}`, signal));
  // The launcher reads our stderr through a pipe (to filter Dawn's warnings): killed with -9, it leaves a pipe
  // without a reader, and the next progress line fails with EPIPE. Unheard, that error would end the command as an
  // uncaught exception, before the check below could run the cleanups; heard, the lines go nowhere and the check stops us.
  process.stderr.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e; });
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('the launching process exited', 'SIGHUP');
  }, 500).unref();
}
