// Matmul: every linear layer's forward and backward, with LoRA fused in.
//   out[M,N] (=|+=) alpha · op(a)·op(b) + extra.alpha · extra.a[M,k]·op(extra.b) + bias[N]
//   op(a) = a [M,K], or a stored [K,M] when transA;  op(b) = b [K,N], or b stored [N,K] when transB.
//   Training uses all three:  y = x W^T (transB),  dx = dy W,  dW (+)= dy^T x (transA, accumulate).
// Contract: row-major f32 (b may be a frozen weight in 16-bit or quantised storage: bStorage, read through
// weight_load.wgsl); any M, N, K ≥ 1; tensors may be views (element offset). `out` must not overlap an
// input's range; it may share a buffer with inputs (views of one table), which switches to a pipeline whose
// bindings are all read_write, since WebGPU forbids read-only and writable use of one buffer in a dispatch.
//
// Three kernel variants, chosen per adapter (src/ops/autotune.ts times them; until then, the default below):
//  - 'blocked': no workgroup memory; each thread computes a 4×4 output block (8×8 when autotune finds it faster,
//    1×C for M < 4) straight from global memory, with vec4 loads wherever the layout makes 4 words contiguous
//    and aligned. 2.5–5× the tiled kernel on SwiftShader, where barriers are expensive.
//    Generated here because the load code changes shape with the layouts (blockedWgsl(spec) below).
//  - 'tiled': matmul_tiled.wgsl, 64×64 output tiles staged through workgroup memory, 4×4 per thread; the
//    variant for real GPUs.
//  - 'subgroup': matmul_subgroup.wgsl, 4 rows × 4 columns per thread, op(a) loaded once per subgroup and shared by
//    subgroupShuffle; only on devices with `subgroups` (matmulVariants), any subgroup size.
// Each variant has an f16 form, used for a frozen weight stored 'f16' on a device with shader-f16 (Gpu.f16) unless
// the caller says otherwise (f16Math: false, for weights of |w| >= F16_MAX_WEIGHT): matmul_f16.wgsl in place of
// matmul_f32.wgsl, so the f16 and f32 kernels are one source. f16 multiplies, f32 sums, op(a) rounded to f16 after
// a per-row power-of-two scale: within 2^-9 of Σ|a_k b_k| of the exact product (tests/gpu/matmul.test.ts).
// Not here: batching (callers loop over heads or offset views), split-K.
import type { Gpu, Tensor } from '../gpu/runtime';
import { scalesWord, STORAGE_CODE, storageWords, type WeightStorage } from './weight-storage';
import { ceilDiv } from './grid';
import tiledWgsl from './matmul_tiled.wgsl?raw';
import subgroupWgsl from './matmul_subgroup.wgsl?raw';
import commonWgsl from './matmul_common.wgsl?raw';
import f32Wgsl from './matmul_f32.wgsl?raw';
import f16Wgsl from './matmul_f16.wgsl?raw';
import weightLoadWgsl from './weight_load.wgsl?raw';

export interface MatmulOptions {
  transA?: boolean;      // a is stored [K, M] instead of [M, K]
  transB?: boolean;      // b is stored [N, K] instead of [K, N]   (HF Linear weight [out,in] => y = x W^T uses transB)
  bias?: Tensor;         // [N], added to every output row
  alpha?: number;        // scales op(a)·op(b) (default 1; not the bias)
  accumulate?: boolean;  // out += result instead of out = result (gradient accumulation)
  /** A second product summed into the same output in the same kernel: + extra.alpha * extra.a[M,k] · op(extra.b),
   *  op(b) = b [N,k] transposed when extra.transB, else b is [k,N]. This fuses LoRA into its base matmul:
   *  forward  y  = x W^T + b + s·(x A^T) B^T       -> extra = { a: u=[M,r], b: B=[N,r], k: r, transB: true,  alpha: s }
   *  backward dx = dy W + s·(dy B) A               -> extra = { a: dy·B=[M,r], b: A=[r,K], k: r, transB: false, alpha: s } */
  extra?: { a: Tensor; b: Tensor; k: number; transB: boolean; alpha: number };
  /** How b is stored (default f32): a frozen weight packed as src/ops/weight-storage.ts describes, widened as it is loaded. */
  bStorage?: WeightStorage;
  /** An 'f16' b on a device with shader-f16 takes the f16 kernels unless this is false (default true): a weight with
   *  some |w| >= F16_MAX_WEIGHT (weight-storage.ts) must say false. */
  f16Math?: boolean;
}

