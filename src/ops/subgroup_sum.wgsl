// A workgroup's sum through subgroups (the `subgroups` feature), for the subgroup variants of the row kernels
// (norm_rows_subgroup.wgsl, crossentropy_rows_subgroup.wgsl, optim_gradnorm_subgroup.wgsl); prepended first, so
// that `enable subgroups` opens the module. The includer declares `override WG: u32` (a power of two <= 256).
// Correct for every subgroup size (4..128) and every assignment of invocations to subgroups, partial ones included:
// no size is assumed. Each subgroup's sum (subgroupAdd) is left by its first invocation (its smallest local index)
// in the slot at that index, every other slot holds 0, and the workgroup's sum adds the slots at multiples of
// sg_stride, the largest power of two dividing every subgroup's first index: with subgroups of S consecutive
// invocations that is S (WG / S slots to add), and in any other layout a smaller step that still visits every
// subgroup's slot. The order of the additions depends only on the layout, so the bits are the same run to run.
// Contract: sg_setup(lid) once per invocation, then sg_sum / sg_sum2 / sg_merge_max_sum, each called by every
// invocation of the workgroup in uniform control flow (they have barriers).

enable subgroups;

var<workgroup> sg_slots: array<f32, WG>;
var<workgroup> sg_slots2: array<vec2<f32>, WG>;
var<workgroup> sg_first_bits: atomic<u32>;   // the OR of every subgroup's first local index
var<workgroup> sg_step: u32;
var<private> sg_leader: bool;                // this invocation holds its subgroup's slot

fn sg_setup(lid: u32) {
  let first = subgroupMin(lid);
  sg_leader = lid == first;
  if (sg_leader) { atomicOr(&sg_first_bits, first); }
  workgroupBarrier();
  if (lid == 0u) {
    let g = atomicLoad(&sg_first_bits);
    sg_step = select(g & (~g + 1u), WG, g == 0u);   // lowest set bit; one subgroup: slot 0 only
  }
}

fn sg_sum(v: f32, lid: u32) -> f32 {
  let s = subgroupAdd(v);
  sg_slots[lid] = select(0.0, s, sg_leader);
  let stride = workgroupUniformLoad(&sg_step);   // its barrier also publishes the slots
  var total = 0.0;
  for (var i = 0u; i < WG; i += stride) { total += sg_slots[i]; }
  workgroupBarrier();                            // the slots may be reused right after
  return total;
}

fn sg_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> {
  let s = subgroupAdd(v);
  sg_slots2[lid] = select(vec2<f32>(0.0), s, sg_leader);
  let stride = workgroupUniformLoad(&sg_step);
  var total = vec2<f32>(0.0);
  for (var i = 0u; i < WG; i += stride) { total += sg_slots2[i]; }
  workgroupBarrier();
  return total;
}

// The online-softmax merge of (max, sum of exp(x - max)) pairs over the workgroup (cross-entropy rows). Empty
// slots hold (-3e38, 0), which merge as nothing.
fn sg_merge_max_sum(v: vec2<f32>, lid: u32) -> vec2<f32> {
  let m = subgroupMax(v.x);
  let s = subgroupAdd(v.y * exp(v.x - m));
  sg_slots2[lid] = select(vec2<f32>(-3.0e38, 0.0), vec2<f32>(m, s), sg_leader);
  let stride = workgroupUniformLoad(&sg_step);
  var total = vec2<f32>(-3.0e38, 0.0);
  for (var i = 0u; i < WG; i += stride) {
    let o = sg_slots2[i];
    let mm = max(total.x, o.x);
    total = vec2<f32>(mm, total.y * exp(total.x - mm) + o.y * exp(o.x - mm));
  }
  workgroupBarrier();
  return total;
}
