// Matmul with op(a) shared through subgroup shuffles: the variant for devices with `subgroups` (contract, bindings
// and the output's end: matmul_common.wgsl; matmul.ts prepends `enable subgroups;`).
// A workgroup of WG threads computes 4 rows × 4·WG columns: every thread the same 4 rows m0 .. m0+3 and its own 4
// columns, so every invocation of any subgroup needs the same op(a) values, whatever the subgroup layout. K runs in
// chunks of the subgroup size S: lane l loads op(a)[m0 .. m0+3, k0 + l] once, and each k of the chunk takes them
// from lane k - k0 by subgroupShuffle, so a thread loads 4 words of op(a) per S values of k instead of 4 per k.
// No subgroup size is assumed (4..128): the chunk is the subgroup_size builtin, and a lane the ballot shows
// inactive (a partial subgroup) is stood in for by a load from memory.
// Rows past M are clamped when loading and skipped when storing; columns past N likewise.
// Operand type: op_t from matmul_f32.wgsl or matmul_f16.wgsl; the shuffles move the f32 (scaled) values.

override WG: u32 = 64;

var<workgroup> rowAbsMax: array<atomic<u32>, 4>;   // f16 only: absMaxBits of the 4 rows

// op(a)[rows, k] for the 4 (clamped) rows.
fn aColumn(rows: vec4<u32>, k: u32, transA: bool) -> vec4<f32> {
  return vec4<f32>(opA(rows.x, k, transA), opA(rows.y, k, transA), opA(rows.z, k, transA), opA(rows.w, k, transA));
}

fn laneActive(ballot: vec4<u32>, lane: u32) -> bool {
  return ((ballot[lane >> 5u] >> (lane & 31u)) & 1u) != 0u;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) S: u32) {
  let M = p.M; let N = p.N; let K = p.K;
  let transA = (p.flags & TRANS_A) != 0u;
  let transB = (p.flags & TRANS_B) != 0u;
  let m0 = wid.y * 4u;
  let n0 = (wid.x * WG + lid) * 4u;
  let rows = min(vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(M - 1u));
  let cols = min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(N - 1u));
  var shift = vec4<i32>(0);
  if (F16) {
    for (var i = 0u; i < 4u; i++) { atomicMax(&rowAbsMax[i], absMaxBits(rows[i], lid, WG, transA)); }
    workgroupBarrier();
    shift = vec4<i32>(rowShift(atomicLoad(&rowAbsMax[0])), rowShift(atomicLoad(&rowAbsMax[1])),
                      rowShift(atomicLoad(&rowAbsMax[2])), rowShift(atomicLoad(&rowAbsMax[3])));
  }
  let ballot = subgroupBallot(true);
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  for (var k0 = 0u; k0 < K; k0 += S) {
    var mine = vec4<f32>();
    if (k0 + lane < K) { mine = ldexp(aColumn(rows, k0 + lane, transA), shift); }
    for (var j = 0u; j < S; j++) {
      let k = k0 + j;
      if (k >= K) { break; }
      var a4 = subgroupShuffle(mine, j);
      if (!laneActive(ballot, j)) { a4 = ldexp(aColumn(rows, k, transA), shift); }
      let av = vec4<op_t>(a4);
      let bv = vec4<op_t>(opB(k, cols.x, transB), opB(k, cols.y, transB), opB(k, cols.z, transB), opB(k, cols.w, transB));
      acc0 += vec4<f32>(av.x * bv); acc1 += vec4<f32>(av.y * bv); acc2 += vec4<f32>(av.z * bv); acc3 += vec4<f32>(av.w * bv);
    }
  }

  var acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= M) { break; }
    let rowAcc = ldexp(acc[i], vec4<i32>(-shift[i]));
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= N) { break; }
      finish(m, n, rowAcc[j]);
    }
  }
}