/** True when `matmul` multiplies in f16 for this b: an f16 weight, f16Math not refused, a device with shader-f16. */
export function usesF16(gpu: Gpu, opts: Pick<MatmulOptions, 'bStorage' | 'f16Math'>): boolean {
  return gpu.f16 && opts.bStorage === 'f16' && opts.f16Math !== false;
}

export type MatmulVariant = 'blocked' | 'tiled' | 'subgroup';
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['blocked', 'tiled', 'subgroup'];

/** The variants this device can run ('subgroup' needs the subgroups feature). */
export function matmulVariants(gpu: Gpu): MatmulVariant[] {
  return MATMUL_VARIANTS.filter((v) => v !== 'subgroup' || gpu.subgroups);
}

/**
 * Every matmul kernel by name, with the device features it needs (for benchmarks: GFLOP/s per kernel). To run one:
 * setMatmulVariant(gpu, k.variant), and for an f16 kernel pass b as an f16 weight (encodeWeights('f16', …)) with
 * bStorage 'f16' on a Gpu whose f16 is true. The blocked kernel's 8×8 block (setBlockedBlock) is a size, not a kernel.
 */
export interface MatmulKernel { name: string; variant: MatmulVariant; f16: boolean; needs: { f16: boolean; subgroups: boolean } }
export const MATMUL_KERNELS: readonly MatmulKernel[] = MATMUL_VARIANTS.flatMap((variant) => [false, true].map((f16) => ({
  name: f16 ? `${variant}.f16` : variant, variant, f16, needs: { f16, subgroups: variant === 'subgroup' },
})));

/** The kernels this device can run. */
export function matmulKernels(gpu: Gpu): MatmulKernel[] {
  return MATMUL_KERNELS.filter((k) => (!k.needs.f16 || gpu.f16) && (!k.needs.subgroups || gpu.subgroups));
}

// ---- variant choice ----------------------------------------------------------------------------------

const chosen = new WeakMap<Gpu, MatmulVariant>();

/** Before autotune has run: register blocking on a software rasteriser, tiling on real GPUs. */
export function defaultMatmulVariant(gpu: Gpu): MatmulVariant {
  return gpu.isSoftware ? 'blocked' : 'tiled';
}

/** The variant `matmul` uses on this device. */
export function matmulVariant(gpu: Gpu): MatmulVariant {
  return chosen.get(gpu) ?? defaultMatmulVariant(gpu);
}

/** Forces a variant on this device (autotune's result, or tests covering each variant); null restores the default. */
export function setMatmulVariant(gpu: Gpu, variant: MatmulVariant | null): void {
  if (variant === 'subgroup' && !gpu.subgroups) throw new Error('matmul: the subgroup variant needs a device with the subgroups feature');
  if (variant === null) chosen.delete(gpu);
  else chosen.set(gpu, variant);
}

const blocks = new WeakMap<Gpu, { rows: 4 | 8; cols: 4 | 8 }>();

/** Overrides the blocked kernel's block per thread on this device (see blockedSpec); null restores 4×4. */
export function setBlockedBlock(gpu: Gpu, block: { rows: 4 | 8; cols: 4 | 8 } | null): void {
  if (block === null) blocks.delete(gpu);
  else blocks.set(gpu, block);
}

// ---- dispatch ------------------------------------------------------------------------------------------

// Params uniform (both kernels): u32 M, N, K, flags, rk, bScales; f32 alpha, extraAlpha. The blocked kernel bakes
// transA/transB into its code; the tiled one reads them from flags.
const HAS_BIAS = 1, ACCUMULATE = 2, EXTRA_TRANS_B = 4, TRANS_A = 8, TRANS_B = 16;

