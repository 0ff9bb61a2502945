// Kernel times from timestamp queries (Gpu.timeKernels, src/gpu/timestamps.ts): every dispatch made while timing is
// counted under its label, a submit that fills the query set is split, and the results are what the kernels computed
// without timing (a pass per dispatch changes no result). Times themselves are measured, not asserted: only that
// each label's total is a finite number of milliseconds, not negative.
import { describe, expect, it } from 'vitest';
import { createGpu } from '../../src/gpu/runtime';
import { add, scale } from '../../src/ops/elementwise';

const gpu = await createGpu({ timestampQuery: true });
const timed = gpu.device.features.has('timestamp-query');

const NAME = 'count every dispatch under its label, across a full query set, and change no result';

describe('timestamp queries per kernel', () => {
  (timed ? it : it.skip)(timed ? NAME : `${NAME} (skipped: this adapter has no timestamp-query)`, async () => {
    const n = 1000;
    const a = gpu.fromArray([n], Float32Array.from({ length: n }, (_, i) => i), 'a');
    const b = gpu.fromArray([n], Float32Array.from({ length: n }, (_, i) => 2 * i), 'b');
    const out = gpu.tensor([n], 'out');
    const timing = gpu.timeKernels();
    // 2500 dispatches: more than one submit's 2048 timed passes.
    for (let i = 0; i < 1250; i++) { add(gpu, out, a, b, n); scale(gpu, out, 0.5, n); }
    const times = await timing.stop();
    expect(times.map((t) => [t.label, t.dispatches]).sort()).toEqual([['elementwise.add', 1250], ['elementwise.scale', 1250]]);
    for (const t of times) expect(Number.isFinite(t.ms) && t.ms >= 0).toBe(true);
    const got = await gpu.read(out);
    expect(Array.from(got.subarray(0, 4))).toEqual([0, 1.5, 3, 4.5]);
    // Timing is off again: a dispatch now goes into the shared pass, and nothing is counted.
    add(gpu, out, a, b, n);
    expect(Array.from((await gpu.read(out)).subarray(0, 2))).toEqual([0, 3]);
    gpu.release(a, b, out);
  });
});
