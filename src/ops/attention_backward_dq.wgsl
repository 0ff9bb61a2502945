// Causal grouped-query attention, backward part 1: dq, and delta = rowsum(dout ∘ out) for part 2.
// One thread per query row (b, h, i); probabilities are recomputed from the forward's lse:
//   P_ij  = exp(scale * q_i·k_j - lse_i)
//   dP_ij = dout_i·v_j,   dS_ij = P_ij (dP_ij - delta_i),   delta_i = dout_i·out_i
//   dq_i  = scale * sum_j dS_ij k_j
// Training shapes only: Tq = Tk = kvStride = T. Visible keys: docStart[b,i] <= j <= i.
// q, dout and the dq accumulator live in registers; keys are streamed; nothing T×T is stored.
//
// HEAD_DIM is a module constant prepended by attention.ts.
// Bindings: q, k, v, out, dout, lse, docStart (u32; read only when HAS_DOC), dq, delta, params.
// Layouts: q, out, dout, dq [B, T, H*D]; k, v [B, T, Hkv*D]; lse, delta [B, H, T]; docStart [B, T].

struct Params { B: u32, T: u32, H: u32, Hkv: u32, scale: f32 }

const D: u32 = HEAD_DIM;
const LOG2E: f32 = 1.4426950408889634;
override WG: u32 = 64;
override HAS_DOC: bool = false;

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> out: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> docStart: array<u32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<storage, read_write> delta: array<f32>;
@group(0) @binding(9) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn backward_dq(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.B * p.H * p.T) { return; }
  let i = r % p.T;
  let h = (r / p.T) % p.H;
  let b = r / (p.T * p.H);
  let g = h / (p.H / p.Hkv);
  var first = 0u;
  if (HAS_DOC) { first = docStart[b * p.T + i]; }

  let rowBase = ((b * p.T + i) * p.H + h) * D;
  let qScale = p.scale * LOG2E;
  var qr: array<f32, D>;
  var dor: array<f32, D>;
  var acc: array<f32, D>;
  var dlt = 0.0;
  for (var d = 0u; d < D; d++) {
    qr[d] = q[rowBase + d] * qScale;
    let gr = dout[rowBase + d];
    dor[d] = gr;
    dlt += gr * out[rowBase + d];
    acc[d] = 0.0;
  }
  delta[r] = dlt;
  let lse2 = lse[r] * LOG2E;

  let kvRow = p.Hkv * D;
  let kvBase = b * p.T * kvRow + g * D;
  for (var j = first; j <= i; j++) {
    let kb = kvBase + j * kvRow;
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < D; d++) {
      s += qr[d] * k[kb + d];
      dp += dor[d] * v[kb + d];
    }
    let ds = exp2(s - lse2) * (dp - dlt);
    for (var d = 0u; d < D; d++) { acc[d] += ds * k[kb + d]; }
  }
  for (var d = 0u; d < D; d++) { dq[rowBase + d] = acc[d] * p.scale; }
}
