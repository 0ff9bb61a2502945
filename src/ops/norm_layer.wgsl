// LayerNorm forward, as torch.nn.LayerNorm (biased variance, two-pass in f32):
//   mean[n] = mean_c x[n, c],  rstd[n] = 1 / sqrt(mean_c (x[n, c] - mean[n])^2 + eps)
//   out[n, c] = (x[n, c] - mean[n]) rstd[n] w[c] + b[c]
// Two variants as in norm_rms.wgsl: `forward` (one workgroup per row, tree reductions; WG a power of two
// <= 256) and `forward_rows` (one thread per row, for software adapters). Both deterministic.
// Bindings: inp [N, C], weight [C], bias [C], out [N, C], mean [N], rstd [N] (read_write, see
// elementwise_add.wgsl), params { N, C, eps }.

struct Params { N: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read_write> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

// WG, red and reduce_sum come from norm_reduce.wgsl (prepended by norm.ts).

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let base = row * p.C;
  var s = 0.0;
  for (var c = lid; c < p.C; c += WG) { s += inp[base + c]; }
  let m = reduce_sum(s, lid) / f32(p.C);
  var v = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    let d = inp[base + c] - m;
    v += d * d;
  }
  let r = 1.0 / sqrt(reduce_sum(v, lid) / f32(p.C) + p.eps);
  if (lid == 0u) {
    mean[row] = m;
    rstd[row] = r;
  }
  for (var c = lid; c < p.C; c += WG) {
    out[base + c] = (inp[base + c] - m) * r * weight[c] + bias[c];
  }
}

@compute @workgroup_size(WG)
fn forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.N) { return; }
  let base = row * p.C;
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += inp[base + c]; }
  let m = s / f32(p.C);
  var v = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let d = inp[base + c] - m;
    v += d * d;
  }
  let r = 1.0 / sqrt(v / f32(p.C) + p.eps);
  mean[row] = m;
  rstd[row] = r;
  for (var c = 0u; c < p.C; c++) {
    out[base + c] = (inp[base + c] - m) * r * weight[c] + bias[c];
  }
}
