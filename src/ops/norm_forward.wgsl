// LayerNorm and RMSNorm forward over the last dimension, in f32 as PyTorch computes them:
//   LayerNorm (entry point layernorm, torch.nn.LayerNorm, biased variance, two passes):
//     mean[n] = mean_c x[n, c],  rstd[n] = 1 / sqrt(mean_c (x[n, c] - mean[n])^2 + eps)
//     out[n, c] = (x[n, c] - mean[n]) rstd[n] w[c] + b[c]
//   RMSNorm (entry point rmsnorm, Hugging Face LlamaRMSNorm): the same with mean = 0 and no bias:
//     rstd[n] = 1 / sqrt(mean_c x[n, c]^2 + eps),  out[n, c] = (x[n, c] rstd[n]) w[c]
// The weight enters as (OFFSET + w[c]): OFFSET = 1 is Gemma's RMSNorm, x·(1 + w) (its weights are stored as
// offsets from one); 0 + w is w exactly, so OFFSET = 0 changes no bit of the others.
// How a row is split among threads (row_index, first_column, STRIDE, row_sum) comes from the prepended
// norm_rows_workgroup.wgsl or norm_rows_thread.wgsl; either way every sum runs in an order fixed by C and WG.
// Bindings: inp [N, C], weight [C], bias [C], out [N, C], mean [N], rstd [N] (read_write, see
// elementwise_add.wgsl; for RMSNorm bias and mean are placeholders, never touched), params { N, C, eps }.

struct Params { N: u32, C: u32, eps: f32 }

override OFFSET: f32 = 0.0;

@group(0) @binding(0) var<storage, read_write> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

// One entry point per norm, each doing its reductions (row_sum) at its top level, with the passes over the row
// in helpers: one entry with the mean's reduction under `if (CENTERED)`, an override, measured ~40% slower on
// SwiftShader's workgroup variant (N = 64, C = 576), a barrier in a branch not being folded away there.

// This thread's share of sum_c (x[c] - m)^2 (m = 0: sum_c x[c]^2).
fn squares(base: u32, c0: u32, m: f32) -> f32 {
  var v = 0.0;
  for (var c = c0; c < p.C; c += STRIDE) {
    let d = inp[base + c] - m;
    v += d * d;
  }
  return v;
}

// Saves rstd (and the mean when centered) and writes this thread's share of the row's output.
fn normalize(row: u32, c0: u32, m: f32, r: f32, centered: bool) {
  if (c0 == 0u) {
    rstd[row] = r;
    if (centered) { mean[row] = m; }
  }
  let base = row * p.C;
  for (var c = c0; c < p.C; c += STRIDE) {
    var y = (inp[base + c] - m) * r * (OFFSET + weight[c]);
    if (centered) { y += bias[c]; }
    out[base + c] = y;
  }
}

@compute @workgroup_size(WG)
fn layernorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, gid, nwg);
  if (row >= p.N) { return; }
  let base = row * p.C;
  let c0 = first_column(lid);
  var s = 0.0;
  for (var c = c0; c < p.C; c += STRIDE) { s += inp[base + c]; }
  let m = row_sum(s, lid) / f32(p.C);
  let r = 1.0 / sqrt(row_sum(squares(base, c0, m), lid) / f32(p.C) + p.eps);
  normalize(row, c0, m, r, true);
}

@compute @workgroup_size(WG)
fn rmsnorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, gid, nwg);
  if (row >= p.N) { return; }
  let c0 = first_column(lid);
  let r = 1.0 / sqrt(row_sum(squares(row * p.C, c0, 0.0), lid) / f32(p.C) + p.eps);
  normalize(row, c0, 0.0, r, false);
}
