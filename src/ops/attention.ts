// Causal grouped-query attention on the GPU (flash-style forward, recompute-from-lse backward) and its
// float64 CPU reference.
//
// Shapes (row-major; heads interleaved as the projections produce them):
//   q, out, dout, dq  [B, Tq, H*D]        k, v  [B, kvStride, Hkv*D]       dk, dv  [B, T, Hkv*D]
//   lse               [B, H, Tq]  natural-log log-sum-exp of each row's scaled scores (forward saves it)
//   docStart          u32 [B, Tq] optional: first absolute position of each query's document (packing)
// Query i sits at absolute position Tk - Tq + i and sees keys docStart[b,i] <= j <= Tk - Tq + i, and with a
// sliding window W (Gemma 3's local layers) only the last W of them: j > Tk - Tq + i - W. Query
// head h reads kv head floor(h / (H / Hkv)). Every row must see at least one key (docStart <= position),
// and docStart must be nondecreasing along t (as packing produces it): backward stops on that.
//
// Contract: no [B,H,Tq,Tk] score matrix is ever stored, only a rows x block tile of scores per thread.
// Forward streams keys through an online softmax; backward recomputes probabilities from lse in two
// passes: dq (threads own query rows) and dk/dv (threads own key rows and loop over every query head of
// their kv group), so no float atomics are used and results are deterministic. Backward overwrites
// dq/dk/dv. Every output row has exactly one owning thread, which accumulates it in place (out, dq, dk,
// dv serve as their own accumulators), so outputs must not share a buffer with inputs.
//
// Kernel shape: a thread owns `rows` rows and scores them against `block` streamed rows at a time, like
// a register-blocked matmul: a loop over the head dim (in vec4s when D % 4 == 0) loads rows + block
// vectors and does rows x block dot steps. The WGSL is generated here rather than kept in .wgsl files
// because that rows x block tile is unrolled (its size changes the code's shape). Why not keep a head
// row in a private array: SwiftShader ran that at ~0.03 GFLOP/s, and fully unrolled vec4 registers took
// minutes to compile at D = 64; this tiling is 2-4x faster than the former and compiles in seconds.
// The head-dim loops stay loops: their bound DU is a uniform, not a constant. With a constant bound,
// Mesa's compiler (lavapipe) unrolled every short one (D = 8, 20) into straight-line code that LLVM then took
// minutes to compile per pipeline; the kernel text is also one per tile, whatever the head dim.
// Not here: the q/k/v/out projections, RoPE (rope.ts), KV-cache bookkeeping.
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';

export interface AttentionDims {
  B: number;        // batch
  Tq: number;       // query rows (= T in training; 1..n when decoding with a KV cache)
  Tk: number;       // key rows visible (= pastLen + Tq); causal: query i (absolute position Tk - Tq + i) sees keys j <= Tk - Tq + i
  H: number;        // query heads
  Hkv: number;      // key/value heads (H % Hkv == 0; grouped-query attention: head h uses kv head floor(h / (H/Hkv)))
  D: number;        // head dim (any, e.g. 8, 16, 32, 64, 80, 128)
  kvStride?: number;// rows allocated per batch item in k/v (KV-cache capacity); default Tk
  window?: number | null; // sliding window: query at position i sees keys j with i - j < window; default none
}

/**
 * Tile per thread: `rows` owned rows (query rows in forward and dq, key rows in dk/dv) scored against
 * `block` streamed rows (keys in forward and dq, queries in dk/dv) per step.
 */
interface AttentionTuning { rows: number; block: number }

const MAX_HEAD_DIM = 256;
const WG = 64;

/**
 * Software adapters: 2 x 2. Measured at B=1 T=256 H=4 Hkv=2 D=64 on a loaded 2-core machine, SwiftShader: forward
 * 237 ms (1x1: 600-750 ms, 4x4: 310-370 ms), backward 1.2 s (4x4: 0.9-1.0 s, 1x1: 1.9-2.3 s); lavapipe: backward
 * 180 ms against 1 x 8's 350-400 ms, and a third of its cold compile. (4x4 once took minutes to compile with
 * document masks on SwiftShader, before the masks lost their `&&`; 2 x 2 stays for both adapters.)
 * Real GPUs: not measured yet; one row per thread keeps the most threads in flight.
 */