/** out[M,N] (=|+=) alpha·op(a)·op(b) [+ extra] [+ bias]. All row-major f32; tensors may be views (offset). */
export function matmul(gpu: Gpu, out: Tensor, a: Tensor, b: Tensor, M: number, N: number, K: number, opts: MatmulOptions = {}): void {
  for (const [name, v] of [['M', M], ['N', N], ['K', K]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`matmul(${out.label}): ${name} = ${v}, expected an integer ≥ 1`);
  }
  const { transA = false, transB = false, bias, alpha = 1, accumulate = false, extra, bStorage = 'f32' } = opts;
  need(out, M * N, 'out', out);
  need(a, M * K, 'a', out);
  need(b, storageWords(bStorage, K * N), 'b', out);
  if (bias) need(bias, N, 'bias', out);
  if (extra) {
    if (!Number.isInteger(extra.k) || extra.k < 1) throw new Error(`matmul(${out.label}): extra.k = ${extra.k}, expected an integer ≥ 1`);
    need(extra.a, M * extra.k, 'extra.a', out);
    need(extra.b, extra.k * N, 'extra.b', out);
  }
  const inputs = [a, b, bias, extra?.a, extra?.b];
  const aliasSafe = inputs.some((t) => t && t.buffer === out.buffer);
  // Absent optional inputs are bound to `b` (never read: flags say so); any buffer would do.
  const bindings = [out, a, b, bias ?? b, extra?.a ?? b, extra?.b ?? b];
  const flags = (bias ? HAS_BIAS : 0) | (accumulate ? ACCUMULATE : 0) | (extra?.transB ? EXTRA_TRANS_B : 0)
    | (transA ? TRANS_A : 0) | (transB ? TRANS_B : 0);
  const params = { u32: [M, N, K, flags, extra?.k ?? 0, scalesWord(bStorage, K * N)], f32: [alpha, extra?.alpha ?? 0] };
  const W_STORAGE = STORAGE_CODE[bStorage];
  const f16 = usesF16(gpu, opts);

  const variant = matmulVariant(gpu);
  const label = `matmul.${variant}${f16 ? '.f16' : ''}`;
  if (variant === 'tiled') {
    gpu.dispatch({
      code: readWriteIf(WORKGROUP_KERNELS.tiled[f16 ? 'f16' : 'f32'], aliasSafe), entryPoint: 'main', label,
      bindings, params, constants: { W_STORAGE },
      workgroups: [ceilDiv(N, 64), ceilDiv(M, 64)],
    });
    return;
  }
  if (variant === 'subgroup') {
    gpu.dispatch({
      code: readWriteIf(WORKGROUP_KERNELS.subgroup[f16 ? 'f16' : 'f32'], aliasSafe), entryPoint: 'main', label,
      bindings, params, constants: { W_STORAGE, WG: SUBGROUP_WG },
      workgroups: [ceilDiv(N, 4 * SUBGROUP_WG), ceilDiv(M, 4)],
    });
    return;
  }
  const spec = blockedSpec(M, N, K, transA, transB, blocks.get(gpu), bStorage !== 'f32', f16);
  const [wgX, wgY] = blockedWorkgroup(spec);
  gpu.dispatch({
    code: readWriteIf(blockedWgsl(spec), aliasSafe), entryPoint: 'main', label,
    bindings, params, constants: spec.packedB ? { WG_X: wgX, WG_Y: wgY, W_STORAGE } : { WG_X: wgX, WG_Y: wgY },
    workgroups: [ceilDiv(ceilDiv(N, spec.cols), wgX), ceilDiv(ceilDiv(M, spec.rows), wgY)],
  });
}

function need(t: Tensor, n: number, what: string, out: Tensor): void {
  if (t.size < n) throw new Error(`matmul(${out.label}): ${what} (${t.label}) has ${t.size} elements, needs ${n}`);
}

// The workgroup kernels as modules: [enable subgroups] + operand prelude + what they share + kernel + b's loads.
const module = (kernel: string, prelude: string, subgroups: boolean) =>
  `${subgroups ? 'enable subgroups;\n' : ''}${prelude}\n${commonWgsl}\n${kernel}\n${weightLoadWgsl}`;
