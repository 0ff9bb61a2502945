// Softmax cross-entropy over one row per workgroup: the part shared by crossentropy.wgsl (separate dlogits)
// and crossentropy_inplace.wgsl (dlogits overwrites logits). crossentropy.ts prepends this file to each; each
// variant declares the bindings and defines two accessors the row body calls:
//   fn logit(i: u32) -> f32          reads logits[i]   (i indexes the flat [N, V] tensor)
//   fn store_grad(i: u32, g: f32)    writes dlogits[i]
//
// Per row r (one workgroup of WG invocations, V reduced in parallel):
//   lse       = logsumexp(logits[r, :])           one pass, online max/sum per invocation, then a tree merge
//   losses[r] = mask[r] * (lse - logits[r, t])    t = targets[r]
//   dlogits[r, j] = gradScale * mask[r] * (exp(logits[r, j] - lse) - [j == t])   (only when p.writeGrad != 0)
// Rows with mask 0 skip the reduction: loss 0, and zeros written to their dlogits.
// In-place safety: invocation `lid` reads and then writes only elements j ≡ lid (mod WG), and the one cross-
// invocation read (logits[r, t], for the loss) is done by the invocation that owns element t, before its writes.
// targets[r] >= V on a row with nonzero mask is a caller error: losses[r] becomes NaN so it shows.

struct Params { N: u32, V: u32, writeGrad: u32, gradScale: f32 }

override WG: u32 = 256; // a power of two

const NEG_BIG: f32 = -3.0e38; // the running max before any element; exp(NEG_BIG - x) underflows to 0

var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;
var<workgroup> row_mask: f32;
var<private> NAN_BITS: u32 = 0x7fc00000u; // a var, not a const: WGSL rejects NaN in constant expressions

// Online softmax merge of two (max, sum of exp(x - max)) pairs.
fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
  let m = max(m1, m2);
  return vec2<f32>(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

// logsumexp of the V logits starting at `base`; every invocation returns the same value.
fn row_logsumexp(base: u32, V: u32, lid: u32) -> f32 {
  var m = NEG_BIG;
  var s = 0.0;
  for (var j = lid; j < V; j += WG) {
    let x = logit(base + j);
    if (x > m) { s = s * exp(m - x) + 1.0; m = x; } else { s += exp(x - m); }
  }
  red_max[lid] = m;
  red_sum[lid] = s;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      let r = merge(red_max[lid], red_sum[lid], red_max[lid + stride], red_sum[lid + stride]);
      red_max[lid] = r.x;
      red_sum[lid] = r.y;
    }
  }
  workgroupBarrier();
  return red_max[0] + log(red_sum[0]);
}

fn cross_entropy_row(row: u32, lid: u32) {
  let V = p.V;
  let base = row * V;
  let t = targets[row];
  if (lid == 0u) { row_mask = lossMask[row]; }
  let mask = workgroupUniformLoad(&row_mask);

  if (mask == 0.0) {
    if (lid == 0u) { losses[row] = 0.0; }
    if (p.writeGrad != 0u) {
      for (var j = lid; j < V; j += WG) { store_grad(base + j, 0.0); }
    }
    return;
  }

  let lse = row_logsumexp(base, V, lid);
  if (t < V) {
    if (lid == t % WG) { losses[row] = mask * (lse - logit(base + t)); }
  } else if (lid == 0u) {
    losses[row] = bitcast<f32>(NAN_BITS); // target out of range
  }

  if (p.writeGrad != 0u) {
    let scale = p.gradScale * mask;
    for (var j = lid; j < V; j += WG) {
      let prob = exp(logit(base + j) - lse);
      store_grad(base + j, scale * (prob - select(0.0, 1.0, j == t)));
    }
  }
}
