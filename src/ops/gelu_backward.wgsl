// GELU (tanh) backward: dinp = dout * d/dx [0.5 x (1 + tanh(u))], u = k (x + c x^3)
//   = dout * (0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2)),  t = tanh(u)

struct Params { n: u32 }

const K: f32 = 0.7978845608028654;
const C: f32 = 0.044715;
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> inp: array<f32>;
@group(0) @binding(1) var<storage, read_write> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn tanh_safe(u: f32) -> f32 {
  let e = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - e) / (1.0 + e);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let x = inp[i];
  let t = tanh_safe(K * (x + C * x * x * x));
  let dgelu = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * K * (1.0 + 3.0 * C * x * x);
  dinp[i] = dout[i] * dgelu;
}
