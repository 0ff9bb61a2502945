// Decoding with a KV cache, one new row per sequence, each sequence at its own position (ragged batches).
//   append:   cacheK[b, pos[b], :] = k[b, :], cacheV[b, pos[b], :] = v[b, :]          (one thread per element)
//   scores:   s[b, h, j] = scale · log2(e) · q[b,h]·cacheK[b,j,g], j in [first, pos[b]] (one thread per (b, h, j))
//   softmax:  s[b, h, j] = 2^(s - max) / sum over the same j                           (one thread per (b, h))
//   weighted: out[b, h, d] = sum_j s[b, h, j] · cacheV[b, j, g, d]                     (one thread per (b, h, d))
// with g = h / (H / Hkv) and first = pos[b] + 1 - window (0 without one). No workgroup memory and no barriers:
// software adapters run a barrier as a switch between every group of invocations, which cost more than the whole
// decode step; each pass is plain parallel work, and the softmax row is short next to the model's matmuls.
//   fused:    append and attend in one pass, one thread per (b, h, 4 head dims): each thread scores every key
//             itself (the new row from k, the others from the cache) in an online softmax and sums its 4 dims of v;
//             the first head of each kv group writes its dims of the new row into the cache. D/4 times the dot
//             products of the passes above, for one dispatch instead of four: the choice for software adapters,
//             where a dispatch costs more than that arithmetic at decoding sizes.
// Scores are in the log2 domain, as in the training kernels (attention.ts).
// Each entry point declares its own bindings, params right after its storage buffers (the runtime's convention;
// WGSL allows a binding number per entry point).
// Layouts: k, v [B, Hkv*D]; q, out [B, H*D]; cacheK, cacheV [B, cap, Hkv*D]; pos u32 [B]; s [B, H, cap].

struct Params { B: u32, H: u32, Hkv: u32, D: u32, cap: u32, window: u32, scale: f32 }

override WG: u32 = 64;
const LOG2E: f32 = 1.4426950408889634;

// append: k, v, pos, cacheK, cacheV, params
@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> posA: array<u32>;
@group(0) @binding(3) var<storage, read_write> cacheKw: array<f32>;
@group(0) @binding(4) var<storage, read_write> cacheVw: array<f32>;
@group(0) @binding(5) var<uniform> pA: Params;
// scores: q, cacheK, pos, s, params
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> cacheK: array<f32>;
@group(0) @binding(2) var<storage, read> posS: array<u32>;
@group(0) @binding(3) var<storage, read_write> s: array<f32>;
@group(0) @binding(4) var<uniform> p4: Params;   // scores and weighted
// softmax: pos, s, params
@group(0) @binding(0) var<storage, read> posM: array<u32>;
@group(0) @binding(1) var<storage, read_write> sm: array<f32>;
@group(0) @binding(2) var<uniform> pM: Params;
// weighted: s, cacheV, pos, out, params
@group(0) @binding(0) var<storage, read> sw: array<f32>;
@group(0) @binding(1) var<storage, read> cacheV: array<f32>;
@group(0) @binding(2) var<storage, read> posW: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// fused: q, k, v, pos, cacheK, cacheV, out, params
@group(0) @binding(0) var<storage, read> qF: array<f32>;
@group(0) @binding(1) var<storage, read> kF: array<f32>;
@group(0) @binding(2) var<storage, read> vF: array<f32>;
@group(0) @binding(3) var<storage, read> posF: array<u32>;
@group(0) @binding(4) var<storage, read_write> cacheKF: array<f32>;
@group(0) @binding(5) var<storage, read_write> cacheVF: array<f32>;
@group(0) @binding(6) var<storage, read_write> outF: array<f32>;
@group(0) @binding(7) var<uniform> pF: Params;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

/** The first key a query at position `last` sees. */
fn firstKey(last: u32, window: u32) -> u32 {
  if (window <= last) { return last + 1u - window; }
  return 0u;
}

@compute @workgroup_size(WG)
fn append(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = pA.Hkv * pA.D;
  let idx = flat(gid, nwg);
  if (idx >= pA.B * w) { return; }
  let b = idx / w;
  let at = (b * pA.cap + posA[b]) * w + idx % w;
  cacheKw[at] = k[idx];
  cacheVw[at] = v[idx];
}

