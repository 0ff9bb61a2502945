// Matmul, workgroup-memory tiled: the variant for real GPUs.
//   out[M,N] (=|+=) alpha · op(a) · op(b) + extraAlpha · ea[M,rk] · op(eb) + bias[N]
//   op(a) = a [M,K], or a stored [K,M] when flags & TRANS_A; op(b) = b [K,N], or b stored [N,K] when flags & TRANS_B.
//   op(eb) = eb [rk,N], or eb stored [N,rk] when flags & EXTRA_TRANS_B. rk = 0: no extra product.
// A workgroup of 16×16 threads computes a 64×64 output tile; each thread a 4×4 block strided by 16
// (rows ty + 16i, cols tx + 16j), so neighbouring threads read neighbouring workgroup-memory words and
// write neighbouring output words. K is walked in slices of 16 staged through workgroup memory.
// Any M, N, K ≥ 1: edge tiles load zeros and skip their stores.
// The layouts are uniform flags, not override constants: SwiftShader takes seconds to compile each pipeline
// with barriers, and the branch is uniform and outside the inner loop.
// b is read through weight_load.wgsl (appended by matmul.ts) as `wq`, so a frozen weight may be f32, 16-bit or
// quantised (the W_STORAGE override); an f32 b is a bitcast.
// Operand type: matmul.ts prepends matmul_f32.wgsl or matmul_f16.wgsl, which define `op_t`, F16, weightOp and
// the row scaling (rowShift). With f16 (an f16 b on a shader-f16 device) the tiles hold f16, each product is an
// f16 multiply and the sums stay f32; op(a)'s rows are scaled by a power of two first (see matmul_f16.wgsl).
// Bindings: out, a, b, bias, ea, eb (absent ones bound to a dummy; flags say what is present), params.

struct Params {
  M: u32, N: u32, K: u32,
  flags: u32,      // 1: bias, 2: accumulate into out, 4: extra transB, 8: transA, 16: transB
  rk: u32,         // inner size of the extra product (0: none)
  bScales: u32,    // a q8/q4 b: the word where its scales start (weight_load.wgsl)
  alpha: f32,
  extraAlpha: f32,
}

const TILE: u32 = 64u;   // output tile edge
const BK: u32 = 16u;     // K slice per stage
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

var<workgroup> As: array<op_t, 1024>;   // [BK][TILE]: As[kk * TILE + mm] = op(a)[m0 + mm, k0 + kk] (scaled, f16)
var<workgroup> Bs: array<op_t, 1024>;   // [BK][TILE]: Bs[kk * TILE + nn] = op(b)[k0 + kk, n0 + nn]
var<workgroup> rowAbsMax: array<atomic<u32>, 64>;   // f16 only: the bits of max_k |op(a)[m0 + mm, k]|

fn opA(m: u32, k: u32, transA: bool) -> f32 {
  if (transA) { return a[k * p.M + m]; }
  return a[m * p.K + k];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let M = p.M; let N = p.N; let K = p.K;
  let tx = lid.x; let ty = lid.y;
  let t = ty * 16u + tx;
  let transA = (p.flags & TRANS_A) != 0u;
  let transB = (p.flags & TRANS_B) != 0u;
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  if (F16) {
    // Four threads per tile row; max of non-negative floats = max of their bits, so the atomics' order is moot.
    let mm = t >> 2u;
    let m = m0 + mm;
    var bits = 0u;
    if (m < M) {
      for (var k = t & 3u; k < K; k += 4u) { bits = max(bits, bitcast<u32>(abs(opA(m, k, transA)))); }
    }
    atomicMax(&rowAbsMax[mm], bits);
    workgroupBarrier();
  }

  for (var k0 = 0u; k0 < K; k0 += BK) {
    // Stage a 64×16 slice of op(a) and a 16×64 slice of op(b); 4 words each per thread. The word order
    // follows the storage layout (the contiguous index fastest) so global reads coalesce.
    for (var r = 0u; r < 4u; r++) {
      let e = t + r * 256u;
      var mm: u32; var kk: u32;
      if (transA) { mm = e % TILE; kk = e / TILE; } else { kk = e % BK; mm = e / BK; }
      let m = m0 + mm; let ka = k0 + kk;
      var va = 0.0;
      if (m < M && ka < K) { va = opA(m, ka, transA); }
      if (F16) { va = ldexp(va, rowShift(atomicLoad(&rowAbsMax[mm]))); }
      As[kk * TILE + mm] = op_t(va);

      var nn: u32; var kb: u32;
      if (transB) { kb = e % BK; nn = e / BK; } else { nn = e % TILE; kb = e / TILE; }
      let n = n0 + nn; let kg = k0 + kb;
      var vb = op_t(0.0);
      if (n < N && kg < K) {
        if (transB) { vb = weightOp(n * K + kg); } else { vb = weightOp(kg * N + n); }
      }
      Bs[kb * TILE + nn] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let row = kk * TILE;
      let av = vec4<op_t>(As[row + ty], As[row + ty + 16u], As[row + ty + 32u], As[row + ty + 48u]);
      let bv = vec4<op_t>(Bs[row + tx], Bs[row + tx + 16u], Bs[row + tx + 32u], Bs[row + tx + 48u]);
      acc0 += vec4<f32>(av.x * bv); acc1 += vec4<f32>(av.y * bv); acc2 += vec4<f32>(av.z * bv); acc3 += vec4<f32>(av.w * bv);
    }
    workgroupBarrier();
  }

  var acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty + 16u * i;
    if (m >= M) { break; }
    var rowAcc = acc[i];
    if (F16) { rowAcc = ldexp(rowAcc, vec4<i32>(-rowShift(atomicLoad(&rowAbsMax[ty + 16u * i])))); }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx + 16u * j;
      if (n >= N) { break; }
      var v = p.alpha * rowAcc[j];
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
  }
}
