// Decoding with a KV cache, one new row per sequence, each sequence at its own position (ragged batches).
//   append: cacheK[b, pos[b], :] = k[b, :], cacheV[b, pos[b], :] = v[b, :]      (one thread per element)
//   attend: out[b, h, :] = softmax_j(scale · q[b,h]·cacheK[b,j,g]) cacheV[b,j,g] over j in [first, pos[b]],
//           g = h / (H / Hkv), first = pos[b] + 1 - window (0 without one)        (one workgroup per (b, h))
// attend streams the keys in blocks of WG: each thread scores one key of the block against the query (staged in
// workgroup memory), the block's scores go to workgroup memory, and each thread folds them into an online
// softmax for the head dims it owns (d = lid + k·WG, k < 4, so D <= 4·WG). Every thread keeps the same running
// max and sum, which costs WG exp2 per block and saves the barriers of a tree reduction.
// Scores are in the log2 domain (scale · log2 e per dot), as in the training kernels (attention.ts).
// The two entry points declare their own bindings (WGSL allows a binding number per entry point).
// Layouts: k, v [B, Hkv*D]; q, out [B, H*D]; cacheK, cacheV [B, cap, Hkv*D]; pos u32 [B].

struct Params { B: u32, H: u32, Hkv: u32, D: u32, cap: u32, window: u32, scale: f32 }

override WG: u32 = 64;
const MAX_D: u32 = 256;
const LOG2E: f32 = 1.4426950408889634;
const NEG_BIG: f32 = -3.0e38; // stands in for -inf

// append: k, v, pos, cacheK, cacheV, params
@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> posA: array<u32>;
@group(0) @binding(3) var<storage, read_write> cacheKw: array<f32>;
@group(0) @binding(4) var<storage, read_write> cacheVw: array<f32>;
// attend: q, cacheK, cacheV, pos, out, params
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> cacheK: array<f32>;
@group(0) @binding(2) var<storage, read> cacheV: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn append(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = p.Hkv * p.D;
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.B * w) { return; }
  let b = idx / w;
  let at = (b * p.cap + posA[b]) * w + idx % w;
  cacheKw[at] = k[idx];
  cacheVw[at] = v[idx];
}

var<workgroup> qs: array<f32, MAX_D>;
var<workgroup> scores: array<f32, WG>;
var<workgroup> lastKey: u32;

@compute @workgroup_size(WG)
fn attend(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x / p.H;
  let h = wid.x % p.H;
  let g = h / (p.H / p.Hkv);
  let D = p.D;
  if (lid == 0u) { lastKey = pos[b]; }
  for (var d = lid; d < D; d += WG) { qs[d] = q[(b * p.H + h) * D + d]; }
  let last = workgroupUniformLoad(&lastKey);   // also the barrier that publishes qs
  var first = 0u;
  if (p.window <= last) { first = last + 1u - p.window; }
  let s2 = p.scale * LOG2E;
  let rowStride = p.Hkv * D;
  let base = b * p.cap * rowStride + g * D;    // cacheK/V[b, 0, g, 0]

  var m = NEG_BIG;
  var l = 0.0;
  var a0 = 0.0; var a1 = 0.0; var a2 = 0.0; var a3 = 0.0;
  for (var j0 = first; j0 <= last; j0 += WG) {
    let j = j0 + lid;
    var s = NEG_BIG;
    if (j <= last) {
      let kb = base + j * rowStride;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot = fma(qs[d], cacheK[kb + d], dot); }
      s = dot * s2;
    }
    scores[lid] = s;
    workgroupBarrier();
    let n = min(WG, last + 1u - j0);
    var mb = m;
    for (var t = 0u; t < n; t++) { mb = max(mb, scores[t]); }
    let corr = exp2(m - mb);
    l *= corr; a0 *= corr; a1 *= corr; a2 *= corr; a3 *= corr;
    for (var t = 0u; t < n; t++) {
      let pt = exp2(scores[t] - mb);
      l += pt;
      let vb = base + (j0 + t) * rowStride;
      if (lid < D) { a0 = fma(pt, cacheV[vb + lid], a0); }
      if (lid + WG < D) { a1 = fma(pt, cacheV[vb + lid + WG], a1); }
      if (lid + 2u * WG < D) { a2 = fma(pt, cacheV[vb + lid + 2u * WG], a2); }
      if (lid + 3u * WG < D) { a3 = fma(pt, cacheV[vb + lid + 3u * WG], a3); }
    }
    m = mb;
    workgroupBarrier();   // the next block overwrites scores
  }
  let ob = (b * p.H + h) * D;
  let inv = 1.0 / l;
  if (lid < D) { out[ob + lid] = a0 * inv; }
  if (lid + WG < D) { out[ob + lid + WG] = a1 * inv; }
  if (lid + 2u * WG < D) { out[ob + lid + 2u * WG] = a2 * inv; }
  if (lid + 3u * WG < D) { out[ob + lid + 3u * WG] = a3 * inv; }
}
