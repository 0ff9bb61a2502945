// AdamW over one flat parameter buffer, or one binding window of it (PyTorch torch.optim.AdamW, amsgrad off),
// with the gradient first scaled by clip_grad_norm_'s factor read from the GPU:
//   clip = min(1, maxGradNorm / (norm[0] + 1e-6))   if p.useNorm, else 1
//   g    = grads[i] * clip
//   w    = param[i] * (1 - lr * wd * decayMask[i])  (decayMask[i] = 1 unless p.useDecayMask)
//   m    = beta1 * m + (1 - beta1) * g
//   v    = beta2 * v + (1 - beta2) * g * g
//   param[i] = w - stepSize * m / (sqrt(v) / bc2Sqrt + eps),   stepSize = lr / (1 - beta1^t), bc2Sqrt = sqrt(1 - beta2^t)
// The scalars (1 - beta), stepSize and bc2Sqrt are computed in float64 on the CPU, as PyTorch does in Python.
// grads are read, not modified. Bindings: param, grads, m, v, norm [1], decayMask [n], params. When useNorm or
// useDecayMask is 0, optim.ts binds a placeholder that is never read. All read_write: see crossentropy.wgsl.

struct Params {
  n: u32, useNorm: u32, useDecayMask: u32,
  lrWd: f32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32,
  stepSize: f32, bc2Sqrt: f32, eps: f32, maxGradNorm: f32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read_write> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> norm: array<f32>;
@group(0) @binding(5) var<storage, read_write> decayMask: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var clip = 1.0;
  if (p.useNorm != 0u) { clip = min(1.0, p.maxGradNorm / (norm[0] + 1e-6)); }
  let g = grads[i] * clip;
  var decay = p.lrWd;
  if (p.useDecayMask != 0u) { decay *= decayMask[i]; }
  let w = param[i] * (1.0 - decay);
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = w - p.stepSize * (mi / (sqrt(vi) / p.bc2Sqrt + p.eps));
}
