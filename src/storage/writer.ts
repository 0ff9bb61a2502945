// The writer role: of the studio's tabs open on one origin, one writes its storage and the others only read, so no
// journal entry, run record or checkpoint is ever written by two tabs.
//
// Each database has one writer at a time, the context holding its exclusive Web Lock: the page holds PAGE_LOCK, and
// with it the tab's role (the datasets database); its engine worker holds RUNS_LOCK (runs, checkpoints, adapters,
// evaluations) while, and only while, its own page holds PAGE_LOCK. A repository opened with a WriterGate sends every
// write through `gate.write`, which refuses it (ReadOnlyError) unless its context holds the lock; a release waits for
// the writes in flight. So the guarantee sits in storage, whatever the UI offers.
// Why Web Locks: the browser releases a lock when its holder goes away (tab closed or crashed, worker terminated), so
// a dead tab never keeps the role, and a queued request is granted the moment the lock is free. A BroadcastChannel
// carries what a lock cannot: 'take' (a tab's "Use here": the writer hands over), 'writer' (this tab's page took the
// role: its worker takes RUNS_LOCK, any other worker lets go of it), 'who' (a starting worker asks) and 'runs' (a
// tab's worker now holds RUNS_LOCK).
// Handover: the holder runs its release hook while it may still write (the page saves the open dataset, the worker
// pauses a running run at a checkpoint), then refuses writes, waits for those in flight and lets go; the taker's
// queued request is granted and its grant hook runs (the page re-reads what the other tab changed, the worker marks
// runs left running as interrupted) before any other write of its own goes through.
// A tab's id reaches its engine worker in the worker's name (workerName, tabOfWorker).
// Not here: what a tab shows (the app's banner) and what the hooks do (the stores, runs-writer.ts).
import { shortId } from '../data/hash';
import { ReadOnlyError } from './repository';

/** What a repository needs of the role: a write goes through, waits for a role being taken, or is refused. */
export interface WriterGate {
  /** Runs `f` while this context holds its lock (waiting while the lock is being taken); ReadOnlyError otherwise. */
  write<T>(doing: string, f: () => Promise<T>): Promise<T>;
  /** The error a write would get now, without waiting (a change refused before the page shows it); null: allowed. */
  refuse(doing: string): ReadOnlyError | null;
}

export type RoleState = 'reader' | 'acquiring' | 'writer' | 'releasing';

/** The names one studio uses; tests give their own so that they do not meet the page's. */
export interface RoleNames {
  page: string;
  runs: string;
  channel: string;
}

export const STUDIO_ROLE: RoleNames = { page: 'sft-studio-writer', runs: 'sft-studio-writer:runs', channel: 'sft-studio-writer' };

type RoleMessage =
  | { kind: 'take'; tab: string }
  | { kind: 'writer'; tab: string }
  | { kind: 'who' }
  | { kind: 'runs'; tab: string };

const ELSEWHERE = 'the studio is open in another tab, which writes its storage (press “Use here” to work in this one)';
const TAKING_OVER = 'it is taking over from another tab, which is saving its work; try again in a moment';

type Hook = () => Promise<void>;

/** One exclusive Web Lock held for as long as this context writes what it guards, with the gate over its writes. */
class HeldLock implements WriterGate {
  private current: RoleState = 'reader';
  private inflight = 0;
  private idle: (() => void)[] = [];
  private settled: (() => void)[] = [];
  private letGo: (() => void) | null = null;
  private pending: AbortController | null = null;
  private acquisition: Promise<boolean> | null = null;
  /** The acquisition in progress takes over from another holder: what this context shows may be stale until its hook ran. */
  private takingOver = false;

  constructor(private readonly locks: LockManager, private readonly name: string, private readonly changed: () => void) {}

  state(): RoleState { return this.current; }

  private set(s: RoleState): void {
    this.current = s;
    if (s !== 'acquiring') for (const wake of this.settled.splice(0)) wake();
    this.changed();
  }

  /** Takes the lock: at once if it is free (`wait` false), else queued until granted or cancelled. Then `granted` runs, writes waiting. */
  acquire(wait: boolean, granted?: Hook): Promise<boolean> {
    if (this.current !== 'reader') return this.acquisition ?? Promise.resolve(this.current === 'writer');
    this.takingOver = granted !== undefined;
    this.set('acquiring');
    const abort = new AbortController();
    this.pending = abort;
    this.acquisition = (async () => {
      const got = await new Promise<boolean>((resolve, reject) => {
        this.locks.request(this.name, wait ? { signal: abort.signal } : { ifAvailable: true }, (lock) => {
          if (!lock) { resolve(false); return undefined; }
          return new Promise<void>((release) => { this.letGo = release; resolve(true); });
        }).catch((e: unknown) => { if (abort.signal.aborted) resolve(false); else reject(e); });
      }).catch((e: unknown) => { this.set('reader'); throw e; });
      this.pending = null;
      if (!got) { this.set('reader'); return false; }
      try { await granted?.(); } finally { this.set('writer'); }
      return true;
    })().finally(() => { this.acquisition = null; });
    return this.acquisition;
  }

  /** Stops a queued request that has not been granted. */
  cancel(): void { this.pending?.abort(); }

  /**
   * Hands the lock back: `before` runs while writes still go through, then writes are refused, those in flight
   * finish, and the lock goes. False when this context did not hold it.
   */
  async release(before?: Hook): Promise<boolean> {
    if (this.acquisition) await this.acquisition.catch(() => false);
    if (this.current !== 'writer') return false;
    this.set('releasing');
    try {
      await before?.();
    } finally {
      this.set('reader');
      while (this.inflight > 0) await new Promise<void>((ok) => { this.idle.push(ok); });
      this.letGo?.();
      this.letGo = null;
    }
    return true;
  }

