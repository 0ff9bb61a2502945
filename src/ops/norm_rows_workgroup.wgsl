// How the row kernels (norm_forward.wgsl, norm_backward.wgsl) split a row on GPUs: one workgroup per row (grid
// folded to 2-D for N > 65535), its threads striding over C from their local index and meeting in a tree
// reduction in workgroup memory. WG is a power of two <= 256. norm.ts prepends this file, or
// norm_rows_thread.wgsl, to each kernel; the two define the same names.

override WG: u32 = 256;
override STRIDE: u32 = WG;

var<workgroup> red: array<f32, 256>;
var<workgroup> red2: array<vec2<f32>, 256>;

fn row_index(wid: vec3<u32>, gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

fn first_column(lid: u32) -> u32 { return lid; }

// The workgroup's sum of v, added in a fixed order (the tree); red may be reused right after (the closing barrier).
// row_sum2 is the same tree over pairs. Not one tree over pairs for both: summing a scalar as a pair measured
// 30-50% slower on SwiftShader (N = 64, C = 576), and WGSL has no generic functions.
fn row_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

fn row_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red2[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red2[lid] += red2[lid + s]; }
    workgroupBarrier();
  }
  let total = red2[0];
  workgroupBarrier();
  return total;
}
