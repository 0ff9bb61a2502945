// How a cross-entropy row's (max, sum of exp) pairs merge across a workgroup without subgroups: a fixed tree in
// workgroup memory (log2(WG) barriers). crossentropy.ts prepends this file or crossentropy_rows_subgroup.wgsl to
// crossentropy_common.wgsl; both define row_setup and row_merge, called in uniform control flow.

var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;

fn row_setup(lid: u32) {}

fn row_merge(own: vec2<f32>, lid: u32) -> vec2<f32> {
  red_max[lid] = own.x;
  red_sum[lid] = own.y;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      let r = merge(vec2<f32>(red_max[lid], red_sum[lid]), vec2<f32>(red_max[lid + stride], red_sum[lid + stride]));
      red_max[lid] = r.x;
      red_sum[lid] = r.y;
    }
  }
  workgroupBarrier();
  return vec2<f32>(red_max[0], red_sum[0]);
}