export const ATTENTION_TUNINGS = { software: { rows: 2, block: 2 }, hardware: { rows: 1, block: 8 } } as const satisfies Record<string, AttentionTuning>;

export function defaultAttentionTuning(gpu: Gpu): AttentionTuning {
  return gpu.isSoftware ? ATTENTION_TUNINGS.software : ATTENTION_TUNINGS.hardware;
}

/** The window as the kernels' u32 param: NO_WINDOW (never reached) when there is none. */
const NO_WINDOW = 0xffffffff;

function checkDims(dims: AttentionDims): Required<AttentionDims> & { window: number } {
  const { B, Tq, Tk, H, Hkv, D } = dims;
  const kvStride = dims.kvStride ?? Tk;
  const window = dims.window ?? NO_WINDOW;
  if (!Number.isInteger(window) || window < 1) throw new Error(`attention: window ${dims.window} must be a positive integer`);
  const ints = [B, Tq, Tk, H, Hkv, D, kvStride];
  if (!ints.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`attention: bad dims ${JSON.stringify(dims)}`);
  if (H % Hkv !== 0) throw new Error(`attention: H=${H} is not a multiple of Hkv=${Hkv}`);
  if (Tq > Tk || Tk > kvStride) throw new Error(`attention: need Tq <= Tk <= kvStride, got ${Tq}, ${Tk}, ${kvStride}`);
  if (D > MAX_HEAD_DIM) throw new Error(`attention: head dim ${D} > ${MAX_HEAD_DIM}`);
  return { B, Tq, Tk, H, Hkv, D, kvStride, window };
}

function checkSize(t: Tensor, n: number, what: string): void {
  if (t.size !== n) throw new Error(`attention: ${what} (${t.label}) has ${t.size} elements, expected ${n}`);
}

/** WebGPU rejects a buffer bound read-only and read-write in one dispatch, even as disjoint views. */
function checkNoAlias(outputs: Tensor[], inputs: (Tensor | undefined)[]): void {
  for (const o of outputs) for (const i of inputs) {
    if (i && o.buffer === i.buffer) throw new Error(`attention: output ${o.label} shares a buffer with input ${i.label}`);
  }
}

function checkTuning(tuning: AttentionTuning): void {
  for (const n of [tuning.rows, tuning.block]) {
    if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`attention: tuning ${JSON.stringify(tuning)} outside 1..16`);
  }
}

/** Forward: writes out [B,Tq,H*D] and lse [B,H,Tq]. */
export function attentionForward(
  gpu: Gpu, out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor,
  dims: AttentionDims, scale: number, docStart?: Tensor, tuning = defaultAttentionTuning(gpu),
): void {
  const { B, Tq, Tk, H, Hkv, D, kvStride, window } = checkDims(dims);
  checkSize(q, B * Tq * H * D, 'q');
  checkSize(out, B * Tq * H * D, 'out');
  checkSize(lse, B * H * Tq, 'lse');
  checkSize(k, B * kvStride * Hkv * D, 'k');
  checkSize(v, B * kvStride * Hkv * D, 'v');
  if (docStart) checkSize(docStart, B * Tq, 'docStart');
  checkNoAlias([out, lse], [q, k, v, docStart]);
  checkTuning(tuning);
  const R = tuning.rows;
  gpu.dispatch({
    code: kernel('forward', D, tuning), entryPoint: 'forward', label: 'attention.forward',
    // Without packing the docStart slot is never read; q stands in (two read-only bindings may alias).
    bindings: [q, k, v, docStart ?? q, out, lse],
    params: { u32: [B, Tq, Tk, H, Hkv, kvStride, window, headUnits(D)], f32: [scale] },
    workgroups: elementwiseGrid(B * H * Math.ceil(Tq / R), WG),
    constants: { WG, HAS_DOC: docStart ? 1 : 0 },
  });
}

