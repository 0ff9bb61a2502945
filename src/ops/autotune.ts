// Autotune: the fastest kernel variants on this device, measured once at start-up.
//  - matmul: every variant the device runs (matmulVariants: 'subgroup' with `subgroups`), and the blocked kernel
//    with 8×8 blocks per thread as well as 4×4, on a few shapes that stand for a training step (y = x W^T,
//    dx = dy W, dW = dy^T x);
//  - the row reductions: RMSNorm forward + backward per RowReduction, cross-entropy per layout, the gradient norm
//    per layout ('subgroup' forms only with `subgroups`).
// Each op takes its least total time, and the op uses it on this Gpu (setMatmulVariant, setRowReduction,
// setCrossEntropyLayout, setGradNormLayout). The choice is cached per adapter, subgroup size range and features
// (autotuneKey): in a module-level map, and in localStorage where it exists, so later sessions skip the timing.
// Contract: wall-clock around gpu.sync() (no timestamp queries needed); a candidate whose pipeline fails to build
// on this adapter is skipped. Not here: per-shape choices (one variant per op serves all shapes).
import type { Gpu } from '../gpu/runtime';
import { matmul, matmulVariants, setBlockedBlock, setMatmulVariant, type MatmulVariant } from './matmul';
import { ROW_REDUCTIONS, rmsnormBackward, rmsnormForward, setRowReduction, normConfig, type RowReduction } from './norm';
import { CROSS_ENTROPY_LAYOUTS, crossEntropyForwardBackward, setCrossEntropyLayout, type CrossEntropyLayout } from './crossentropy';
import { GRAD_NORM_LAYOUTS, gradNorm, setGradNormLayout, type GradNormLayout } from './optim';

interface AutotuneShape { M: number; N: number; K: number; transA?: boolean; transB?: boolean }

type Block = { rows: 4 | 8; cols: 4 | 8 };
interface MatmulCandidate { name: string; variant: MatmulVariant; block: Block | null }

interface AutotuneChoice {
  matmul: { variant: MatmulVariant; block: Block | null };
  rowReduction: RowReduction;
  crossEntropy: CrossEntropyLayout;
  gradNorm: GradNormLayout;
}

interface AutotuneResult extends AutotuneChoice {
  /** The key the result is cached under (autotuneKey). */
  key: string;
  /** True when the result came from the cache (memory or localStorage) rather than a measurement. */
  cached: boolean;
  /** Milliseconds per op call, summed over its shapes, per candidate measured, per op ('matmul': 'blocked',
   *  'blocked8x8', 'tiled', 'subgroup'; 'rowReduction', 'crossEntropy', 'gradNorm': their variants). Empty when cached. */
  timings: Record<string, Record<string, number>>;
}

interface AutotuneOptions {
  /** Matmul shapes to time (default: a training step's three layouts, small on software adapters). */
  shapes?: AutotuneShape[];
  /** Sizes of the reductions (default: a step's, small on software adapters): norm [N, C], cross-entropy [N, V], grad norm n. */
  sizes?: { norm: [number, number]; crossEntropy: [number, number]; gradNorm: number };
  /** Each candidate is repeated until one timed batch lasts at least this long (default 20 ms). */
  minMs?: number;
  /** Measure even when a cached result exists. */
  force?: boolean;
}

// A 64-token micro-batch through a 256-wide layer on SwiftShader (~10 ms per variant per shape there);
// a 512-token batch through a 1024-wide layer on real GPUs, large enough to leave launch overhead behind.
const SOFTWARE_SHAPES: AutotuneShape[] = [
  { M: 64, N: 256, K: 256, transB: true },   // y = x W^T
  { M: 64, N: 256, K: 256 },                 // dx = dy W
  { M: 256, N: 256, K: 64, transA: true },   // dW = dy^T x
];
const HARDWARE_SHAPES: AutotuneShape[] = [
  { M: 512, N: 1024, K: 1024, transB: true },
  { M: 512, N: 1024, K: 1024 },
  { M: 1024, N: 1024, K: 512, transA: true },
];
const SOFTWARE_SIZES = { norm: [64, 576], crossEntropy: [64, 4096], gradNorm: 1 << 18 } as AutotuneOptions['sizes'] & {};
const HARDWARE_SIZES = { norm: [512, 2048], crossEntropy: [512, 32768], gradNorm: 1 << 22 } as AutotuneOptions['sizes'] & {};

