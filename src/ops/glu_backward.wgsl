// Gated linear unit backward, recomputed from the forward's inputs (forward saves nothing else):
//   dup = dout * act(g),  dgate = dout * up * act'(g)   (activations.wgsl, prepended)
// Both gradients are overwritten. Bindings: dout, gate, up, dgate, dup (read_write), params { n }.

struct Params { n: u32 }

override WG: u32 = 256;
override GELU: bool = false;

@group(0) @binding(0) var<storage, read_write> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> gate: array<f32>;
@group(0) @binding(2) var<storage, read_write> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dup: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  let dy = dout[i];
  dup[i] = dy * select(silu(g), gelu(g), GELU);
  dgate[i] = dy * up[i] * select(silu_grad(g), gelu_grad(g), GELU);
}
