// Numerical checking shared by every op test (the helper_test_op of this project):
//  - a seeded RNG for inputs,
//  - `expectClose`: |a - e| <= atol + rtol |e| elementwise, with the worst element named on failure,
//  - `finiteDiff`: central differences of a scalar function, in float64, at chosen coordinates.
import { expect } from 'vitest';
import { mulberry32 } from '../../src/model/random';

/** Mulberry32 (src/model/random.ts): small, seeded, good enough for test inputs. */
export const rng = mulberry32;

/** n values uniform in [-scale, scale), rounded to f32 so CPU and GPU see identical inputs. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

export interface Tolerance { rtol: number; atol: number }

export function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>): { abs: number; rel: number; index: number } {
  let abs = 0, rel = 0, index = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= abs) ) { abs = d; index = i; }
    rel = Math.max(rel, d / Math.max(Math.abs(expected[i]), 1e-12));
  }
  return { abs, rel, index };
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, name: string): void {
  expect(actual.length, `${name}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    const ok = Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
    if (!ok || Number.isNaN(a)) {
      const m = maxError(actual, expected);
      expect.fail(`${name}: element ${i} is ${a}, expected ${e} (rtol ${tol.rtol}, atol ${tol.atol}); worst |err| ${m.abs} at ${m.index}`);
    }
  }
}

/**
 * Central finite differences of scalar f at the given coordinates of x (float64):
 *   df/dx_i ≈ (f(x + h e_i) - f(x - h e_i)) / 2h.
 */
export function finiteDiff(f: (x: Float64Array) => number, x: ArrayLike<number>, coords: number[], h = 1e-5): Float64Array {
  const xx = Float64Array.from(x);
  const out = new Float64Array(coords.length);
  coords.forEach((i, k) => {
    const x0 = xx[i];
    xx[i] = x0 + h; const fp = f(xx);
    xx[i] = x0 - h; const fm = f(xx);
    xx[i] = x0;
    out[k] = (fp - fm) / (2 * h);
  });
  return out;
}

/** Dot product: turns an op's output into the scalar loss L = sum(out * dout) whose gradient is backward(dout). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** A spread of coordinates to probe with finite differences: first, last and some in between. */
export function probeCoords(n: number, count = 8, seed = 7): number[] {
  const r = rng(seed);
  const set = new Set([0, n - 1]);
  while (set.size < Math.min(n, count)) set.add(Math.floor(r() * n));
  return [...set];
}

/** Picks the given coordinates out of a dense array. */
export function pick(a: ArrayLike<number>, coords: number[]): Float64Array {
  return Float64Array.from(coords, (i) => a[i]);
}
