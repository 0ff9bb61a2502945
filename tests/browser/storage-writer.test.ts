// The writer role (src/storage/writer.ts, runs-writer.ts) on Chromium's real Web Locks, BroadcastChannel and
// IndexedDB. Two roles in one page contend exactly as two tabs do: locks and channels are per origin, and a channel
// delivers to every other object of its name. Each test uses names of its own, so no test meets another's (or a page's).
// - The first page role writes; a second opens read-only: its IndexedDB repository refuses every write with a
//   ReadOnlyError (also before waiting: `refuse`) and the first's are untouched.
// - "Use here": the holder's release hook runs while it may still write, a write in flight finishes before the lock
//   goes, a write after the hook is refused; the taker's writes wait for its takeover hook, then go through.
// - The engine workers' runs lock follows the pages: the writer tab's run store marks a run left running as
//   interrupted when it takes the lock; at the handover the old holder pauses its training run (a checkpoint and the
//   paused status still written), then cancels it with its writes refused; the new holder marks it interrupted.
import { describe, expect, it } from 'vitest';
import { openIdbRepository } from '../../src/storage/idb-repository';
import { READ_ONLY } from '../../src/storage/repository';
import { createMemoryRunStore, type RunRecord, type RunStatus } from '../../src/storage/runs';
import { writerRunStore } from '../../src/storage/runs-writer';
import { pageRole, type RoleNames } from '../../src/storage/writer';
import { PRESETS } from '../../src/train/presets';

