// LayerNorm backward to the input, from what forward saved (mean, rstd):
//   xhat = (x - mean) rstd,  g = w dy
//   dx[c] = rstd (g[c] - mean_j g[j] - xhat[c] mean_j(g[j] xhat[j]))
// dx overwrites dinp, or adds to it when accumulate != 0 (the residual stream's gradient). Two variants as in
// norm_rms.wgsl: `backward` (one workgroup per row; both row means from one paired tree reduction) and
// `backward_rows` (one thread per row, for software adapters). dweight/dbias: norm_layer_dweight.wgsl, sumRows.
// Bindings: dout, inp [N, C], weight [C], mean, rstd [N], dinp [N, C] (read_write), params { N, C, accumulate }.

struct Params { N: u32, C: u32, accumulate: u32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> red: array<vec2<f32>, 256>;

fn reduce_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let base = row * p.C;
  let m = mean[row];
  let r = rstd[row];
  var acc = vec2<f32>(0.0);
  for (var c = lid; c < p.C; c += WG) {
    let g = weight[c] * dout[base + c];
    let xhat = (inp[base + c] - m) * r;
    acc += vec2<f32>(g, g * xhat);
  }
  let means = reduce_sum2(acc, lid) / f32(p.C); // (mean g, mean g xhat)
  for (var c = lid; c < p.C; c += WG) {
    let g = weight[c] * dout[base + c];
    let xhat = (inp[base + c] - m) * r;
    var dx = r * (g - means.x - xhat * means.y);
    if (p.accumulate != 0u) { dx += dinp[base + c]; }
    dinp[base + c] = dx;
  }
}

@compute @workgroup_size(WG)
fn backward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.N) { return; }
  let base = row * p.C;
  let m = mean[row];
  let r = rstd[row];
  var acc = vec2<f32>(0.0);
  for (var c = 0u; c < p.C; c++) {
    let g = weight[c] * dout[base + c];
    let xhat = (inp[base + c] - m) * r;
    acc += vec2<f32>(g, g * xhat);
  }
  let means = acc / f32(p.C);
  for (var c = 0u; c < p.C; c++) {
    let g = weight[c] * dout[base + c];
    let xhat = (inp[base + c] - m) * r;
    var dx = r * (g - means.x - xhat * means.y);
    if (p.accumulate != 0u) { dx += dinp[base + c]; }
    dinp[base + c] = dx;
  }
}