@compute @workgroup_size(WG)
fn scores(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat(gid, nwg);
  if (idx >= p4.B * p4.H * p4.cap) { return; }
  let j = idx % p4.cap;
  let bh = idx / p4.cap;
  let b = bh / p4.H;
  let last = posS[b];
  if (j > last || j < firstKey(last, p4.window)) { return; }
  let g = (bh % p4.H) / (p4.H / p4.Hkv);
  let qb = bh * p4.D;
  let kb = ((b * p4.cap + j) * p4.Hkv + g) * p4.D;
  var dot = 0.0;
  for (var d = 0u; d < p4.D; d++) { dot = fma(q[qb + d], cacheK[kb + d], dot); }
  s[idx] = dot * p4.scale * LOG2E;
}

@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let bh = flat(gid, nwg);
  if (bh >= pM.B * pM.H) { return; }
  let last = posM[bh / pM.H];
  let first = firstKey(last, pM.window);
  let row = bh * pM.cap;
  var m = sm[row + first];
  for (var j = first + 1u; j <= last; j++) { m = max(m, sm[row + j]); }
  var l = 0.0;
  for (var j = first; j <= last; j++) {
    let e = exp2(sm[row + j] - m);
    sm[row + j] = e;
    l += e;
  }
  let inv = 1.0 / l;
  for (var j = first; j <= last; j++) { sm[row + j] *= inv; }
}

@compute @workgroup_size(WG)
fn weighted(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat(gid, nwg);
  if (idx >= p4.B * p4.H * p4.D) { return; }
  let d = idx % p4.D;
  let bh = idx / p4.D;
  let b = bh / p4.H;
  let g = (bh % p4.H) / (p4.H / p4.Hkv);
  let last = posW[b];
  let row = bh * p4.cap;
  var acc = 0.0;
  for (var j = firstKey(last, p4.window); j <= last; j++) {
    acc = fma(sw[row + j], cacheV[((b * p4.cap + j) * p4.Hkv + g) * p4.D + d], acc);
  }
  out[idx] = acc;
}

/** This thread's 4 dims of a v row at `at` (dims past D read as 0). */
fn vQuad(fromCache: bool, at: u32, d0: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (d0 + e < pF.D) {
      if (fromCache) { r[e] = cacheVF[at + d0 + e]; } else { r[e] = vF[at + d0 + e]; }
    }
  }
  return r;
}

@compute @workgroup_size(WG)
fn fused(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let D = pF.D;
  let quads = (D + 3u) / 4u;
  let idx = flat(gid, nwg);
  if (idx >= pF.B * pF.H * quads) { return; }
  let d0 = (idx % quads) * 4u;
  let bh = idx / quads;
  let b = bh / pF.H;
  let h = bh % pF.H;
  let group = pF.H / pF.Hkv;
  let g = h / group;
  let last = posF[b];
  let rowStride = pF.Hkv * D;
  let cacheBase = b * pF.cap * rowStride + g * D;    // cache[b, 0, g, 0]
  let newRow = (b * pF.Hkv + g) * D;                  // k, v [b, g, 0]
  if (h % group == 0u) {
    for (var d = d0; d < min(d0 + 4u, D); d++) {
      cacheKF[cacheBase + last * rowStride + d] = kF[newRow + d];
      cacheVF[cacheBase + last * rowStride + d] = vF[newRow + d];
    }
  }
  let qb = bh * D;
  let s2 = pF.scale * LOG2E;
  var m = -3.0e38;
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var j = firstKey(last, pF.window); j <= last; j++) {
    let fromCache = j < last;
    let kb = select(newRow, cacheBase + j * rowStride, fromCache);
    var dot = 0.0;
    if (fromCache) {
      for (var d = 0u; d < D; d++) { dot = fma(qF[qb + d], cacheKF[kb + d], dot); }
    } else {
      for (var d = 0u; d < D; d++) { dot = fma(qF[qb + d], kF[kb + d], dot); }
    }
    let sj = dot * s2;
    let mj = max(m, sj);
    let corr = exp2(m - mj);
    let pj = exp2(sj - mj);
    l = l * corr + pj;
    acc = acc * corr + pj * vQuad(fromCache, kb, d0);
    m = mj;
  }
  for (var e = 0u; e < 4u; e++) {
    if (d0 + e < D) { outF[qb + d0 + e] = acc[e] / l; }
  }
}
