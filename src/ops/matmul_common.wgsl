// What the workgroup kernels of matmul.ts share (matmul_tiled.wgsl, matmul_subgroup.wgsl): the contract's
// bindings and flags, op(a) and op(b) by index, and each output element's end (extra product, bias, alpha,
// accumulate). matmul.ts builds a module as [enable subgroups] + operand prelude (matmul_f32.wgsl or
// matmul_f16.wgsl) + this file + the kernel + weight_load.wgsl.
//   out[M,N] (=|+=) alpha · op(a) · op(b) + extraAlpha · ea[M,rk] · op(eb) + bias[N]
//   op(a) = a [M,K], or a stored [K,M] when flags & TRANS_A; op(b) = b [K,N], or b stored [N,K] when flags & TRANS_B.
//   op(eb) = eb [rk,N], or eb stored [N,rk] when flags & EXTRA_TRANS_B. rk = 0: no extra product.
// The layouts are uniform flags, not override constants: SwiftShader takes seconds to compile each pipeline
// with barriers, and the branches are uniform.
// b is read through weight_load.wgsl as `wq`, so a frozen weight may be f32, 16-bit or quantised (the W_STORAGE
// override); an f32 b is a bitcast; on the f16 path weightOp reads it as f16.
// Bindings: out, a, b, bias, ea, eb (absent ones bound to a dummy; flags say what is present), params.

struct Params {
  M: u32, N: u32, K: u32,
  flags: u32,      // 1: bias, 2: accumulate into out, 4: extra transB, 8: transA, 16: transB
  rk: u32,         // inner size of the extra product (0: none)
  bScales: u32,    // a q8/q4 b: the word where its scales start (weight_load.wgsl)
  alpha: f32,
  extraAlpha: f32,
}

const HAS_BIAS: u32 = 1u;
const ACCUMULATE: u32 = 2u;
const EXTRA_TRANS_B: u32 = 4u;
const TRANS_A: u32 = 8u;
const TRANS_B: u32 = 16u;

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> wq: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> ea: array<f32>;
@group(0) @binding(5) var<storage, read> eb: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

fn opA(m: u32, k: u32, transA: bool) -> f32 {
  if (transA) { return a[k * p.M + m]; }
  return a[m * p.K + k];
}

// The f32 bits of max |op(a)[m, k]| over k = first, first + step, ... < K (the f16 path's row scaling): for
// non-negative floats the larger bits are the larger value, so partial maxima combine with atomicMax in any order.
fn absMaxBits(m: u32, first: u32, step: u32, transA: bool) -> u32 {
  var bits = 0u;
  for (var k = first; k < p.K; k += step) { bits = max(bits, bitcast<u32>(abs(opA(m, k, transA)))); }
  return bits;
}

fn opB(k: u32, n: u32, transB: bool) -> op_t {
  if (transB) { return weightOp(n * p.K + k); }
  return weightOp(k * p.N + n);
}

// out[m, n] (=|+=) alpha · acc + extraAlpha · ea[m, :] · op(eb)[:, n] + bias[n]; acc is op(a)[m, :] · op(b)[:, n].
fn finish(m: u32, n: u32, acc: f32) {
  let N = p.N;
  var v = p.alpha * acc;
  if (p.rk > 0u) {
    var e = 0.0;
    let ebT = (p.flags & EXTRA_TRANS_B) != 0u;
    for (var kk = 0u; kk < p.rk; kk++) {
      var w: f32;
      if (ebT) { w = eb[n * p.rk + kk]; } else { w = eb[kk * N + n]; }
      e += ea[m * p.rk + kk] * w;
    }
    v += p.extraAlpha * e;
  }
  if ((p.flags & HAS_BIAS) != 0u) { v += bias[n]; }
  let o = m * N + n;
  if ((p.flags & ACCUMULATE) != 0u) { v += out[o]; }
  out[o] = v;
}
