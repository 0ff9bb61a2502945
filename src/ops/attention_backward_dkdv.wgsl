// Causal grouped-query attention, backward part 2: dk and dv, one thread per key row (b, g, j).
// The thread owns its key row and loops over every query that sees it, in all H/Hkv query heads that
// share kv head g, so the sums need no atomics and the result is deterministic:
//   dv_j = sum_{h in g} sum_i P_ij dout_i
//   dk_j = scale * sum_{h in g} sum_i dS_ij q_i,   dS_ij = P_ij (dout_i·v_j - delta_i)
// with P_ij = exp(scale * q_i·k_j - lse_i) recomputed, delta from part 1 (attention_backward_dq.wgsl).
// Queries that see key j: i >= j with docStart[b,i] <= j. docStart is nondecreasing in i (packing), so
// the loop stops at the first query whose document starts after j.
//
// HEAD_DIM is a module constant prepended by attention.ts.
// Bindings: q, k, v, dout, lse, delta, docStart (u32; read only when HAS_DOC), dk, dv, params.
// Layouts: q, dout [B, T, H*D]; k, v, dk, dv [B, T, Hkv*D]; lse, delta [B, H, T]; docStart [B, T].

struct Params { B: u32, T: u32, H: u32, Hkv: u32, scale: f32 }

const D: u32 = HEAD_DIM;
const LOG2E: f32 = 1.4426950408889634;
override WG: u32 = 64;
override HAS_DOC: bool = false;

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> delta: array<f32>;
@group(0) @binding(6) var<storage, read> docStart: array<u32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
@group(0) @binding(9) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn backward_dkdv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.B * p.Hkv * p.T) { return; }
  let j = r % p.T;
  let g = (r / p.T) % p.Hkv;
  let b = r / (p.T * p.Hkv);
  let group = p.H / p.Hkv;

  let kvBase = ((b * p.T + j) * p.Hkv + g) * D;
  let kScale = p.scale * LOG2E;
  var kr: array<f32, D>;
  var vr: array<f32, D>;
  var dkAcc: array<f32, D>;
  var dvAcc: array<f32, D>;
  for (var d = 0u; d < D; d++) {
    kr[d] = k[kvBase + d] * kScale;
    vr[d] = v[kvBase + d];
    dkAcc[d] = 0.0;
    dvAcc[d] = 0.0;
  }

  // Last query that sees key j (exclusive bound): the end of j's document.
  var end = p.T;
  if (HAS_DOC) {
    for (var i = j + 1u; i < p.T; i++) {
      if (docStart[b * p.T + i] > j) { end = i; break; }
    }
  }

  let qRow = p.H * D;
  for (var hh = 0u; hh < group; hh++) {
    let h = g * group + hh;
    let stat = (b * p.H + h) * p.T;       // lse/delta row of head h
    for (var i = j; i < end; i++) {
      let qb = (b * p.T + i) * qRow + h * D;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < D; d++) {
        s += kr[d] * q[qb + d];
        dp += vr[d] * dout[qb + d];
      }
      let pij = exp2(s - lse[stat + i] * LOG2E);
      let ds = pij * (dp - delta[stat + i]);
      for (var d = 0u; d < D; d++) {
        dvAcc[d] += pij * dout[qb + d];
        dkAcc[d] += ds * q[qb + d];
      }
    }
  }
  for (var d = 0u; d < D; d++) {
    dk[kvBase + d] = dkAcc[d] * p.scale;
    dv[kvBase + d] = dvAcc[d];
  }
}