/** Training backward (Tq = Tk = kvStride = T): overwrites dq [B,T,H*D], dk and dv [B,T,Hkv*D]. */
export function attentionBackward(
  gpu: Gpu, dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, out: Tensor, lse: Tensor,
  q: Tensor, k: Tensor, v: Tensor, dims: AttentionDims, scale: number, docStart?: Tensor,
  tuning = defaultAttentionTuning(gpu),
): void {
  const { B, Tq: T, Tk, H, Hkv, D, kvStride, window } = checkDims(dims);
  if (Tk !== T || kvStride !== T) throw new Error(`attentionBackward: training shapes only (Tq = Tk = kvStride), got ${T}, ${Tk}, ${kvStride}`);
  for (const [t, n, what] of [
    [q, B * T * H * D, 'q'], [out, B * T * H * D, 'out'], [dout, B * T * H * D, 'dout'], [dq, B * T * H * D, 'dq'],
    [k, B * T * Hkv * D, 'k'], [v, B * T * Hkv * D, 'v'], [dk, B * T * Hkv * D, 'dk'], [dv, B * T * Hkv * D, 'dv'],
    [lse, B * H * T, 'lse'],
  ] as const) checkSize(t, n, what);
  if (docStart) checkSize(docStart, B * T, 'docStart');
  checkNoAlias([dq, dk, dv], [q, k, v, out, dout, lse, docStart]);
  checkTuning(tuning);
  const R = tuning.rows;
  const constants = { WG, HAS_DOC: docStart ? 1 : 0 };
  const params = { u32: [B, T, H, Hkv, window, headUnits(D)], f32: [scale] };
  const delta = gpu.tensor([B, H, T], 'attention.delta'); // rowsum(dout ∘ out), from pass 1 to pass 2
  gpu.dispatch({
    code: kernel('backward_dq', D, tuning), entryPoint: 'backward_dq', label: 'attention.backward.dq',
    bindings: [q, k, v, out, dout, lse, docStart ?? q, dq, delta],
    params, workgroups: elementwiseGrid(B * H * Math.ceil(T / R), WG), constants,
  });
  gpu.dispatch({
    code: kernel('backward_dkdv', D, tuning), entryPoint: 'backward_dkdv', label: 'attention.backward.dkdv',
    bindings: [q, k, v, dout, lse, delta, docStart ?? q, dk, dv],
    params, workgroups: elementwiseGrid(B * Hkv * Math.ceil(T / R), WG), constants,
  });
  gpu.release(delta); // safe: later writes to a pooled buffer are queue-ordered after these dispatches
}

// ---- WGSL generation -----------------------------------------------------------------------------
// Naming in the generated code: x indexes the rows a thread owns, t the streamed rows of the current
// block, c the head-dim step (one vec4, or one f32 when D % 4 != 0). Scores live in the log2 domain
// (scale * log2(e) applied to each dot product), so every exp is an exp2. A row index past the end is
// clamped to the last row, its results masked out and never stored. The tile's masks combine their tests
// with `&`, not `&&`: a short-circuit `&&` whose right side reads a `var` becomes branches in the SPIR-V, and
// with docStart's per-row bounds SwiftShader then took 40 s and more to compile dk/dv's 1 x 8 tile.

type KernelName = 'forward' | 'backward_dq' | 'backward_dkdv';
const kernels = new Map<string, string>();

/** Head rows are read in vec4s when the head dim allows it. */
const isVec4 = (D: number): boolean => D % 4 === 0;

/** Storage elements per head row (the kernels' DU param). */
const headUnits = (D: number): number => (isVec4(D) ? D / 4 : D);

function kernel(name: KernelName, D: number, tuning: AttentionTuning): string {
  const key = `${name}|${isVec4(D)}|${tuning.rows}|${tuning.block}`;
  let code = kernels.get(key);
  if (!code) {
    const tile = new Tile(isVec4(D), tuning.rows, tuning.block);
    code = { forward: forwardKernel, backward_dq: backwardDqKernel, backward_dkdv: backwardDkDvKernel }[name](tile);
    kernels.set(key, code);
  }
  return code;
}

