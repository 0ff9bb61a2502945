// RMSNorm backward to the input, from what forward saved (rstd):
//   y = x r w,  r = (mean(x^2) + eps)^(-1/2)
//   dx[c] = r (w[c] dy[c] - x[c] r^2 mean_j(w[j] dy[j] x[j]))
// dx overwrites dinp, or adds to it when accumulate != 0 (the residual stream's gradient). Two variants as in
// norm_rms.wgsl: `backward` (one workgroup per row, tree reduction) and `backward_rows` (one thread per row, for
// software adapters). dweight is norm_rms_dweight.wgsl.
// Bindings: dout [N, C], inp [N, C], weight [C], rstd [N], dinp [N, C] (read_write), params { N, C, accumulate }.

struct Params { N: u32, C: u32, accumulate: u32 }

@group(0) @binding(0) var<storage, read_write> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

// WG, red and reduce_sum come from norm_reduce.wgsl (prepended by norm.ts).

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let base = row * p.C;
  var dot = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    dot += weight[c] * dout[base + c] * inp[base + c];
  }
  let r = rstd[row];
  let k = r * r * reduce_sum(dot, lid) / f32(p.C);
  for (var c = lid; c < p.C; c += WG) {
    var dx = r * (weight[c] * dout[base + c] - inp[base + c] * k);
    if (p.accumulate != 0u) { dx += dinp[base + c]; }
    dinp[base + c] = dx;
  }
}

@compute @workgroup_size(WG)
fn backward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.N) { return; }
  let base = row * p.C;
  var dot = 0.0;
  for (var c = 0u; c < p.C; c++) {
    dot += weight[c] * dout[base + c] * inp[base + c];
  }
  let r = rstd[row];
  let k = r * r * dot / f32(p.C);
  for (var c = 0u; c < p.C; c++) {
    var dx = r * (weight[c] * dout[base + c] - inp[base + c] * k);
    if (p.accumulate != 0u) { dx += dinp[base + c]; }
    dinp[base + c] = dx;
  }
}
