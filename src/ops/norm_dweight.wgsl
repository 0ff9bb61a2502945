// LayerNorm and RMSNorm weight gradient, first stage: dst[k, c] (+)= sum over rows n of chunk k of
// dout[n, c] xhat[n, c], xhat = (x[n, c] - mean[n]) rstd[n] (entry point layernorm; rmsnorm: mean = 0,
// its binding a placeholder never read). Chunks of R rows in increasing order; norm.ts sums the chunks in order
// (elementwise_sum_rows.wgsl) or writes dweight directly when there is one chunk: deterministic.
// Grid: x covers channels, y covers chunks.
// Bindings: dout, inp [N, C], mean, rstd [N], dst [chunks, C] (read_write), params { N, C, R, accumulate }.

struct Params { N: u32, C: u32, R: u32, accumulate: u32 }

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read_write> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn chunk_sum(gid: vec3<u32>, wid: vec3<u32>, centered: bool) {
  let c = gid.x;
  let k = wid.y;
  if (c >= p.C) { return; }
  let n1 = min((k + 1u) * p.R, p.N);
  var s = 0.0;
  for (var n = k * p.R; n < n1; n++) {
    var m = 0.0;
    if (centered) { m = mean[n]; }
    s += dout[n * p.C + c] * ((inp[n * p.C + c] - m) * rstd[n]);
  }
  let o = k * p.C + c;
  if (p.accumulate != 0u) { s = dst[o] + s; }
  dst[o] = s;
}

@compute @workgroup_size(WG)
fn layernorm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) { chunk_sum(gid, wid, true); }

@compute @workgroup_size(WG)
fn rmsnorm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) { chunk_sum(gid, wid, false); }
