// GELU, tanh approximation (GPT-2's "gelu_new"), elementwise.
//   forward:  out = 0.5 x (1 + tanh(k (x + 0.044715 x^3))),  k = sqrt(2/pi)
//   backward: dinp = dout * gelu'(x)   (recomputed from x; forward saves nothing else)
// Bindings: forward (inp, out, params); backward (inp, dout, dinp, params). params.n = element count.

struct Params { n: u32 }

const K: f32 = 0.7978845608028654;
const C: f32 = 0.044715;
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// tanh that stays finite for large |u| (some backends overflow exp in the naive formula)
fn tanh_safe(u: f32) -> f32 {
  let e = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - e) / (1.0 + e);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let x = inp[i];
  out[i] = 0.5 * x * (1.0 + tanh_safe(K * (x + C * x * x * x)));
}
