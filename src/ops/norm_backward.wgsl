// LayerNorm and RMSNorm backward to the input, from what forward saved (rstd, and mean for LayerNorm):
//   xhat = (x - mean) rstd,  g = w dy
//   LayerNorm (CENTERED):  dx[c] = rstd (g[c] - mean_j g[j] - xhat[c] mean_j(g[j] xhat[j]))
//   RMSNorm (!CENTERED):   the same with mean = 0 and without the mean_j g[j] term (nothing was subtracted), i.e.
//                          dx[c] = rstd (w[c] dy[c] - x[c] rstd^2 mean_j(w[j] dy[j] x[j]))
// dx overwrites dinp, or adds to it when accumulate != 0 (the residual stream's gradient). Both row means come
// from one paired reduction; how a row is split among threads comes from the prepended norm_rows_*.wgsl (see
// norm_forward.wgsl). dweight is norm_dweight.wgsl, dbias sumRows.
// Bindings: dout, inp [N, C], weight [C], mean, rstd [N], dinp [N, C] (read_write; for RMSNorm mean is a
// placeholder, never read), params { N, C, accumulate }.

struct Params { N: u32, C: u32, accumulate: u32 }

override CENTERED: bool;

@group(0) @binding(0) var<storage, read_write> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, gid, nwg);
  if (row >= p.N) { return; }
  let base = row * p.C;
  let c0 = first_column(lid);
  var m = 0.0;
  if (CENTERED) { m = mean[row]; }
  let r = rstd[row];
  var acc = vec2<f32>(0.0);
  for (var c = c0; c < p.C; c += STRIDE) {
    let g = weight[c] * dout[base + c];
    let xhat = (inp[base + c] - m) * r;
    acc += vec2<f32>(g, g * xhat);
  }
  let means = row_sum2(acc, lid) / f32(p.C); // (mean g, mean g xhat)
  let meanG = select(0.0, means.x, CENTERED);
  for (var c = c0; c < p.C; c += STRIDE) {
    let g = weight[c] * dout[base + c];
    let xhat = (inp[base + c] - m) * r;
    var dx = r * (g - meanG - xhat * means.y);
    if (p.accumulate != 0u) { dx += dinp[base + c]; }
    dinp[base + c] = dx;
  }
}