const STORAGE_PREFIX = 'studio.autotune.v2:';
const memo = new Map<string, AutotuneResult>();

/** The adapter, its subgroup size range and the features the kernels use: what a choice depends on. */
export function autotuneKey(gpu: Gpu): string {
  const { vendor, architecture, description } = gpu.adapterInfo;
  const sg = gpu.subgroupSizes ? `subgroups ${gpu.subgroupSizes.min}-${gpu.subgroupSizes.max}` : 'no subgroups';
  return `${vendor}|${architecture}|${description}|${sg}|${gpu.f16 ? 'f16' : 'no f16'}`;
}

/** Picks the fastest variant of each op for this device (cached per autotuneKey) and makes the ops use them. */
export async function autotune(gpu: Gpu, opts: AutotuneOptions = {}): Promise<AutotuneResult> {
  const key = autotuneKey(gpu);
  if (!opts.force) {
    const hit = memo.get(key) ?? loadStored(key);
    if (hit) {
      memo.set(key, hit);
      use(gpu, hit);
      return { ...hit, cached: true, timings: {} };
    }
  }
  const minMs = opts.minMs ?? 20;
  const shapes = opts.shapes ?? (gpu.isSoftware ? SOFTWARE_SHAPES : HARDWARE_SHAPES);
  const sizes = opts.sizes ?? (gpu.isSoftware ? SOFTWARE_SIZES : HARDWARE_SIZES);
  const timings: AutotuneResult['timings'] = {};

  // 8×8 blocks do twice the multiply-adds per loaded word of 4×4 ones but compile about 3× longer (matmul.ts).
  const matmulCandidates = matmulVariants(gpu).flatMap((variant): MatmulCandidate[] => variant === 'blocked'
    ? [{ name: 'blocked', variant, block: null }, { name: 'blocked8x8', variant, block: { rows: 8, cols: 8 } }]
    : [{ name: variant, variant, block: null }]);
  const most = (f: (s: AutotuneShape) => number) => Math.max(...shapes.map(f));
  const matmulChoice = await withScratch(gpu, [most((s) => s.M * s.K), most((s) => s.K * s.N), most((s) => s.M * s.N)], (t) =>
    fastest(gpu, 'matmul', matmulCandidates, timings, minMs, (c) => {
      setMatmulVariant(gpu, c.variant);
      setBlockedBlock(gpu, c.block);
      return () => { for (const s of shapes) matmul(gpu, t[2], t[0], t[1], s.M, s.N, s.K, { transA: s.transA, transB: s.transB }); };
    }));

  const usable = <T extends string>(all: readonly T[]): T[] => all.filter((v) => gpu.subgroups || !/subgroup/i.test(v));
  const [nN, nC] = sizes.norm;
  const rowReduction = (await withScratch(gpu, [nN * nC, nN * nC, nN * nC, nN * nC, nC, nN, nC], (t) => fastest(
    gpu, 'rowReduction', usable(ROW_REDUCTIONS).map((name) => ({ name })), timings, minMs, (c) => () => {
      setRowReduction(gpu, c.name);
      rmsnormForward(gpu, t[1], t[5], t[0], t[4], nN, nC, 1e-6);
      rmsnormBackward(gpu, t[3], t[6], t[2], t[0], t[4], t[5], nN, nC);
    }))).name;

  const [cN, cV] = sizes.crossEntropy;
  const crossEntropy = (await withScratch(gpu, [cN * cV, cN, cN, cN], (t) => fastest(
    gpu, 'crossEntropy', usable(CROSS_ENTROPY_LAYOUTS).map((name) => ({ name })), timings, minMs, (c) => () => {
      setCrossEntropyLayout(gpu, c.name);
      crossEntropyForwardBackward(gpu, t[3], t[0], t[0], t[1], t[2], cN, cV, 1 / cN);
    }))).name;

  const gn = sizes.gradNorm;
  const gradNormLayout = (await withScratch(gpu, [gn, 1], (t) => fastest(
    gpu, 'gradNorm', usable(GRAD_NORM_LAYOUTS).map((name) => ({ name })), timings, minMs, (c) => () => {
      gradNorm(gpu, t[1], t[0], gn, { layout: c.name });
    }))).name;

  const result: AutotuneResult = {
    key, cached: false, timings,
    matmul: { variant: matmulChoice.variant, block: matmulChoice.block },
    rowReduction, crossEntropy, gradNorm: gradNormLayout,
  };
  memo.set(key, result);
  use(gpu, result);
  store(key, result);
  return result;
}

