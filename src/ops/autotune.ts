// Autotune: which matmul variant is fastest on this adapter, measured once at start-up.
// Times every variant in MATMUL_VARIANTS, and the blocked kernel with 8×8 blocks per thread as well as 4×4,
// on a few shapes that stand for a training step (y = x W^T, dx = dy W, dW = dy^T x), picks the candidate
// with the least total time and makes `matmul` use it on this Gpu.
// The winner is cached per adapter (vendor | architecture | description): in a module-level map, and in
// localStorage where it exists, so later sessions on the same adapter skip the timing.
// Contract: wall-clock around gpu.sync() (no timestamp queries needed); a variant whose pipeline fails to
// build on this adapter is skipped. Not here: per-shape choices (one variant serves all shapes).
import type { Gpu } from '../gpu/runtime';
import { MATMUL_VARIANTS, matmul, setBlockedBlock, setMatmulVariant, type MatmulVariant } from './matmul';

interface AutotuneShape { M: number; N: number; K: number; transA?: boolean; transB?: boolean }

interface AutotuneResult {
  /** The adapter key the result is cached under. */
  key: string;
  variant: MatmulVariant;
  /** The blocked kernel's block per thread when it is not the default 4×4 (only with variant 'blocked'). */
  block: Block | null;
  /** True when the result came from the cache (memory or localStorage) rather than a measurement. */
  cached: boolean;
  /** Milliseconds for one matmul of each shape, summed, per candidate measured ('blocked', 'blocked8x8',
   *  'tiled'; empty when cached). */
  timings: Record<string, number>;
}

type Block = { rows: 4 | 8; cols: 4 | 8 };
interface Candidate { name: string; variant: MatmulVariant; block: Block | null }

// 8×8 blocks do twice the multiply-adds per loaded word of 4×4 ones but compile about 3× longer (matmul.ts).
const CANDIDATES: Candidate[] = MATMUL_VARIANTS.flatMap((variant): Candidate[] => variant === 'blocked'
  ? [{ name: 'blocked', variant, block: null }, { name: 'blocked8x8', variant, block: { rows: 8, cols: 8 } }]
  : [{ name: variant, variant, block: null }]);

interface AutotuneOptions {
  /** Shapes to time (default: a training step's three layouts, small on software adapters). */
  shapes?: AutotuneShape[];
  /** Each shape is repeated until one timed batch lasts at least this long (default 20 ms). */
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

const STORAGE_PREFIX = 'studio.matmulAutotune.v1:';
const memo = new Map<string, AutotuneResult>();

export function autotuneKey(gpu: Gpu): string {
  const { vendor, architecture, description } = gpu.adapterInfo;
  return `${vendor}|${architecture}|${description}`;
}

/** Picks the fastest matmul variant for this adapter (cached per adapter) and makes `matmul` use it. */
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
  const shapes = opts.shapes ?? (gpu.isSoftware ? SOFTWARE_SHAPES : HARDWARE_SHAPES);
  const minMs = opts.minMs ?? 20;
  const timings: Record<string, number> = {};
  let best: Candidate | null = null;
  for (const c of CANDIDATES) {
    use(gpu, c);
    const ms = await timeVariant(gpu, shapes, minMs);
    if (ms === null) continue;
    timings[c.name] = ms;
    if (!best || ms < timings[best.name]) best = c;
  }
  if (!best) throw new Error(`autotune: no matmul variant runs on adapter ${key}`);
  const result: AutotuneResult = { key, variant: best.variant, block: best.block, cached: false, timings };
  memo.set(key, result);
  use(gpu, result);
  store(key, result);
  return result;
}

function use(gpu: Gpu, c: { variant: MatmulVariant; block: Block | null }): void {
  setMatmulVariant(gpu, c.variant);
  setBlockedBlock(gpu, c.block);
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

/** Summed milliseconds per matmul over the shapes, or null when the variant fails to build here. */
async function timeVariant(gpu: Gpu, shapes: AutotuneShape[], minMs: number): Promise<number | null> {
  let total = 0;
  for (const s of shapes) {
    const a = gpu.tensor([s.M * s.K], 'autotune.a'), b = gpu.tensor([s.K * s.N], 'autotune.b');
    const out = gpu.tensor([s.M * s.N], 'autotune.out');
    gpu.fill(a, 0.5);
    gpu.fill(b, 0.25);
    const run = () => matmul(gpu, out, a, b, s.M, s.N, s.K, { transA: s.transA, transB: s.transB });
    try {
      gpu.device.pushErrorScope('validation');
      run(); // compiles the pipeline; not timed
      await gpu.sync();
      if (await gpu.device.popErrorScope()) return null;
      let reps = 1;
      for (;;) {
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) run();
        await gpu.sync();
        const ms = performance.now() - t0;
        if (ms >= minMs || reps >= 1024) { total += ms / reps; break; }
        reps *= Math.min(8, Math.max(2, Math.ceil(minMs / Math.max(ms, 0.01))));
      }
    } finally {
      gpu.release(a, b, out);
    }
  }
  return total;
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
    return (MATMUL_VARIANTS as readonly string[]).includes(r.variant) ? { ...r, block: r.block ?? null } : null;
  } catch {
    return null;
  }
}

function store(key: string, r: AutotuneResult): void {
  try {
    storage()?.setItem(STORAGE_PREFIX + key, JSON.stringify(r));
  } catch {
    // quota or access errors: the in-memory cache still holds the result
  }
}
