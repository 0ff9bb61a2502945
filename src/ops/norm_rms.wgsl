// RMSNorm forward, as Hugging Face LlamaRMSNorm computes it in f32:
//   rstd[n] = 1 / sqrt(mean_c(x[n, c]^2) + eps),   out[n, c] = (x[n, c] * rstd[n]) * w[c]
// Two variants, both deterministic (the order of every sum is fixed by C and WG):
//  - forward: one workgroup per row (grid folded to 2-D for N > 65535); threads stride over C and meet in a
//    tree reduction in workgroup memory. WG is a power of two <= 256. For GPUs.
//  - forward_rows: one thread per row, sequential sums over C. For software adapters (SwiftShader), where a
//    barrier costs more than the parallelism buys (measured 10-60x faster there at C = 64..2048).
// Bindings: inp [N, C], weight [C], out [N, C], rstd [N] (read_write, see elementwise_add.wgsl),
// params { N, C, eps }.

struct Params { N: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read_write> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// WG, red and reduce_sum come from norm_reduce.wgsl (prepended by norm.ts).

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let base = row * p.C;
  var ss = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    let x = inp[base + c];
    ss += x * x;
  }
  let r = 1.0 / sqrt(reduce_sum(ss, lid) / f32(p.C) + p.eps);
  if (lid == 0u) { rstd[row] = r; }
  for (var c = lid; c < p.C; c += WG) {
    out[base + c] = (inp[base + c] * r) * weight[c];
  }
}

@compute @workgroup_size(WG)
fn forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.N) { return; }
  let base = row * p.C;
  var ss = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let x = inp[base + c];
    ss += x * x;
  }
  let r = 1.0 / sqrt(ss / f32(p.C) + p.eps);
  rstd[row] = r;
  for (var c = 0u; c < p.C; c++) {
    out[base + c] = (inp[base + c] * r) * weight[c];
  }
}
