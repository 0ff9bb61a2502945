// SwiGLU, the Llama MLP's gate: out = silu(gate) * up = gate * sigmoid(gate) * up, elementwise over n.
// sigmoid uses e = exp(-|x|) so it never overflows: x >= 0 gives 1 / (1 + e), x < 0 gives e / (1 + e).
// Bindings: gate, up, out (read_write, see elementwise_add.wgsl), params { n }.

struct Params { n: u32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> gate: array<f32>;
@group(0) @binding(1) var<storage, read_write> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e, 1.0, x >= 0.0) / (1.0 + e);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  out[i] = g * sigmoid(g) * up[i];
}