/** The rows x block tile of one kernel and the text helpers that unroll it. */
class Tile {
  readonly E: string;   // storage element of a head row
  constructor(vec4: boolean, readonly R: number, readonly BK: number) {
    this.E = vec4 ? 'vec4<f32>' : 'f32';
  }
  rows(f: (x: number) => string): string { return lines(this.R, f); }
  block(f: (t: number) => string): string { return lines(this.BK, f); }
  tile(f: (x: number, t: number) => string): string { return lines(this.R, (x) => lines(this.BK, (t) => f(x, t))); }
  /** sum_t f(t) as one expression. */
  sumBlock(f: (t: number) => string): string { return Array.from({ length: this.BK }, (_, t) => f(t)).join(' + '); }
  maxBlock(f: (t: number) => string): string { return Array.from({ length: this.BK }, (_, t) => f(t)).reduce((a, b) => `max(${a}, ${b})`); }
  prelude(what: string): string {
    return `// Generated by src/ops/attention.ts: ${what}; head rows of ${this.E}, tile ${this.R} rows x ${this.BK}.
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;
const NEG_BIG: f32 = -3.0e38; // stands in for -inf (WGSL has no infinity literal)
override WG: u32 = 64;
override HAS_DOC: bool = false;
fn dotE(a: ${this.E}, b: ${this.E}) -> f32 { return ${this.E === 'f32' ? 'a * b' : 'dot(a, b)'}; }`;
  }
  /**
   * The Params struct, then the storage bindings in dispatch order (read-only ones first, then the written ones),
   * then the params uniform. Head rows are arrays of E; the per-row statistics and docStart are scalars.
   */
  bindings(params: string, read: string[], written: string[]): string {
    const binding = (name: string, i: number, access: string) =>
      `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${SCALAR_BINDINGS[name] ?? this.E}>;`;
    return [
      `struct Params { ${params} }`,
      ...read.map((name, i) => binding(name, i, 'read')),
      ...written.map((name, i) => binding(name, read.length + i, 'read_write')),
      `@group(0) @binding(${read.length + written.length}) var<uniform> p: Params;`,
    ].join('\n');
  }
  /**
   * The entry point's opening: thread r owns R consecutive rows (from `first`) of one (b, `head`), where
   * `rows` rows (p.Tq or p.T) are split into blocks of R per head and `heads` (p.H or p.Hkv) heads per batch item.
   */
  entry(name: string, rows: string, heads: string, first: string, head: string): string {
    return `@compute @workgroup_size(WG)
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let DU = p.DU; // storage elements per head row: a uniform, so no compiler unrolls the head-dim loops (see the header)
  let blocks = (${rows} + ${this.R - 1}u) / ${this.R}u;
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.B * ${heads} * blocks) { return; }
  let ${first} = (r % blocks) * ${this.R}u;
  let ${head} = (r / blocks) % ${heads};
  let b = r / (blocks * ${heads});`;
  }
}

/**
 * Both backward passes' R x BK tiles of s = q·k (scores, unscaled) and dp = dout·v, zeroed then summed over
 * the head dim. `owned` says which side the thread's R rows are (queries in dq, keys in dk/dv; the other side
 * is the streamed block); query rows are read at qBase<i>, key rows at kBase<i>. Tile names are s<x>_<t>,
 * dp<x>_<t>, x always an owned row.
 */
function backwardDots(T: Tile, indent: string, owned: 'queries' | 'keys', qBase: string, kBase: string): string {
  const queriesOwned = owned === 'queries';
  const [queries, keys] = queriesOwned ? [T.rows.bind(T), T.block.bind(T)] : [T.block.bind(T), T.rows.bind(T)];
  const dots = (x: number, t: number) => (queriesOwned
    ? [`s${x}_${t} += dotE(q${x}, k${t})`, `dp${x}_${t} += dotE(do${x}, v${t})`]
    : [`s${x}_${t} += dotE(k${x}, q${t})`, `dp${x}_${t} += dotE(v${x}, do${t})`]);
  return `${T.tile((x, t) => `${indent}var s${x}_${t} = 0.0;
${indent}var dp${x}_${t} = 0.0;`)}
${indent}for (var c = 0u; c < DU; c++) {
${keys((i) => `${indent}  let k${i} = k[${kBase}${i} + c];
${indent}  let v${i} = v[${kBase}${i} + c];`)}
${queries((i) => `${indent}  let q${i} = q[${qBase}${i} + c];
${indent}  let do${i} = dout[${qBase}${i} + c];`)}
${T.tile((x, t) => dots(x, t).map((d) => `${indent}  ${d};`).join('\n'))}
${indent}}`;
}

