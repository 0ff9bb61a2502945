// LayerNorm and RMSNorm backward to the input, from what forward saved (rstd, and mean for LayerNorm):
//   xhat = (x - mean) rstd,  g = w dy   (w = OFFSET + weight, as in norm_forward.wgsl)
//   LayerNorm (entry point layernorm): dx[c] = rstd (g[c] - mean_j g[j] - xhat[c] mean_j(g[j] xhat[j]))
//   RMSNorm (entry point rmsnorm): the same with mean = 0 and without the mean_j g[j] term (nothing was
//     subtracted), i.e. dx[c] = rstd (w[c] dy[c] - x[c] rstd^2 mean_j(w[j] dy[j] x[j]))
// dx overwrites dinp, or adds to it when accumulate != 0 (the residual stream's gradient). Both row means come
// from one paired reduction; how a row is split among threads comes from the prepended norm_rows_*.wgsl (see
// norm_forward.wgsl). dweight is norm_dweight.wgsl, dbias sumRows.
// Bindings: dout, inp [N, C], weight [C], mean, rstd [N], dinp [N, C] (read_write; for RMSNorm mean is a
// placeholder, never read), params { N, C, accumulate }.

struct Params { N: u32, C: u32, accumulate: u32 }

override OFFSET: f32 = 0.0;

@group(0) @binding(0) var<storage, read_write> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

// As in norm_forward.wgsl, each entry point does its reduction at its top level and the helpers a thread's share
// of a pass. LayerNorm needs both sums below (one paired reduction); RMSNorm only the second (a scalar reduction,
// see row_sum).

// What forward saved as the row's mean: RMSNorm saved none (its mean binding is a placeholder, never read, but
// both entry points must use it for the bind group to match).
fn saved_mean(row: u32, centered: bool) -> f32 {
  if (centered) { return mean[row]; }
  return 0.0;
}

// This thread's share of (sum_c g[c], sum_c g[c] xhat[c]).
fn partial_sums(base: u32, c0: u32, m: f32, r: f32) -> vec2<f32> {
  var acc = vec2<f32>(0.0);
  for (var c = c0; c < p.C; c += STRIDE) {
    let g = (OFFSET + weight[c]) * dout[base + c];
    let xhat = (inp[base + c] - m) * r;
    acc += vec2<f32>(g, g * xhat);
  }
  return acc;
}

// dx = r (g - meanG - xhat meanGX) for this thread's share of the row.
fn write_dx(base: u32, c0: u32, m: f32, r: f32, meanG: f32, meanGX: f32) {
  for (var c = c0; c < p.C; c += STRIDE) {
    let g = (OFFSET + weight[c]) * dout[base + c];
    let xhat = (inp[base + c] - m) * r;
    var dx = r * (g - meanG - xhat * meanGX);
    if (p.accumulate != 0u) { dx += dinp[base + c]; }
    dinp[base + c] = dx;
  }
}

@compute @workgroup_size(WG)
fn layernorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, gid, nwg);
  if (row >= p.N) { return; }
  let base = row * p.C;
  let c0 = first_column(lid);
  let m = saved_mean(row, true);
  let r = rstd[row];
  let means = row_sum2(partial_sums(base, c0, m, r), lid) / f32(p.C); // (mean g, mean g xhat)
  write_dx(base, c0, m, r, means.x, means.y);
}

@compute @workgroup_size(WG)
fn rmsnorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, gid, nwg);
  if (row >= p.N) { return; }
  let base = row * p.C;
  let c0 = first_column(lid);
  let m = saved_mean(row, false);
  let r = rstd[row];
  let meanGX = row_sum(partial_sums(base, c0, m, r).y, lid) / f32(p.C);
  write_dx(base, c0, m, r, 0.0, meanGX);
}
