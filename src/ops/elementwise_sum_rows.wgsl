// Column sums of a row-major [M, N] matrix, deterministically: the bias gradient db[j] = sum_m dout[m, j].
// One stage of a two-stage reduction. Rows are cut into chunks of R; thread (chunk k, column j) sums rows
// [k R, min((k+1) R, M)) in increasing order and writes dst[k, j] (+= dst[k, j] when accumulate).
// The TypeScript side runs this once into a [chunks, N] scratch, then once more over the scratch with a
// single chunk into the output, so every sum has a fixed order that depends only on (M, N).
// Grid: x covers columns (WG per workgroup), y covers chunks.
// Bindings: inp [M, N], dst [ceil(M/R), N], params { M, N, R, accumulate }.

struct Params { M: u32, N: u32, R: u32, accumulate: u32 }

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read_write> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn sum_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = gid.x;
  let k = wid.y;
  if (j >= p.N) { return; }
  let m0 = k * p.R;
  let m1 = min(m0 + p.R, p.M);
  var s = 0.0;
  for (var m = m0; m < m1; m++) {
    s += inp[m * p.N + j];
  }
  let o = k * p.N + j;
  if (p.accumulate != 0u) { s = dst[o] + s; }
  dst[o] = s;
}