/** Bindings whose elements are scalars rather than head-row elements E. */
const SCALAR_BINDINGS: Record<string, string> = { docStart: 'u32', lse: 'f32', delta: 'f32' };

function lines(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join('\n');
}

/**
 * Forward. Thread = R consecutive query rows of one (b, h); keys stream in blocks of BK from the first
 * any row sees to the last. Per block: S = q k^T (R x BK, log2 domain, masked), online softmax per row
 * (m' = max(m, max_t S), alpha = 2^(m - m'), P = 2^(S - m')), then out = out alpha + P v in place.
 * Finally out /= l and lse = (m + log2 l) ln 2. Bindings: q, k, v, docStart, out, lse, params.
 */
function forwardKernel(T: Tile): string {
  return `${T.prelude('flash attention forward')}
${T.bindings('B: u32, Tq: u32, Tk: u32, H: u32, Hkv: u32, kvStride: u32, window: u32, DU: u32, scale: f32', ['q', 'k', 'v', 'docStart'], ['out', 'lse'])}

${T.entry('forward', 'p.Tq', 'p.H', 'iBlock', 'h')}
  let g = h / (p.H / p.Hkv);
  let qs = p.scale * LOG2E;
  var jFirst = 0xffffffffu;
${T.rows((x) => `  let valid${x} = iBlock + ${x}u < p.Tq;
  let i${x} = min(iBlock + ${x}u, p.Tq - 1u);
  let last${x} = p.Tk - p.Tq + i${x};
  var first${x} = 0u;
  if (HAS_DOC) { first${x} = docStart[b * p.Tq + i${x}]; }
  if (last${x} + 1u > p.window) { first${x} = max(first${x}, last${x} + 1u - p.window); }
  jFirst = min(jFirst, first${x});
  let qb${x} = ((b * p.Tq + i${x}) * p.H + h) * DU;
  var m${x} = NEG_BIG;
  var l${x} = 0.0;`)}
  let jLast = last${T.R - 1};
  let kvRow = p.Hkv * DU;
  let kvBase = b * p.kvStride * kvRow + g * DU;
  var fresh = true; // the first block overwrites out instead of rescaling it
  for (var j0 = jFirst; j0 <= jLast; j0 += ${T.BK}u) {
${T.block((t) => `    let kb${t} = kvBase + min(j0 + ${t}u, jLast) * kvRow;`)}
${T.tile((x, t) => `    var s${x}_${t} = 0.0;`)}
    for (var c = 0u; c < DU; c++) {
${T.block((t) => `      let k${t} = k[kb${t} + c];`)}
${T.rows((x) => `      let q${x} = q[qb${x} + c];`)}
${T.tile((x, t) => `      s${x}_${t} += dotE(q${x}, k${t});`)}
    }
${T.rows((x) => `${T.block((t) => `    let ok${x}_${t} = (j0 + ${t}u >= first${x}) & (j0 + ${t}u <= last${x});
    let z${x}_${t} = select(NEG_BIG, s${x}_${t} * qs, ok${x}_${t});`)}
    let mNew${x} = max(m${x}, ${T.maxBlock((t) => `z${x}_${t}`)});
    let alpha${x} = exp2(m${x} - mNew${x});
${T.block((t) => `    let p${x}_${t} = select(0.0, exp2(z${x}_${t} - mNew${x}), ok${x}_${t});`)}
    l${x} = l${x} * alpha${x} + ${T.sumBlock((t) => `p${x}_${t}`)};
    m${x} = mNew${x};`)}
    for (var c = 0u; c < DU; c++) {
${T.block((t) => `      let v${t} = v[kb${t} + c];`)}
${T.rows((x) => `      if (valid${x}) {
        let o = select(out[qb${x} + c] * alpha${x}, ${T.E}(0.0), fresh);
        out[qb${x} + c] = o + ${T.sumBlock((t) => `p${x}_${t} * v${t}`)};
      }`)}
    }
    fresh = false;
  }
${T.rows((x) => `  if (valid${x}) {
    let inv = 1.0 / l${x};
    for (var c = 0u; c < DU; c++) { out[qb${x} + c] *= inv; }
    lse[(b * p.H + h) * p.Tq + i${x}] = (m${x} + log2(l${x})) * LN2;
  }`)}
}
`;
}

