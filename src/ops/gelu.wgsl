// GELU, tanh approximation (GPT-2's "gelu_new"), elementwise: out = gelu(x) (activations.wgsl, prepended).
// Bindings: inp, out, params { n } (n = element count).

struct Params { n: u32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  out[i] = gelu(inp[i]);
}
