// RMSNorm weight gradient, first stage: dst[k, c] (+)= sum over rows n of chunk k of dout[n, c] (x[n, c] rstd[n]).
// Rows are summed in increasing order within a chunk of R; norm.ts then sums the chunks in order into dweight
// (elementwise_sum_rows.wgsl), or writes dweight directly when there is one chunk: deterministic.
// Grid: x covers channels, y covers chunks.
// Bindings: dout [N, C], inp [N, C], rstd [N], dst [chunks, C] (read_write), params { N, C, R, accumulate }.

struct Params { N: u32, C: u32, R: u32, accumulate: u32 }

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read_write> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn dweight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = gid.x;
  let k = wid.y;
  if (c >= p.C) { return; }
  let n1 = min((k + 1u) * p.R, p.N);
  var s = 0.0;
  for (var n = k * p.R; n < n1; n++) {
    s += dout[n * p.C + c] * (inp[n * p.C + c] * rstd[n]);
  }
  let o = k * p.C + c;
  if (p.accumulate != 0u) { s = dst[o] + s; }
  dst[o] = s;
}