/** The backward kernels' params, as attentionBackward writes them. */
const BACKWARD_PARAMS = 'B: u32, T: u32, H: u32, Hkv: u32, window: u32, DU: u32, scale: f32';

/**
 * Backward pass 1. Thread = R consecutive query rows of one (b, h). delta = dout·out per row (stored for
 * pass 2); then per block of BK keys: S = q k^T, dP = dout v^T, P = 2^(S - lse log2 e),
 * dS = scale P (dP - delta), dq += dS k in place. Bindings: q, k, v, out, dout, lse, docStart, dq, delta.
 */
function backwardDqKernel(T: Tile): string {
  return `${T.prelude('attention backward, dq')}
${T.bindings(BACKWARD_PARAMS, ['q', 'k', 'v', 'out', 'dout', 'lse', 'docStart'], ['dq', 'delta'])}

${T.entry('backward_dq', 'p.T', 'p.H', 'iBlock', 'h')}
  let g = h / (p.H / p.Hkv);
  let qs = p.scale * LOG2E;
  let stat = (b * p.H + h) * p.T;   // lse/delta row of head h
  var jFirst = 0xffffffffu;
${T.rows((x) => `  let valid${x} = iBlock + ${x}u < p.T;
  let i${x} = min(iBlock + ${x}u, p.T - 1u);
  var first${x} = 0u;
  if (HAS_DOC) { first${x} = docStart[b * p.T + i${x}]; }
  if (i${x} + 1u > p.window) { first${x} = max(first${x}, i${x} + 1u - p.window); }
  jFirst = min(jFirst, first${x});
  let rb${x} = ((b * p.T + i${x}) * p.H + h) * DU;
  var delta${x} = 0.0;
  for (var c = 0u; c < DU; c++) { delta${x} += dotE(dout[rb${x} + c], out[rb${x} + c]); }
  if (valid${x}) { delta[stat + i${x}] = delta${x}; }
  let lse${x} = lse[stat + i${x}] * LOG2E;`)}
  let jLast = i${T.R - 1};
  let kvRow = p.Hkv * DU;
  let kvBase = b * p.T * kvRow + g * DU;
  var fresh = true; // the first block overwrites dq
  for (var j0 = jFirst; j0 <= jLast; j0 += ${T.BK}u) {
${T.block((t) => `    let kb${t} = kvBase + min(j0 + ${t}u, jLast) * kvRow;`)}
${backwardDots(T, '    ', 'queries', 'rb', 'kb')}
${T.tile((x, t) => `    let ds${x}_${t} = select(0.0, exp2(s${x}_${t} * qs - lse${x}) * (dp${x}_${t} - delta${x}) * p.scale,
        (j0 + ${t}u >= first${x}) & (j0 + ${t}u <= i${x}));`)}
    for (var c = 0u; c < DU; c++) {
${T.block((t) => `      let k${t} = k[kb${t} + c];`)}
${T.rows((x) => `      if (valid${x}) {
        dq[rb${x} + c] = select(dq[rb${x} + c], ${T.E}(0.0), fresh) + ${T.sumBlock((t) => `ds${x}_${t} * k${t}`)};
      }`)}
    }
    fresh = false;
  }
}
`;
}

