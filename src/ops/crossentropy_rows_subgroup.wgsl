// How a cross-entropy row's (max, sum of exp) pairs merge across a workgroup on a device with `subgroups`: a
// subgroupMax and a subgroupAdd, then one slot per subgroup merged in order (subgroup_sum.wgsl, prepended before
// this file by crossentropy.ts). Same names as crossentropy_rows_tree.wgsl.

fn row_setup(lid: u32) { sg_setup(lid); }

fn row_merge(own: vec2<f32>, lid: u32) -> vec2<f32> { return sg_merge_max_sum(own, lid); }
