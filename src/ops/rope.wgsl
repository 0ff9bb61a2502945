// Rotary position embeddings, Hugging Face "rotate-half" convention, one thread per rotated pair.
// For each row (b, t), head h and i < D/2, with x = inp[b, t, h*D : (h+1)*D]:
//   a = f32(pos) * invFreq[i]                     (one f32 product, as HF's inv_freq @ positions)
//   forward:  out[i] = x[i] cos a - x[i + D/2] sin a,   out[i + D/2] = x[i + D/2] cos a + x[i] sin a
//   backward: the same with -a (the transpose of a rotation is the rotation back)
// pos = posOffset + t, or positions[b*T + t] when HAS_POS (packing). invFreq [D/2] comes from the CPU,
// rounded to f32 exactly as HF computes it (rope.ts). cos/sin are computed here with an explicit range
// reduction and polynomials (cos_sin.wgsl, prepended by rope.ts), because WGSL's built-in sin/cos only promise
// 2^-11 absolute error on [-pi, pi] and nothing outside it, and angles reach thousands of radians.
// Bindings: inp, invFreq, positions (u32; read only when HAS_POS), out, params.
// Layouts: inp, out [B, T, nHeads*D]; positions [B*T].

struct Params { B: u32, T: u32, nHeads: u32, half: u32, posOffset: u32 }

override WG: u32 = 256;
override HAS_POS: bool = false;

@group(0) @binding(0) var<storage, read> inp: array<f32>;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn rotate(gid: vec3<u32>, nwg: vec3<u32>, direction: f32) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.B * p.T * p.nHeads * p.half) { return; }
  let i = idx % p.half;
  let head = idx / p.half;               // (b*T + t)*nHeads + h
  let row = head / p.nHeads;             // b*T + t
  var pos = p.posOffset + row % p.T;
  if (HAS_POS) { pos = positions[row]; }
  let cs = cos_sin(f32(pos) * invFreq[i]);
  let sn = direction * cs.y;
  let lo = head * 2u * p.half + i;
  let hi = lo + p.half;
  let x1 = inp[lo];
  let x2 = inp[hi];
  out[lo] = x1 * cs.x - x2 * sn;
  out[hi] = x2 * cs.x + x1 * sn;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  rotate(gid, nwg, 1.0);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  rotate(gid, nwg, -1.0);
}