const WORKGROUP_KERNELS = {
  tiled: { f32: module(tiledWgsl, f32Wgsl, false), f16: module(tiledWgsl, f16Wgsl, false) },
  subgroup: { f32: module(subgroupWgsl, f32Wgsl, true), f16: module(subgroupWgsl, f16Wgsl, true) },
};
/** Threads per workgroup of the subgroup kernel: a multiple of every subgroup size up to 64. */
const SUBGROUP_WG = 64;

function readWriteIf(code: string, aliasSafe: boolean): string {
  return aliasSafe ? code.replaceAll('var<storage, read>', 'var<storage, read_write>') : code;
}

// ---- the register-blocked kernel, generated per layout ------------------------------------------------

/** What changes the shape of the blocked kernel's code: layouts, which operands load as vec4, block size. */
interface BlockedSpec {
  transA: boolean;
  transB: boolean;
  /** a as vec4: 4 contiguous, 16-byte-aligned words along k (a [M,K], K % 4 = 0) or along m (a [K,M], M % 4 = 0). */
  vecA: boolean;
  /** b as vec4: along n (b [K,N], N % 4 = 0) or along k (b [N,K], K % 4 = 0). */
  vecB: boolean;
  /** out as vec4 (N % 4 = 0). */
  vecOut: boolean;
  /** Output rows per thread: 1 (M < 4: decoding), 4 or 8. */
  rows: number;
  /** Output columns per thread: 4 or 8. */
  cols: number;
  /** b is a packed frozen weight (`wq: array<u32>`, read through weight_load.wgsl: weightQuad where vecB, else weightAt). */
  packedB: boolean;
  /** f16 operands (matmul_f16.wgsl): b an f16 weight, op(a)'s rows scaled and rounded to f16, f16 products, f32 sums. */
  f16: boolean;
}

/**
 * The block per thread: 4×4 (1×4 when M < 4, decoding). On SwiftShader every word a thread loads costs
 * about three 4-lane multiply-adds (a 4-lane gather with bounds checks; a vec4 is four of them), so speed
 * follows multiply-adds per loaded word, R·C / (R + C). Measured there (512³, under load): 8×4 and 8×8
 * blocks ran 1.1–1.4× faster than 4×4 but took 1.5× and 3× as long to compile (0.7 s of CPU for a 4×4
 * pipeline, 2.1–2.6 s for 8×8), and a training step compiles a dozen layouts. blockedWgsl takes any
 * rows ∈ {1, 4, 8} and cols ∈ {4, 8}; `block` overrides the choice (tests, experiments).
 */
export function blockedSpec(
  M: number, N: number, K: number, transA: boolean, transB: boolean, block?: { rows: 4 | 8; cols: 4 | 8 }, packedB = false,
  f16 = false,
): BlockedSpec {
  const rows = M < 4 ? 1 : (block?.rows ?? 4);
  const cols = block?.cols ?? 4;
  return {
    transA, transB, rows, cols, packedB: packedB || f16, f16,
    vecA: transA ? rows >= 4 && M % 4 === 0 : K % 4 === 0,
    vecB: transB ? K % 4 === 0 : N % 4 === 0,
    vecOut: N % 4 === 0,
  };
}

/** Threads per workgroup (x over column blocks, y over row blocks): 64; one row of threads when decoding. */
function blockedWorkgroup(s: BlockedSpec): [number, number] {
  return s.rows === 1 ? [64, 1] : [8, 8];
}

const blockedCache = new Map<string, string>();
const XYZW = ['x', 'y', 'z', 'w'];

/**
 * WGSL for one blocked layout. Thread (gid.x, gid.y) owns out rows m0 .. m0+R-1 (m0 = R·gid.y) and columns
 * n0 .. n0+C-1 (n0 = C·gid.x), held as R × C/4 vec4 accumulators acc{i}_{g} (columns n0+4g .. n0+4g+3).
 * K runs in steps of 4, loading a vec4 of an operand wherever its layout makes 4 words contiguous, then a
 * scalar tail. Rows and columns past the edge are clamped when loading and skipped when storing.
 */
