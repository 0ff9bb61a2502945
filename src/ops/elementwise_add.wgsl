// out = a + b over n f32 values (the residual stream).
// Every storage binding is read_write, here and in all kernels of this family: WebGPU rejects a read-only and
// a writable binding of the same GPUBuffer in one dispatch, and callers pass views of one flat table
// (disjoint ranges, which writable bindings may share).
// Bindings: a, b, out, params { n }.

struct Params { n: u32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}
