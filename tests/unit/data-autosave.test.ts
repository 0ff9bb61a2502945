// Debounced saving with an explicit flush: bursts collapse into one save, a change during a save gets
// its own save afterwards, flush waits for everything, and errors reach onError.
import { describe, expect, it } from 'vitest';
import { createAutosaver } from '../../src/storage/autosave';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('autosave', () => {
  it('collapses a burst, saves again after a change during a save, and flush waits', async () => {
    let saves = 0;
    let release: (() => void) | null = null;
    const s = createAutosaver(async () => { saves++; await new Promise<void>((r) => { release = r; }); }, 10, () => {});
    s.schedule(); s.schedule(); s.schedule();
    await tick(30);
    expect(saves).toBe(1);
    s.schedule(); // while the first save runs
    release!();
    await tick(30);
    expect(saves).toBe(2);
    const flushed = s.flush();
    release!();
    await flushed;
    expect(s.pending()).toBe(false);
  });

  it('reports errors and keeps going', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const s = createAutosaver(async () => { if (n++ === 0) throw new Error('quota'); }, 5, (e) => errors.push(e));
    s.schedule();
    await s.flush();
    expect(errors.map((e) => (e as Error).message)).toEqual(['quota']);
    s.schedule();
    await s.flush();
    expect(n).toBe(2);
  });
});