function blockedWgsl(s: BlockedSpec): string {
  const key = JSON.stringify(s);
  const hit = blockedCache.get(key);
  if (hit) return hit;
  const I = [...Array(s.rows).keys()];          // rows of the block
  const G = [...Array(s.cols / 4).keys()];      // column groups of 4
  const Cn = [...Array(s.cols).keys()];         // columns of the block
  const KK = [0, 1, 2, 3];                      // k within a step
  const vec = (v: boolean) => (v ? 'vec4<f32>' : 'f32');
  const T = s.f16 ? 'f16' : 'f32';   // operand type
  const u = (i: number) => `${i}u`;
  // f16: an f32 value (or vec4) of op(a) in f16, scaled by its row's power of two (shifts sh{i}, matmul_f16.wgsl).
  const toOp = (x: string, shift: string, vector: boolean) => (s.f16 ? `${vector ? 'vec4<f16>' : 'f16'}(ldexp(${x}, ${shift}))` : x);
  const lines = (xs: string[], indent: string) => xs.map((l) => indent + l).join('\n');

  // op(a) for one k-step. 'col' form (a stored [K,M] as vec4): ac{kk}_{h} = rows 4h..4h+3 at k+kk.
  // 'row' form: a{i} = vec4 over kk for row i (one vec4 when a is [M,K] as vec4, else 4 words).
  const aCol = s.transA && s.vecA;
  const H = [...Array(Math.max(1, s.rows / 4)).keys()];
  const loadA = aCol
    ? KK.flatMap((kk) => H.map((h) => `let ac${kk}_${h} = ${toOp(`a[((k + ${u(kk)}) * M + m0 + ${u(4 * h)}) >> 2u]`,
      `vec4<i32>(${KK.map((j) => `sh${4 * h + j}`).join(', ')})`, true)};`))
    : I.map((i) => `let a${i} = ${toOp(s.vecA
      ? `a[(r${i} * K + k) >> 2u]`
      : `vec4<f32>(${KK.map((kk) => `opA(r${i}, k + ${u(kk)})`).join(', ')})`, `vec4<i32>(sh${i})`, true)};`);
  const aik = (i: number, kk: number) => (aCol ? `ac${kk}_${i >> 2}.${XYZW[i & 3]}` : `a${i}.${XYZW[kk]}`);
  const aRow = (i: number) => (aCol ? `vec4<${T}>(${KK.map((kk) => aik(i, kk)).join(', ')})` : `a${i}`);

  // op(b) for one k-step. 'col' form (b stored [N,K] as vec4): bc{n} = vec4 over kk for column n.
  // 'row' form: b{kk}_{g} = vec4 over the 4 columns of group g at k+kk.
  const bCol = s.transB && s.vecB;
  // 4 contiguous values of b from element index i (a multiple of 4): a vec4 word, or 4 widened from a packed weight.
  const quadB = (i: string) => (s.f16 ? `weightQuadOp(${i})` : s.packedB ? `weightQuad(${i}, p.bScales)` : `b[(${i}) >> 2u]`);
  const loadB = bCol
    ? Cn.map((n) => `let bc${n} = ${quadB(`c${n} * K + k`)};`)
    : KK.flatMap((kk) => G.map((g) => !s.transB && s.vecB
      ? `let b${kk}_${g} = ${quadB(`(k + ${u(kk)}) * N + n0 + ${u(4 * g)}`)};`
      : `let b${kk}_${g} = vec4<${T}>(${KK.map((j) => `opB(k + ${u(kk)}, c${4 * g + j})`).join(', ')});`));
  // f16: each product an f16 multiply, widened before any sum (dot() would sum in f16).
  const product = (x: string) => (s.f16 ? `vec4<f32>(${x})` : x);
  const dotB = (n: number) => (s.f16 ? `sumF32(ar * bc${n})` : `dot(ar, bc${n})`);
  const fma = I.flatMap((i) => bCol
    ? [`{ let ar = ${aRow(i)};`, ...G.map((g) => `  acc${i}_${g} += vec4<f32>(${KK.map((j) => dotB(4 * g + j)).join(', ')});`), '}']
    : G.map((g) => `acc${i}_${g} += ${KK.map((kk) => product(`${aik(i, kk)} * b${kk}_${g}`)).join(' + ')};`));
  const tailB = (g: number) => !s.transB && s.vecB
    ? quadB(`k * N + n0 + ${u(4 * g)}`)
    : `vec4<${T}>(${KK.map((j) => `opB(k, c${4 * g + j})`).join(', ')})`;
  const group = (g: number) => `vec4<f32>(${KK.map((j) => `%${4 * g + j}`).join(', ')})`;

  const code = `// Matmul, register-blocked (generated by src/ops/matmul.ts for ${key}).
// out[M,N] (=|+=) alpha · op(a)·op(b) + extraAlpha · ea[M,rk]·op(eb) + bias[N]; see matmul.ts for the contract.

struct Params {
  M: u32, N: u32, K: u32,
  flags: u32,      // 1: bias, 2: accumulate into out, 4: extra transB (8, 16: transA, transB, baked in here)
  rk: u32,         // inner size of the extra product (0: none)
  bScales: u32,    // a q8/q4 b: the word where its scales start (weight_load.wgsl)
  alpha: f32,
  extraAlpha: f32,
}

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
const ROWS: u32 = ${u(s.rows)};
const COLS: u32 = ${u(s.cols)};

@group(0) @binding(0) var<storage, read_write> out: array<${vec(s.vecOut)}>;
@group(0) @binding(1) var<storage, read> a: array<${vec(s.vecA)}>;
@group(0) @binding(2) var<storage, read> ${s.packedB ? 'wq: array<u32>' : `b: array<${vec(s.vecB)}>`};
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> ea: array<f32>;
@group(0) @binding(5) var<storage, read> eb: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

// One word of op(a)[row, k] and op(b)[k, col] (scalar layouts, the K tail).
fn opA(row: u32, k: u32) -> f32 {
  let i = ${s.transA ? 'k * p.M + row' : 'row * p.K + k'};
  return ${s.vecA ? 'a[i >> 2u][i & 3u]' : 'a[i]'};
}
fn opB(k: u32, col: u32) -> ${T} {
  let i = ${s.transB ? 'col * p.K + k' : 'k * p.N + col'};
  return ${s.f16 ? 'weightOp(i)' : s.packedB ? 'weightAt(i, p.bScales)' : s.vecB ? 'b[i >> 2u][i & 3u]' : 'b[i]'};
}
${s.f16 ? `
// The bits of max_k |op(a)[row, k]| (row scaling, matmul_f16.wgsl); the sum of an f16 vector's terms in f32.
fn rowAbsMaxBits(row: u32) -> u32 {
  var bits = 0u;
  for (var k = 0u; k < p.K; k++) { bits = max(bits, bitcast<u32>(abs(opA(row, k)))); }
  return bits;
}
fn sumF32(v: vec4<f16>) -> f32 { let w = vec4<f32>(v); return (w.x + w.y) + (w.z + w.w); }
` : ''}

// out[row, n .. n+3] (=|+=) r, dropping columns past N.
fn storeGroup(row: u32, n: u32, r: vec4<f32>, accumulate: bool) {
  var v = r;
${s.vecOut
    ? `  let o = (row * p.N + n) >> 2u;
  if (accumulate) { v += out[o]; }
  out[o] = v;`
    : `  let o = row * p.N + n;
  for (var j = 0u; j < 4u; j++) {
    if (n + j >= p.N) { break; }
    var x = v[j];
    if (accumulate) { x += out[o + j]; }
    out[o + j] = x;
  }`}
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = p.M; let N = p.N; let K = p.K;
  let n0 = gid.x * COLS;
  let m0 = gid.y * ROWS;
  if (n0 >= N || m0 >= M) { return; }
  // Clamped rows and columns: edge threads load valid words and drop the surplus results when storing.
${lines(I.map((i) => `let r${i} = min(m0 + ${u(i)}, M - 1u);`), '  ')}
${lines(Cn.map((n) => `let c${n} = min(n0 + ${u(n)}, N - 1u);`), '  ')}
${lines(I.flatMap((i) => G.map((g) => `var acc${i}_${g} = vec4<f32>();`)), '  ')}
${s.f16 ? lines(I.map((i) => `let sh${i} = rowShift(rowAbsMaxBits(r${i}));`), '  ') : ''}
  var k = 0u;
  for (; k + 4u <= K; k += 4u) {
${lines([...loadA, ...loadB, ...fma], '    ')}
  }
  for (; k < K; k++) {
${lines(G.map((g) => `let bk${g} = ${tailB(g)};`), '    ')}
${lines(I.map((i) => `{ let x = ${toOp(`opA(r${i}, k)`, `sh${i}`, false)};${G.map((g) => ` acc${i}_${g} += ${product(`x * bk${g}`)};`).join('')} }`), '    ')}
  }

  // Epilogue: the extra (LoRA) product, bias, alpha, accumulate.
${lines(I.flatMap((i) => G.map((g) => `var e${i}_${g} = vec4<f32>();`)), '  ')}
  let rk = p.rk;
  let ebT = (p.flags & 4u) != 0u;
  for (var kk = 0u; kk < rk; kk++) {
${lines(G.flatMap((g) => [
    `var w${g}: vec4<f32>;`,
    `if (ebT) { w${g} = ${group(g).replace(/%(\d+)/g, 'eb[c$1 * rk + kk]')}; }`,
    `else { w${g} = ${group(g).replace(/%(\d+)/g, 'eb[kk * N + c$1]')}; }`,
  ]), '    ')}
${lines(I.map((i) => `{ let x = ea[r${i} * rk + kk];${G.map((g) => ` e${i}_${g} += x * w${g};`).join('')} }`), '    ')}
  }
  let hasBias = (p.flags & 1u) != 0u;
${lines(G.map((g) => `let bias${g} = select(vec4<f32>(), ${group(g).replace(/%(\d+)/g, 'bias[c$1]')}, hasBias);`), '  ')}
  let accumulate = (p.flags & 2u) != 0u;
${lines(I.flatMap((i) => G.map((g) => {
    const guard = [i > 0 ? `m0 + ${u(i)} < M` : '', g > 0 ? `n0 + ${u(4 * g)} < N` : ''].filter(Boolean).join(' && ');
    const acc = s.f16 ? `ldexp(acc${i}_${g}, vec4<i32>(-sh${i}))` : `acc${i}_${g}`;
    const st = `storeGroup(m0 + ${u(i)}, n0 + ${u(4 * g)}, p.alpha * ${acc} + p.extraAlpha * e${i}_${g} + bias${g}, accumulate);`;
    return guard ? `if (${guard}) { ${st} }` : st;
  })), '  ')}
}
`;
  const full = s.f16 ? `${f16Wgsl}\n${code}\n${weightLoadWgsl}` : s.packedB ? `${code}\n${weightLoadWgsl}` : code;
  blockedCache.set(key, full);
  return full;
}

// ---- CPU reference (float64) --------------------------------------------------------------------------

export interface MatmulCpuOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: ArrayLike<number>;
  alpha?: number;
  /** out[M,N] before the call; required with accumulate. */
  out?: ArrayLike<number>;
  accumulate?: boolean;
  extra?: { a: ArrayLike<number>; b: ArrayLike<number>; k: number; transB: boolean; alpha: number };
}

/** The same semantics as `matmul`, in float64: returns out[M,N]. */
export function matmulCpu(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number, opts: MatmulCpuOptions = {}): Float64Array {
  const { transA = false, transB = false, bias, alpha = 1, accumulate = false, extra } = opts;
  if (accumulate && !opts.out) throw new Error('matmulCpu: accumulate needs opts.out');
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[transA ? k * M + m : m * K + k] * b[transB ? n * K + k : k * N + n];
      let v = alpha * s;
      if (extra) {
        let e = 0;
        for (let k = 0; k < extra.k; k++) e += extra.a[m * extra.k + k] * extra.b[extra.transB ? n * extra.k + k : k * N + n];
        v += extra.alpha * e;
      }
      if (bias) v += bias[n];
      if (accumulate) v += opts.out![m * N + n];
      out[m * N + n] = v;
    }
  }
  return out;
}