function use(gpu: Gpu, c: AutotuneChoice): void {
  setMatmulVariant(gpu, c.matmul.variant);
  setBlockedBlock(gpu, c.matmul.block);
  setRowReduction(gpu, c.rowReduction);
  setCrossEntropyLayout(gpu, c.crossEntropy);
  setGradNormLayout(gpu, c.gradNorm);
}

/** Forgets every cached result (memory and localStorage); for tests and a "re-tune" button. */
export function clearAutotuneCache(): void {
  memo.clear();
  const ls = storage();
  if (!ls) return;
  const keys: string[] = [];
  for (let i = 0; i < ls.length; i++) {
    const k = ls.key(i);
    if (k?.startsWith(STORAGE_PREFIX)) keys.push(k);
  }
  for (const k of keys) ls.removeItem(k);
}

/** The candidate with the least time (recorded under timings[op]); `prepare` makes it current and returns its run. */
async function fastest<C extends { name: string }>(
  gpu: Gpu, op: string, candidates: C[], timings: AutotuneResult['timings'], minMs: number, prepare: (c: C) => () => void,
): Promise<C> {
  // A forced norm variant would override the one being timed.
  const forced = normConfig.rowReduction;
  normConfig.rowReduction = 'auto';
  timings[op] = {};
  let best: C | null = null;
  try {
    for (const c of candidates) {
      const ms = await timeRun(gpu, prepare(c), minMs);
      if (ms === null) continue;
      timings[op][c.name] = ms;
      if (!best || ms < timings[op][best.name]) best = c;
    }
  } finally {
    normConfig.rowReduction = forced;
  }
  if (!best) throw new Error(`autotune: no ${op} variant runs on adapter ${autotuneKey(gpu)}`);
  return best;
}

/** f with scratch tensors of the given sizes filled with a small value, released after. */
async function withScratch<T>(gpu: Gpu, sizes: number[], f: (t: ReturnType<Gpu['tensor']>[]) => Promise<T>): Promise<T> {
  const t = sizes.map((n) => gpu.tensor([n], 'autotune.scratch'));
  for (const x of t) gpu.fill(x, 0.25);
  try {
    return await f(t);
  } finally {
    gpu.release(...t);
  }
}

/** Milliseconds per run(), or null when its pipelines fail to build here. */
async function timeRun(gpu: Gpu, run: () => void, minMs: number): Promise<number | null> {
  gpu.device.pushErrorScope('validation');
  run(); // compiles the pipelines; not timed
  await gpu.sync();
  if (await gpu.device.popErrorScope()) return null;
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    await gpu.sync();
    const ms = performance.now() - t0;
    if (ms >= minMs || reps >= 1024) return ms / reps;
    reps *= Math.min(8, Math.max(2, Math.ceil(minMs / Math.max(ms, 0.01))));
  }
}

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // access denied (opaque origins, some privacy modes)
  }
}

function loadStored(key: string): AutotuneResult | null {
  const raw = storage()?.getItem(STORAGE_PREFIX + key);
  if (!raw) return null;
  try {
    const r = JSON.parse(raw) as AutotuneResult;
    const valid = matmulVariantsAny.includes(r.matmul?.variant) && ROW_REDUCTIONS.includes(r.rowReduction)
      && CROSS_ENTROPY_LAYOUTS.includes(r.crossEntropy) && GRAD_NORM_LAYOUTS.includes(r.gradNorm);
    return valid ? r : null;
  } catch {
    return null;
  }
}
const matmulVariantsAny: readonly string[] = ['blocked', 'tiled', 'subgroup'];

function store(key: string, r: AutotuneResult): void {
  try {
    storage()?.setItem(STORAGE_PREFIX + key, JSON.stringify(r));
  } catch {
    // quota or access errors: the in-memory cache still holds the result
  }
}
