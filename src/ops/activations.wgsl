// The activations and their derivatives, shared by gelu.wgsl and glu*.wgsl (prepended by gelu.ts and glu.ts).
//   silu(x) = x sigmoid(x);          silu'(x) = s (1 + x (1 - s)), s = sigmoid(x)
//   gelu(x) = 0.5 x (1 + tanh(u)), u = k (x + c x^3), k = sqrt(2/pi), c = 0.044715 (the tanh approximation:
//   GPT-2's gelu_new, Gemma's gelu_pytorch_tanh);  gelu'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2), t = tanh(u)
// sigmoid and tanh use e = exp(-|x|) so they never overflow (some backends overflow exp in the naive formulas).

const GELU_K: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e, 1.0, x >= 0.0) / (1.0 + e);
}

fn tanh_safe(u: f32) -> f32 {
  let e = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - e) / (1.0 + e);
}

fn silu(x: f32) -> f32 { return x * sigmoid(x); }

fn silu_grad(x: f32) -> f32 {
  let s = sigmoid(x);
  return s * (1.0 + x * (1.0 - s));
}

fn gelu(x: f32) -> f32 { return 0.5 * x * (1.0 + tanh_safe(GELU_K * (x + GELU_C * x * x * x))); }

fn gelu_grad(x: f32) -> f32 {
  let t = tanh_safe(GELU_K * (x + GELU_C * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * x * x);
}
