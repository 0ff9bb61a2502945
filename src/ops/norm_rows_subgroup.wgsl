// How the row kernels (norm_forward.wgsl, norm_backward.wgsl) split a row on a device with `subgroups`: as
// norm_rows_workgroup.wgsl (a workgroup per row, threads striding over C), with the row's sums through subgroups
// (subgroup_sum.wgsl, prepended before this file by norm.ts): one subgroupAdd and WG / subgroup size slot reads in
// place of a log2(WG)-barrier tree. Same names as the other two row files.

override WG: u32 = 256;
override STRIDE: u32 = WG;

fn row_index(wid: vec3<u32>, gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

// Called once per invocation at the top of each entry point: also learns the subgroup layout.
fn first_column(lid: u32) -> u32 {
  sg_setup(lid);
  return lid;
}

fn row_sum(v: f32, lid: u32) -> f32 { return sg_sum(v, lid); }

fn row_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> { return sg_sum2(v, lid); }