  /** Refused unless held; while the lock is being taken a write waits, but a change up front is refused only during a takeover. */
  refuse(doing: string): ReadOnlyError | null {
    if (this.current === 'writer' || this.current === 'releasing' || (this.current === 'acquiring' && !this.takingOver)) return null;
    return new ReadOnlyError(doing, this.current === 'acquiring' ? TAKING_OVER : ELSEWHERE);
  }

  async write<T>(doing: string, f: () => Promise<T>): Promise<T> {
    while (this.current === 'acquiring') await new Promise<void>((ok) => { this.settled.push(ok); });
    if (this.current === 'reader') throw new ReadOnlyError(doing, ELSEWHERE);
    this.inflight++;
    try {
      return await f();
    } finally {
      if (--this.inflight === 0) for (const ok of this.idle.splice(0)) ok();
    }
  }
}

function lockManager(): LockManager {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (!locks) throw new Error('This browser has no Web Locks (navigator.locks): the studio cannot keep two tabs from writing at once.');
  return locks;
}

/** The page's side: the tab's role, shown by the app and handed over by "Use here". */
export interface PageRole extends WriterGate {
  readonly tab: string;
  state(): RoleState;
  /** Whether this tab's engine worker has said it holds RUNS_LOCK since the page last took the role. */
  runsHeld(): boolean;
  /** Called on every change of state() or runsHeld(); returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Asks the tab that writes to hand over and takes the role once it has (or at once, when no tab holds it). */
  useHere(): Promise<void>;
  /** Runs before this tab hands the role over, while its writes still go through (save what is pending). */
  beforeRelease(hook: Hook): void;
  /** Runs after this tab took the role over from another, before its writes go through (re-read what changed). */
  afterTakeOver(hook: Hook): void;
}

/** The page's role: tries the lock at once (a first tab writes; a second opens read-only), answers the channel. */
export function pageRole(opts: { tab?: string; names?: RoleNames; locks?: LockManager } = {}): PageRole {
  const tab = opts.tab ?? tabId();
  const names = opts.names ?? STUDIO_ROLE;
  const listeners = new Set<() => void>();
  const notify = () => { for (const l of listeners) l(); };
  const lock = new HeldLock(opts.locks ?? lockManager(), names.page, notify);
  const releasing: Hook[] = [];
  const takingOver: Hook[] = [];
  const runAll = (hooks: Hook[]) => async () => { for (const h of hooks) await h(); };
  let runs = false;
  const channel = new BroadcastChannel(names.channel);
  const post = (m: RoleMessage) => channel.postMessage(m);
  const tookRole = (got: boolean) => { if (got) { runs = false; notify(); post({ kind: 'writer', tab }); } };

  channel.onmessage = (ev: MessageEvent<RoleMessage>) => {
    const m = ev.data;
    if (m.kind === 'take' && m.tab !== tab) void lock.release(runAll(releasing));
    else if (m.kind === 'who' && lock.state() === 'writer') post({ kind: 'writer', tab });
    else if (m.kind === 'runs' && m.tab === tab) { runs = true; notify(); }
  };
  // A lock manager that refuses the request (an opaque origin) leaves the tab read-only, which its banner says.
  void lock.acquire(false).then(tookRole, () => {});

  return {
    tab,
    state: () => lock.state(),
    runsHeld: () => runs,
    subscribe(listener) { listeners.add(listener); return () => { listeners.delete(listener); }; },
    async useHere() {
      if (lock.state() !== 'reader') return;
      post({ kind: 'take', tab });
      tookRole(await lock.acquire(true, runAll(takingOver)));
    },
    beforeRelease(hook) { releasing.push(hook); },
    afterTakeOver(hook) { takingOver.push(hook); },
    write: (doing, f) => lock.write(doing, f),
    refuse: (doing) => lock.refuse(doing),
  };
}

/**
 * A worker's side: holds `lock` (RUNS_LOCK) while its own page (`tab`) holds the role. `granted` runs once it has the
 * lock, before other writes; `release` runs before it lets go, while writes still go through; `released` after.
 */
export function followerRole(opts: {
  tab: string; names?: RoleNames; locks?: LockManager; granted?: Hook; release?: Hook; released?: () => void;
}): WriterGate & { state(): RoleState } {
  const names = opts.names ?? STUDIO_ROLE;
  const lock = new HeldLock(opts.locks ?? lockManager(), names.runs, () => {});
  const channel = new BroadcastChannel(names.channel);
  channel.onmessage = (ev: MessageEvent<RoleMessage>) => {
    const m = ev.data;
    if (m.kind !== 'writer') return;
    if (m.tab === opts.tab) {
      void lock.acquire(true, opts.granted).then((got) => { if (got) channel.postMessage({ kind: 'runs', tab: opts.tab } satisfies RoleMessage); });
    } else {
      lock.cancel();
      void lock.release(opts.release).then((did) => { if (did) opts.released?.(); });
    }
  };
  channel.postMessage({ kind: 'who' } satisfies RoleMessage);
  return { state: () => lock.state(), write: (doing, f) => lock.write(doing, f), refuse: (doing) => lock.refuse(doing) };
}

let thisTab: string | null = null;
/** This page's tab id (made on first use). */
export function tabId(): string {
  thisTab ??= shortId();
  return thisTab;
}

/** A worker's name that carries its page's tab id ("engine 3kf9…"), read back by tabOfWorker. */
export const workerName = (role: string, tab: string): string => `${role} ${tab}`;
export function tabOfWorker(name: string): string | null {
  return /^\S+ (\S+)$/.exec(name)?.[1] ?? null;
}