/**
 * Backward pass 2. Thread = R consecutive key rows of one (b, kv head g). It loops over the query heads
 * of g and, in blocks of BK, the queries that can see any of its keys (from its first key to the end of
 * its last key's document): S = k q^T, dP = v dout^T, P = 2^(S - lse log2 e), dS = scale P (dP - delta),
 * then dv += P dout and dk += dS q in place. Each gradient row has one owner: no atomics.
 * Bindings: q, k, v, dout, lse, delta, docStart, dk, dv, params.
 */
function backwardDkDvKernel(T: Tile): string {
  return `${T.prelude('attention backward, dk and dv')}
${T.bindings(BACKWARD_PARAMS, ['q', 'k', 'v', 'dout', 'lse', 'delta', 'docStart'], ['dk', 'dv'])}

${T.entry('backward_dkdv', 'p.T', 'p.Hkv', 'jBlock', 'g')}
  let group = p.H / p.Hkv;
  let ks = p.scale * LOG2E;
${T.rows((x) => `  let valid${x} = jBlock + ${x}u < p.T;
  let j${x} = min(jBlock + ${x}u, p.T - 1u);
  let kb${x} = ((b * p.T + j${x}) * p.Hkv + g) * DU;`)}

  // Queries past the end of the last key's document see none of these keys (docStart is nondecreasing), nor
  // do queries a window or more past the last key.
  var end = p.T;
  if (p.window < p.T) { end = min(end, j${T.R - 1} + p.window); }
  if (HAS_DOC) {
    for (var i = j${T.R - 1} + 1u; i < p.T; i++) {
      if (docStart[b * p.T + i] > j${T.R - 1}) { end = i; break; }
    }
  }

  let qRow = p.H * DU;
  var fresh = true; // the first block overwrites dk and dv
  for (var hh = 0u; hh < group; hh++) {
    let h = g * group + hh;
    let stat = (b * p.H + h) * p.T;   // lse/delta row of head h
    for (var iStart = jBlock; iStart < end; iStart += ${T.BK}u) {
${T.block((t) => `      let i${t} = min(iStart + ${t}u, end - 1u);
      let qb${t} = (b * p.T + i${t}) * qRow + h * DU;
      let lse${t} = lse[stat + i${t}] * LOG2E;
      let delta${t} = delta[stat + i${t}];
      var docFirst${t} = 0u;
      if (HAS_DOC) { docFirst${t} = docStart[b * p.T + i${t}]; }`)}
${backwardDots(T, '      ', 'keys', 'qb', 'kb')}
${T.tile((x, t) => `      let p${x}_${t} = select(0.0, exp2(s${x}_${t} * ks - lse${t}),
          (iStart + ${t}u < end) & (i${t} >= j${x}) & (i${t} - j${x} < p.window) & (docFirst${t} <= j${x}));
      let ds${x}_${t} = p${x}_${t} * (dp${x}_${t} - delta${t}) * p.scale;`)}
      for (var c = 0u; c < DU; c++) {
${T.block((t) => `        let q${t} = q[qb${t} + c];
        let do${t} = dout[qb${t} + c];`)}
${T.rows((x) => `        if (valid${x}) {
          dv[kb${x} + c] = select(dv[kb${x} + c], ${T.E}(0.0), fresh) + ${T.sumBlock((t) => `p${x}_${t} * do${t}`)};
          dk[kb${x} + c] = select(dk[kb${x} + c], ${T.E}(0.0), fresh) + ${T.sumBlock((t) => `ds${x}_${t} * q${t}`)};
        }`)}
      }
      fresh = false;
    }
  }
}
`;
}

// ---- CPU reference (float64): plain softmax(scale QK^T + mask) V -----------------------------------

/** Visible key range [first, last] of query i in batch item b. */
function keyRange(dims: Required<AttentionDims>, b: number, i: number, docStart?: ArrayLike<number>): [number, number] {
  const last = dims.Tk - dims.Tq + i;
  const first = Math.max(docStart ? docStart[b * dims.Tq + i] : 0, last + 1 - (dims.window ?? Infinity));
  return [first, last];
}

