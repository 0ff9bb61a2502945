// GELU (tanh) backward: dinp = dout * gelu'(x) (activations.wgsl, prepended), recomputed from x.
// Bindings: inp, dout, dinp, params { n }.

struct Params { n: u32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dinp[i] = dout[i] * gelu_grad(inp[i]);
}
