// Causal grouped-query attention, forward: flash-style online softmax, one thread per query row.
//   out[b,i,h,:] = sum_j softmax_j(scale * q[b,i,h,:]·k[b,j,g,:]) v[b,j,g,:],   g = h / (H / Hkv)
//   lse[b,h,i]   = log sum_j exp(scale * q·k_j)            (natural log; saved for backward)
// Visible keys of row i: docStart[b,i] <= j <= Tk - Tq + i  (docStart = 0 without packing).
// The row's q and its running output live in registers (HEAD_DIM each); keys are streamed in blocks of
// BK with one rescale per block. No score matrix exists anywhere; no workgroup memory, no barriers
// (SwiftShader pays dearly for barriers; on real GPUs neighbouring threads share K/V through the cache).
//
// HEAD_DIM is a module constant prepended by attention.ts (private arrays need a constant size).
// Bindings: q, k, v, docStart (u32; read only when HAS_DOC), out, lse, params.
// Layouts: q, out [B, Tq, H*D]; k, v [B, kvStride, Hkv*D]; lse [B, H, Tq]; docStart [B, Tq].
// Thread r = (b*H + h)*Tq + i, so neighbouring threads walk the same keys.

struct Params { B: u32, Tq: u32, Tk: u32, H: u32, Hkv: u32, kvStride: u32, scale: f32 }

const D: u32 = HEAD_DIM;
const BK: u32 = 8u;                 // keys per online-softmax block
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;
const NEG_BIG: f32 = -3.0e38;       // stands in for -inf (WGSL has no infinity literal)
override WG: u32 = 64;
override HAS_DOC: bool = false;

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> docStart: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.B * p.H * p.Tq) { return; }
  let i = r % p.Tq;
  let h = (r / p.Tq) % p.H;
  let b = r / (p.Tq * p.H);
  let g = h / (p.H / p.Hkv);
  let last = p.Tk - p.Tq + i;       // absolute position of this query: the last key it sees
  var first = 0u;
  if (HAS_DOC) { first = docStart[b * p.Tq + i]; }

  // Scores in the log2 domain: s = q·k * scale * log2(e), so exp becomes exp2.
  let qBase = ((b * p.Tq + i) * p.H + h) * D;
  let qScale = p.scale * LOG2E;
  var qr: array<f32, D>;
  var acc: array<f32, D>;
  for (var d = 0u; d < D; d++) { qr[d] = q[qBase + d] * qScale; acc[d] = 0.0; }

  let kvRow = p.Hkv * D;
  let kvBase = b * p.kvStride * kvRow + g * D;
  var m = NEG_BIG;
  var l = 0.0;
  for (var j0 = first; j0 <= last; j0 += BK) {
    let n = min(BK, last + 1u - j0);
    var s: array<f32, BK>;
    var mBlock = m;
    for (var t = 0u; t < n; t++) {
      let kb = kvBase + (j0 + t) * kvRow;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot += qr[d] * k[kb + d]; }
      s[t] = dot;
      mBlock = max(mBlock, dot);
    }
    if (mBlock > m) {
      let alpha = exp2(m - mBlock);
      l *= alpha;
      for (var d = 0u; d < D; d++) { acc[d] *= alpha; }
      m = mBlock;
    }
    for (var t = 0u; t < n; t++) {
      let pj = exp2(s[t] - m);
      l += pj;
      let vb = kvBase + (j0 + t) * kvRow;
      for (var d = 0u; d < D; d++) { acc[d] += pj * v[vb + d]; }
    }
  }

  let inv = 1.0 / l;
  for (var d = 0u; d < D; d++) { out[qBase + d] = acc[d] * inv; }
  lse[r] = (m + log2(l)) * LN2;
}
