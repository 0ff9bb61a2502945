// Gated linear unit backward, recomputed from the forward's inputs (forward saves nothing else):
//   dup = dout * act(g),  dgate = dout * up * act'(g)
//   SwiGLU: s = sigmoid(g), act = g s, act' = s (1 + g (1 - s))
//   GeGLU:  t = tanh(k (g + c g^3)), act = 0.5 g (1 + t), act' = 0.5 (1 + t) + 0.5 g (1 - t^2) k (1 + 3 c g^2)
// Both gradients are overwritten. Bindings: dout, gate, up, dgate, dup (read_write), params { n }.

struct Params { n: u32 }

override WG: u32 = 256;
override GELU: bool = false;
const K: f32 = 0.7978845608028654;
const C: f32 = 0.044715;

@group(0) @binding(0) var<storage, read_write> dout: array<f32>;
@group(0) @binding(1) var<storage, read_write> gate: array<f32>;
@group(0) @binding(2) var<storage, read_write> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dup: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e, 1.0, x >= 0.0) / (1.0 + e);
}

fn tanh_safe(u: f32) -> f32 {
  let e = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - e) / (1.0 + e);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  let dy = dout[i];
  if (GELU) {
    let t = tanh_safe(K * (g + C * g * g * g));
    dup[i] = dy * 0.5 * g * (1.0 + t);
    dgate[i] = dy * up[i] * (0.5 * (1.0 + t) + 0.5 * g * (1.0 - t * t) * K * (1.0 + 3.0 * C * g * g));
  } else {
    let s = sigmoid(g);
    dup[i] = dy * g * s;
    dgate[i] = dy * up[i] * s * (1.0 + g * (1.0 - s));
  }
}
