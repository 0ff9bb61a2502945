// The tree stage of the grad norm (optim_gradnorm.wgsl's sumSquares) with the workgroup's sum through subgroups
// (subgroup_sum.wgsl): optim.ts builds subgroup_sum.wgsl + optim_gradnorm.wgsl + this file for the 'subgroup'
// layout, on devices with `subgroups`. Same stages, grid and partials as 'tree'.

@compute @workgroup_size(WG)
fn sumSquaresSubgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  sg_setup(lid);
  let total = sg_sum(strided_sum(wid.x * WG + lid, nwg.x * WG), lid);
  if (lid == 0u) {
    dst[p.dstOffset + wid.x] = select(total, sqrt(total), p.root != 0u);
  }
}
