// Gated linear unit of the Llama-style MLP: out = act(gate) * up, elementwise over n (activations.wgsl, prepended).
//   GELU = false: SwiGLU, act = silu (Llama, Qwen);  GELU = true: GeGLU, act = the tanh GELU (Gemma's gelu_pytorch_tanh).
// Bindings: gate, up, out (read_write, see elementwise_add.wgsl), params { n }.

struct Params { n: u32 }

override WG: u32 = 256;
override GELU: bool = false;

@group(0) @binding(0) var<storage, read_write> gate: array<f32>;
@group(0) @binding(1) var<storage, read_write> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  out[i] = select(silu(g), gelu(g), GELU) * up[i];
}
