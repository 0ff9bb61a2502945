// Captured programs (Gpu.capture / replay / dispose), the runtime piece batched decoding stands on: a replay runs
// the captured commands again on the buffers' current contents (dispatches, copies and clears, in order), with no
// new bind group, buffer or uniform write; the temporaries the capture released stay the program's between replays
// (nothing else gets them from the pool) and go back to the pool at dispose; a buffer the capture allocated and kept
// (a kernel's cached table) stays its holder's; reading back inside a capture is refused.
import { describe, expect, it } from 'vitest';
import { add, scale } from '../../src/ops/elementwise';
import { testGpu } from '../helpers/gpu';

describe('captured programs', () => {
  it('replays dispatches, copies and clears on the current contents, and keeps its temporaries until dispose', async () => {
    const gpu = await testGpu();
    const x = gpu.fromArray([4], [1, 2, 3, 4], 'x'), w = gpu.fromArray([4], [1, 1, 1, 1], 'w');
    const y = gpu.zeros([4], 'y'), z = gpu.fromArray([4], [9, 9, 9, 9], 'z');
    let kept = null as unknown as ReturnType<typeof gpu.tensor>;
    const program = gpu.capture('test.program', () => {
      kept = gpu.fromArray([4], [5, 5, 5, 5], 'kept');   // written once, at capture
      const t = gpu.tensor([4], 'temp');
      add(gpu, t, x, w, 4);               // t = x + 1
      scale(gpu, t, 3, 4);                // t = 3(x + 1)
      gpu.copy(t, y);                     // y = 3(x + 1)

      gpu.release(t);
      gpu.fill(z, 0);                     // cleared on every replay
    });
    const created = gpu.stats.buffersCreated;
    gpu.replay(program);
    expect(Array.from(await gpu.read(y))).toEqual([6, 9, 12, 15]);
    expect(Array.from(await gpu.read(z))).toEqual([0, 0, 0, 0]);
    gpu.write(x, [10, 20, 30, 40]);
    gpu.write(z, [1, 1, 1, 1]);
    gpu.replay(program);
    expect(Array.from(await gpu.read(y))).toEqual([33, 63, 93, 123]);
    expect(Array.from(await gpu.read(z))).toEqual([0, 0, 0, 0]);
    expect(gpu.stats.buffersCreated).toBe(created);

    // Between replays the temporary is the program's: a new tensor of its size is another buffer.
    const temp = program.owned[0];
    expect(program.owned).toHaveLength(1);
    const other = gpu.tensor([4], 'other');
    expect(other.buffer).not.toBe(temp);
    expect(other.buffer).not.toBe(kept.buffer);
    gpu.release(other);
    gpu.dispose(program);
    // After dispose it is pooled again; the kept table is not (its holder still reads it).
    const pooled = [gpu.tensor([4], 'a'), gpu.tensor([4], 'b')];
    expect(pooled.map((t) => t.buffer)).toContain(temp);
    expect(pooled.map((t) => t.buffer)).not.toContain(kept.buffer);
    expect(Array.from(await gpu.read(kept))).toEqual([5, 5, 5, 5]);
    gpu.release(x, w, y, z, kept, ...pooled);
  });

  it('refuses a kept tensor that takes a buffer the capture released (replays would overwrite it)', async () => {
    const gpu = await testGpu();
    const x = gpu.fromArray([4], [1, 2, 3, 4], 'x');
    expect(() => gpu.capture('test.kept', () => {
      const t = gpu.tensor([4], 'temp');
      scale(gpu, t, 2, 4);
      gpu.release(t);
      gpu.tensor([4], 'table');
    })).toThrow(/table takes a buffer released earlier in the capture/);
    gpu.dispose(gpu.capture('test.after', () => scale(gpu, x, 1, 4)));   // the failed capture left nothing behind
    gpu.release(x);
  });

  it('refuses a read inside a capture', async () => {
    const gpu = await testGpu();
    const x = gpu.zeros([4], 'x');
    let read: Promise<unknown> = Promise.resolve();
    const program = gpu.capture('test.read', () => { read = gpu.read(x); });
    await expect(read).rejects.toThrow(/cannot read back/);
    gpu.dispose(program);
    gpu.release(x);
  });
});
