// acc = acc + alpha * x over n f32 values (gradient accumulation, residual gradients).
// Bindings: acc, x (both read_write, see elementwise_add.wgsl), params { n, alpha }.

struct Params { n: u32, alpha: f32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn add_in_place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  acc[i] = acc[i] + p.alpha * x[i];
}
