// t = t * s over n f32 values, in place (gradient scaling, e.g. 1/accumulation steps).
// params: u32 n, f32 s.

struct Params { n: u32, s: f32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> t: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  t[i] = t[i] * p.s;
}
