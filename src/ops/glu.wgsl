// Gated linear unit of the Llama-style MLP: out = act(gate) * up, elementwise over n.
//   GELU = false: SwiGLU, act = silu(x) = x sigmoid(x) (Llama, Qwen);
//   GELU = true:  GeGLU, act = GELU tanh, 0.5 x (1 + tanh(k (x + 0.044715 x^3))) (Gemma's gelu_pytorch_tanh).
// sigmoid uses e = exp(-|x|) so it never overflows: x >= 0 gives 1 / (1 + e), x < 0 gives e / (1 + e); tanh the
// same way (gelu.wgsl).
// Bindings: gate, up, out (read_write, see elementwise_add.wgsl), params { n }.

struct Params { n: u32 }

override WG: u32 = 256;
override GELU: bool = false;
const K: f32 = 0.7978845608028654;
const C: f32 = 0.044715;

@group(0) @binding(0) var<storage, read_write> gate: array<f32>;
@group(0) @binding(1) var<storage, read_write> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e, 1.0, x >= 0.0) / (1.0 + e);
}

fn tanh_safe(u: f32) -> f32 {
  let e = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - e) / (1.0 + e);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  if (GELU) {
    out[i] = 0.5 * g * (1.0 + tanh_safe(K * (g + C * g * g * g))) * up[i];
  } else {
    out[i] = g * sigmoid(g) * up[i];
  }
}
