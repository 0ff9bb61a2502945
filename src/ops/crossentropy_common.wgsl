// Softmax cross-entropy, one row at a time: the part shared by crossentropy.wgsl (separate dlogits) and
// crossentropy_inplace.wgsl (dlogits overwrite logits). crossentropy.ts prepends this file to each, after the file
// that merges a workgroup's (max, sum) pairs (crossentropy_rows_tree.wgsl, or crossentropy_rows_subgroup.wgsl on a
// device with `subgroups`: row_setup, row_merge); each declares the bindings (with `p`) and the accessors the row
// code calls; the two entry points are at the end of this file:
//   fn logit(i: u32) -> f32          reads logits[i]   (i indexes the flat [N, V] tensor)
//   fn store_grad(i: u32, g: f32)    writes dlogits[i]
//
// Per row r:
//   lse       = logsumexp(logits[r, :])           online max/sum, one read per element
//   losses[r] = mask[r] * (lse - logits[r, t])    t = targets[r]
//   dlogits[r, j] = gradScale * mask[r] * (exp(logits[r, j] - lse) - [j == t])   (only when p.writeGrad != 0)
// Rows with mask 0 skip the reduction: loss 0, and zeros written to their dlogits.
// Two layouts of the same arithmetic:
//   cross_entropy_row         one workgroup per row, V split over WG invocations, (max, sum) pairs merged in a
//                             fixed order (row_merge): for real GPUs and large V.
//   cross_entropy_row_serial  one invocation per row, no barriers: for software adapters (SwiftShader), where a
//                             workgroup barrier costs more than a row's worth of arithmetic.
// In-place safety: an invocation reads and then writes only its own elements (j ≡ first mod step), and the one
// other read (logits[r, t], for the loss) is made by the invocation that owns element t, before its writes.
// targets[r] >= V on a row with nonzero mask is a caller error: losses[r] becomes NaN so it shows.

struct Params { N: u32, V: u32, writeGrad: u32, gradScale: f32 }

override WG: u32 = 256; // a power of two

const NEG_BIG: f32 = -3.0e38; // the running max before any element; exp(NEG_BIG - x) underflows to 0

var<workgroup> row_mask: f32;
var<private> NAN_BITS: u32 = 0x7fc00000u; // a var, not a const: WGSL rejects NaN in constant expressions

// Online softmax merge of two (max, sum of exp(x - max)) pairs.
fn merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

// (max, sum of exp(x - max)) over elements first, first + step, ... of the row at `base`. Online: a second exp
// only when a new max appears, which is rare after the first few elements.
fn partial_stats(base: u32, V: u32, first: u32, step: u32) -> vec2<f32> {
  var m = NEG_BIG;
  var s = 0.0;
  for (var j = first; j < V; j += step) {
    let x = logit(base + j);
    if (x > m) { s = s * exp(m - x) + 1.0; m = x; } else { s += exp(x - m); }
  }
  return vec2<f32>(m, s);
}

fn write_grads(base: u32, V: u32, first: u32, step: u32, lse: f32, t: u32, scale: f32) {
  for (var j = first; j < V; j += step) {
    let prob = exp(logit(base + j) - lse);
    store_grad(base + j, scale * (prob - select(0.0, 1.0, j == t)));
  }
}

fn zero_grads(base: u32, V: u32, first: u32, step: u32) {
  for (var j = first; j < V; j += step) { store_grad(base + j, 0.0); }
}

fn row_loss(base: u32, V: u32, t: u32, lse: f32, mask: f32) -> f32 {
  if (t >= V) { return bitcast<f32>(NAN_BITS); }
  return mask * (lse - logit(base + t));
}

// One workgroup per row; must be called in uniform control flow (it has barriers).
fn cross_entropy_row(row: u32, lid: u32) {
  let V = p.V;
  let base = row * V;
  let t = targets[row];
  row_setup(lid);
  if (lid == 0u) { row_mask = lossMask[row]; }
  let mask = workgroupUniformLoad(&row_mask);

  if (mask == 0.0) {
    if (lid == 0u) { losses[row] = 0.0; }
    if (p.writeGrad != 0u) { zero_grads(base, V, lid, WG); }
    return;
  }

  let stats = row_merge(partial_stats(base, V, lid, WG), lid);
  let lse = stats.x + log(stats.y);

  if (lid == select(0u, t % WG, t < V)) { losses[row] = row_loss(base, V, t, lse, mask); }
  if (p.writeGrad != 0u) { write_grads(base, V, lid, WG, lse, t, p.gradScale * mask); }
}

// One invocation per row.
fn cross_entropy_row_serial(row: u32) {
  let V = p.V;
  let base = row * V;
  let t = targets[row];
  let mask = lossMask[row];
  if (mask == 0.0) {
    losses[row] = 0.0;
    if (p.writeGrad != 0u) { zero_grads(base, V, 0u, 1u); }
    return;
  }
  let stats = partial_stats(base, V, 0u, 1u);
  let lse = stats.x + log(stats.y);
  losses[row] = row_loss(base, V, t, lse, mask);
  if (p.writeGrad != 0u) { write_grads(base, V, 0u, 1u, lse, t, p.gradScale * mask); }
}

// ---- entry points: rowPerWorkgroup, row = wid.x + wid.y * nwg.x; rowPerInvocation, row = the flat
// invocation index. Both grids fold to 2-D past 65535 workgroups.

@compute @workgroup_size(WG)
fn rowPerWorkgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  cross_entropy_row(row, lid);
}

@compute @workgroup_size(WG)
fn rowPerInvocation(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.N) { return; }
  cross_entropy_row_serial(row);
}
