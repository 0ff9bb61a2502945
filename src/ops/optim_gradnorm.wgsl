// Sum of squares, one stage of the deterministic two-stage global grad-norm (see optim.ts), in two layouts:
//   sumSquares (tree, real GPUs):
//     stage 1: G workgroups, workgroup g writes dst[p.dstOffset + g] = sum over i ≡ g*WG + lid (mod G*WG) of
//              src[i]^2; once per binding window of the gradients, each window into its own slice of dst
//     stage 2: one workgroup over all windows' partials, dst[0] = sqrt(sum src[i])   (p.square = 0, p.root = 1)
//   sumSquaresPerInvocation (software adapters): the same without workgroup memory or barriers, one partial
//     per invocation; stage 2 is one invocation.
//   sumSquaresSubgroup (optim_gradnorm_subgroup.wgsl, appended on devices with `subgroups`): as sumSquares with the
//     workgroup's sum through subgroups.
// The order of every addition is fixed by (n, layout, windows), so the result is the same bit for bit on every run.
// Bindings: src [n], dst [partials or 1], params { n, square, root, dstOffset }. Both read_write: see crossentropy.wgsl.

struct Params { n: u32, square: u32, root: u32, dstOffset: u32 }

override WG: u32 = 256; // a power of two

@group(0) @binding(0) var<storage, read_write> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> red: array<f32, WG>;

// sum over i = first, first + stride, ... < n of src[i]^2 (or src[i] when p.square = 0), in that order.
fn strided_sum(first: u32, stride: u32) -> f32 {
  var acc = 0.0;
  for (var i = first; i < p.n; i += stride) {
    let x = src[i];
    acc += select(x, x * x, p.square != 0u);
  }
  return acc;
}

@compute @workgroup_size(WG)
fn sumSquares(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  red[lid] = strided_sum(wid.x * WG + lid, nwg.x * WG);
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { red[lid] += red[lid + s]; }
  }
  if (lid == 0u) {
    dst[p.dstOffset + wid.x] = select(red[0], sqrt(red[0]), p.root != 0u);
  }
}

// The same stage without workgroup memory or barriers, for software adapters (SwiftShader), where a barrier
// costs more than the arithmetic: invocation i of the grid writes dst[p.dstOffset + i] = sum over k ≡ i (mod grid size).
// Stage 2 runs it as a single invocation (WG = 1, one workgroup).
@compute @workgroup_size(WG)
fn sumSquaresPerInvocation(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let acc = strided_sum(gid.x, nwg.x * WG);
  dst[p.dstOffset + gid.x] = select(acc, sqrt(acc), p.root != 0u);
}