/** Probabilities of one query row over keys first..last (float64), and the row's log-sum-exp. */
function softmaxRow(
  q: ArrayLike<number>, k: ArrayLike<number>, d: Required<AttentionDims>,
  b: number, i: number, h: number, first: number, last: number, scale: number,
): { p: Float64Array; lse: number } {
  const { Tq, H, Hkv, D, kvStride } = d;
  const g = Math.floor(h / (H / Hkv));
  const qb = ((b * Tq + i) * H + h) * D;
  const s = new Float64Array(last - first + 1);
  let m = -Infinity;
  for (let j = first; j <= last; j++) {
    const kb = ((b * kvStride + j) * Hkv + g) * D;
    let dot = 0;
    for (let e = 0; e < D; e++) dot += q[qb + e] * k[kb + e];
    s[j - first] = dot * scale;
    m = Math.max(m, s[j - first]);
  }
  let sum = 0;
  for (let t = 0; t < s.length; t++) { s[t] = Math.exp(s[t] - m); sum += s[t]; }
  for (let t = 0; t < s.length; t++) s[t] /= sum;
  return { p: s, lse: m + Math.log(sum) };
}

export function attentionForwardCpu(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  dims: AttentionDims, scale: number, docStart?: ArrayLike<number>,
): { out: Float64Array; lse: Float64Array } {
  const d = checkDims(dims);
  const { B, Tq, H, Hkv, D, kvStride } = d;
  const out = new Float64Array(B * Tq * H * D);
  const lse = new Float64Array(B * H * Tq);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) {
    const g = Math.floor(h / (H / Hkv));
    const [first, last] = keyRange(d, b, i, docStart);
    const row = softmaxRow(q, k, d, b, i, h, first, last, scale);
    lse[(b * H + h) * Tq + i] = row.lse;
    const ob = ((b * Tq + i) * H + h) * D;
    for (let j = first; j <= last; j++) {
      const vb = ((b * kvStride + j) * Hkv + g) * D, pj = row.p[j - first];
      for (let e = 0; e < D; e++) out[ob + e] += pj * v[vb + e];
    }
  }
  return { out, lse };
}

/**
 * Gradients of L = sum(out ∘ dout) with softmax recomputed from scratch (no lse, no flash tricks).
 * Works for any Tq <= Tk: dk, dv have k's shape [B, kvStride, Hkv*D] (zero past Tk).
 */
export function attentionBackwardCpu(
  dout: ArrayLike<number>, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  dims: AttentionDims, scale: number, docStart?: ArrayLike<number>,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const d = checkDims(dims);
  const { B, Tq, H, Hkv, D, kvStride } = d;
  const dq = new Float64Array(B * Tq * H * D);
  const dk = new Float64Array(B * kvStride * Hkv * D);
  const dv = new Float64Array(B * kvStride * Hkv * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) {
    const g = Math.floor(h / (H / Hkv));
    const [first, last] = keyRange(d, b, i, docStart);
    const { p } = softmaxRow(q, k, d, b, i, h, first, last, scale);
    const qb = ((b * Tq + i) * H + h) * D;
    // dP_j = dout·v_j; dS_j = P_j (dP_j - sum_t P_t dP_t)
    const dp = new Float64Array(p.length);
    let pdp = 0;
    for (let j = first; j <= last; j++) {
      const vb = ((b * kvStride + j) * Hkv + g) * D;
      let s = 0;
      for (let e = 0; e < D; e++) s += dout[qb + e] * v[vb + e];
      dp[j - first] = s;
      pdp += p[j - first] * s;
    }
    for (let j = first; j <= last; j++) {
      const kb = ((b * kvStride + j) * Hkv + g) * D, pj = p[j - first];
      const ds = pj * (dp[j - first] - pdp) * scale;
      for (let e = 0; e < D; e++) {
        dq[qb + e] += ds * k[kb + e];
        dk[kb + e] += ds * q[qb + e];
        dv[kb + e] += pj * dout[qb + e];
      }
    }
  }
  return { dq, dk, dv };
}