let unique = 0;
function names(): RoleNames {
  const id = `${Date.now().toString(36)}-${unique++}`;
  return { page: `test-page-${id}`, runs: `test-runs-${id}`, channel: `test-channel-${id}` };
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

const refusal = (p: Promise<unknown>) => p.then(() => 'written', (e: Error) => `${e.name}: ${e.message}`);

const run = (id: string, status: RunStatus): RunRecord => ({
  id, name: id, createdAt: 1, updatedAt: 1, status, error: null,
  model: { name: 'm', parameters: 1, fingerprint: 'fp' }, dataset: null, config: PRESETS.quick,
  trainExamples: 1, validationExamples: 0, totalSteps: 10, metrics: [], evals: [], checkpoints: { last: null, best: null }, bestValLoss: null, final: null,
});

describe('writer role', () => {
  it('one tab writes, a second is read-only until "Use here" hands the role over', async () => {
    const n = names();
    const a = pageRole({ tab: 'a', names: n });
    await until('the first tab to write', () => a.state() === 'writer');
    const b = pageRole({ tab: 'b', names: n });
    await until('the second tab to settle', () => b.state() === 'reader');
    expect(a.state()).toBe('writer');

    const db = `writer-${n.page}`;
    const repoA = await openIdbRepository(db, a);
    const repoB = await openIdbRepository(db, b);
    const ds = await repoA.create('shared');
    expect(await refusal(repoB.create('second'))).toBe(`${READ_ONLY}: Creating a dataset was refused: this tab is read-only, because the studio is open in another tab, which writes its storage (press “Use here” to work in this one).`);
    expect(await refusal(repoB.appendJournal(ds.id, { seq: 1, label: 'edit row', patch: { removed: [], changed: [], inserted: [] } }))).toMatch(/^ReadOnlyError: Saving a change was refused/);
    expect(repoB.refuse?.('edit row')?.name).toBe(READ_ONLY);
    expect(repoA.refuse?.('edit row')).toBeNull();
    expect((await repoB.list()).map((d) => d.name)).toEqual(['shared']); // reads go on

    // The handover, in order.
    const order: string[] = [];
    let finishSlow!: () => void;
    const slow = a.write('a slow write', () => new Promise<void>((ok) => { finishSlow = () => { order.push('slow write done'); ok(); }; }));
    a.beforeRelease(async () => { await repoA.rename(ds.id, 'saved by a'); order.push('a saved'); });
    b.afterTakeOver(async () => { order.push('b re-read'); });
    const taking = b.useHere();
    await until('a to stop writing', () => a.state() === 'reader');
    expect(b.state()).toBe('acquiring'); // a's slow write still holds the lock
    expect(await refusal(repoA.rename(ds.id, 'late'))).toMatch(/^ReadOnlyError: Renaming a dataset was refused/);
    const early = b.write('b writes', async () => { order.push('b wrote'); }); // waits for the takeover
    await new Promise((ok) => setTimeout(ok, 50));
    expect(order).toEqual(['a saved']);
    finishSlow();
    await Promise.all([slow, taking, early]);
    expect(order).toEqual(['a saved', 'slow write done', 'b re-read', 'b wrote']);
    expect(b.state()).toBe('writer');
    expect((await repoB.list()).map((d) => d.name)).toEqual(['saved by a']);
    await repoB.rename(ds.id, 'now b');
    expect(await refusal(repoA.create('a again'))).toMatch(/^ReadOnlyError/);
    expect(repoA.refuse?.('edit row')?.name).toBe(READ_ONLY);
  });

  it("the runs lock follows the page: the old holder pauses its run, its later writes are refused, the new one marks it interrupted", async () => {
    const n = names();
    const store = createMemoryRunStore();
    await store.put(run('left-running', 'running')); // by a tab that closed mid-run
    const pageA = pageRole({ tab: 'a', names: n });
    await until('page a to write', () => pageA.state() === 'writer');

    const events: string[] = [];
    let runsA!: ReturnType<typeof writerRunStore>;
    const live = run('live', 'running');
    const stepped = { ...live, metrics: [{ step: 1, epoch: 0, loss: 2, lr: 1, gradNorm: 1, tokensPerSecond: 1, elapsed: 1 }] };
    const controlA = async (runId: string, action: 'pause' | 'cancel') => {
      events.push(`a ${action} ${runId}`);
      // As the session does: a pause writes the checkpoint, then the status; a cancel writes 'cancelled'.
      if (action === 'pause') {
        setTimeout(() => void (async () => {
          await runsA.putCheckpoint(runId, 'last', 3, new Uint8Array([3]));
          await runsA.put({ ...stepped, status: 'paused', checkpoints: { last: 3, best: null } });
        })(), 20);
      } else {
        events.push(`a's cancelled status: ${await refusal(runsA.put({ ...stepped, status: 'cancelled' }))}`);
      }
    };
    runsA = writerRunStore(store, { tab: 'a', names: n, control: controlA, now: () => 7 });
    const runsB = writerRunStore(store, { tab: 'b', names: n, control: async () => { throw new Error('b trains nothing'); }, now: () => 9 });
    await until('a\'s engine to hold the runs lock', () => runsA.state() === 'writer');
    expect(runsB.state()).toBe('reader');
    expect((await store.get('left-running'))?.status).toBe('interrupted');
    expect((await store.get('left-running'))?.updatedAt).toBe(7);

    await runsA.put(live); // a is training 'live'
    await runsA.put(stepped);
    expect(await refusal(runsB.put(run('from-b', 'running')))).toMatch(/^ReadOnlyError: Saving run "from-b" was refused/);
    expect(await refusal(runsB.putCheckpoint('live', 'last', 9, new Uint8Array([9])))).toMatch(/^ReadOnlyError/);

    const pageB = pageRole({ tab: 'b', names: n });
    await until('page b to settle', () => pageB.state() === 'reader');
    await pageB.useHere();
    await until('b\'s engine to hold the runs lock', () => runsB.state() === 'writer');
    await until('a\'s cancel to be refused', () => events.length === 3);
    expect(events).toEqual(['a pause live', 'a cancel live', expect.stringMatching(/^a's cancelled status: ReadOnlyError: Saving run "live" was refused/)]);
    expect(runsA.state()).toBe('reader');
    const stored = await store.get('live');
    expect([stored?.status, stored?.checkpoints.last, stored?.metrics.length, stored?.updatedAt]).toEqual(['interrupted', 3, 1, 9]);
    expect((await store.getCheckpoint('live', 'last'))?.step).toBe(3);
    expect(await refusal(runsA.put({ ...live, status: 'running' }))).toMatch(/^ReadOnlyError/);
    await runsB.put(run('from-b', 'completed'));
    expect((await store.list()).map((r) => [r.id, r.status]).sort()).toEqual([['from-b', 'completed'], ['left-running', 'interrupted'], ['live', 'interrupted']]);
  });
});
