// The run store as one tab's engine worker writes it: every write goes through the worker's writer role
// (writer.ts followerRole: RUNS_LOCK, held while the worker's own page holds the tab's role), so a second tab's
// engine reads runs but never writes one. Reads pass untouched.
// On taking the lock it marks runs left 'running' or 'paused' as interrupted (their writer is gone or has handed
// over: the lock says no one else writes), before any other write goes through. On handing over it pauses the runs it
// is training, so each stops at a checkpoint that the next tab resumes from, then, with its writes refused, cancels
// their sessions (their last status writes are refused too: the stored run stays paused until the new writer marks
// it interrupted). A run that does not pause within `pauseTimeoutMs` is let go unpaused: the gate already refuses its
// writes, so the cost is the steps since its last checkpoint, never a record written by two tabs.
import { interruptStaleRuns, type RunRecord, type RunStore } from './runs';
import { followerRole, type RoleNames, type RoleState } from './writer';

interface RunsWriterOptions {
  /** The tab id of the page this worker belongs to (tabOfWorker(self.name)). */
  tab: string;
  /** The engine's run control (Engine.control): pauses or cancels a run this worker is training. */
  control(runId: string, action: 'pause' | 'cancel'): Promise<unknown>;
  pauseTimeoutMs?: number;
  names?: RoleNames;
  locks?: LockManager;
  now?: () => number;
}

export function writerRunStore(store: RunStore, opts: RunsWriterOptions): RunStore & { state(): RoleState } {
  const now = opts.now ?? Date.now;
  /** Runs this worker last wrote as 'running', and the wakers of a handover waiting for them to stop. */
  const training = new Set<string>();
  let stopped: (() => void) | null = null;
  const paused: string[] = [];

  const role = followerRole({
    tab: opts.tab, names: opts.names, locks: opts.locks,
    // A sweep the quota refuses leaves those runs listed as running (each resumes all the same); the role is taken.
    granted: () => interruptStaleRuns(store, null, now()).catch(() => {}),
    release: async () => {
      const ids = [...training];
      // A run the engine refuses to pause is not training in this session any more: nothing to wait for.
      await Promise.all(ids.map((id) => opts.control(id, 'pause').catch(() => { training.delete(id); })));
      paused.push(...ids.filter((id) => training.has(id)));
      const timeout = new Promise<void>((ok) => { setTimeout(ok, opts.pauseTimeoutMs ?? 120_000); });
      await Promise.race([timeout, new Promise<void>((ok) => { stopped = ok; if (training.size === 0) ok(); })]);
      stopped = null;
    },
    released: () => {
      // Ends each paused session (its writes are refused now); one that has ended by itself needs no cancel.
      for (const id of paused.splice(0)) void opts.control(id, 'cancel').catch(() => {});
      training.clear();
    },
  });

  const put = async (run: RunRecord) => {
    await role.write(`saving run "${run.name}"`, () => store.put(run));
    if (run.status === 'running') training.add(run.id);
    else { training.delete(run.id); if (training.size === 0) stopped?.(); }
  };

  return {
    ...store,
    state: () => role.state(),
    put,
    remove: (id) => role.write('deleting a run', () => store.remove(id)),
    putCheckpoint: (runId, kind, step, bytes) => role.write(`saving the ${kind} checkpoint at step ${step}`, () => store.putCheckpoint(runId, kind, step, bytes)),
    putData: (runId, data) => role.write('saving the run\'s data', () => store.putData(runId, data)),
    putAdapter: (record, files) => role.write(`saving adapter "${record.name}"`, () => store.putAdapter(record, files)),
    removeAdapter: (id) => role.write('deleting an adapter', () => store.removeAdapter(id)),
    putEvaluation: (e) => role.write('saving an evaluation', () => store.putEvaluation(e)),
    putConversation: (c) => role.write('saving a conversation', () => store.putConversation(c)),
    removeConversation: (id) => role.write('deleting a conversation', () => store.removeConversation(id)),
  };
}
