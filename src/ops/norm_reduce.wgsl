// Workgroup tree reduction shared by the row-per-workgroup norm kernels (norm_rms.wgsl,
// norm_rms_backward.wgsl, norm_layer.wgsl); norm.ts prepends this file to each. WG is a power of two <= 256.

override WG: u32 = 256;

var<workgroup> red: array<f32, 256>;

// Returns the workgroup's sum of v in a fixed order; red may be reused right after (the closing barrier).
fn reduce_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
