// Debounced saving with an explicit flush: schedule() after every change, flush() before anything that
// must see the data on disk (page hide, version restore, tests). At most one save runs at a time; a
// change during a save schedules one more. Errors go to onError (the store shows them), never swallowed.
export interface Autosaver {
  schedule(): void;
  flush(): Promise<void>;
  /** True while a change is waiting or a save is running. */
  pending(): boolean;
  cancel(): void;
}

export function createAutosaver(save: () => Promise<void>, delayMs: number, onError: (e: unknown) => void): Autosaver {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let dirty = false;
  let running: Promise<void> | null = null;

  async function run(): Promise<void> {
    if (timer) { clearTimeout(timer); timer = null; }
    if (running) { await running; if (!dirty) return; }
    if (!dirty) return;
    dirty = false;
    running = save().catch((e) => { onError(e); }).finally(() => { running = null; });
    await running;
    if (dirty && !timer) timer = setTimeout(() => void run(), delayMs);
  }

  return {
    schedule() {
      dirty = true;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void run(), delayMs);
    },
    async flush() {
      if (running) await running;
      if (dirty) await run();
    },
    pending: () => dirty || running !== null,
    cancel() { if (timer) clearTimeout(timer); timer = null; dirty = false; },
  };
}
