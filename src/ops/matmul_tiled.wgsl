// Matmul, workgroup-memory tiled: the variant for real GPUs (contract, bindings and the output's end:
// matmul_common.wgsl).
// A workgroup of 16×16 threads computes a 64×64 output tile; each thread a 4×4 block strided by 16
// (rows ty + 16i, cols tx + 16j), so neighbouring threads read neighbouring workgroup-memory words and
// write neighbouring output words. K is walked in slices of 16 staged through workgroup memory.
// Any M, N, K ≥ 1: edge tiles load zeros and skip their stores.
// Operand type: op_t from the prepended matmul_f32.wgsl or matmul_f16.wgsl. With f16 (an f16 b on a shader-f16
// device) the tiles hold f16, each product is an f16 multiply and the sums stay f32; op(a)'s rows are scaled by a
// power of two first (see matmul_f16.wgsl).

const TILE: u32 = 64u;   // output tile edge
const BK: u32 = 16u;     // K slice per stage

var<workgroup> As: array<op_t, 1024>;   // [BK][TILE]: As[kk * TILE + mm] = op(a)[m0 + mm, k0 + kk] (scaled, f16)
var<workgroup> Bs: array<op_t, 1024>;   // [BK][TILE]: Bs[kk * TILE + nn] = op(b)[k0 + kk, n0 + nn]
var<workgroup> rowAbsMax: array<atomic<u32>, 64>;   // f16 only: absMaxBits of the tile's rows

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
    let mm = t >> 2u;   // four threads per tile row
    if (m0 + mm < M) { atomicMax(&rowAbsMax[mm], absMaxBits(m0 + mm, t & 3u, 4u, transA)); }
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
      if (n < N && kg < K) { vb = opB(kg, n, transB); }
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
      finish(m, n, rowAcc[j]);
    }
  }
}
