// Rotary position embeddings, Hugging Face "rotate-half" convention, one thread per rotated pair.
// For each row (b, t), head h and i < D/2, with x = inp[b, t, h*D : (h+1)*D]:
//   a = f32(pos) * invFreq[i]                     (one f32 product, as HF's inv_freq @ positions)
//   forward:  out[i] = x[i] cos a - x[i + D/2] sin a,   out[i + D/2] = x[i + D/2] cos a + x[i] sin a
//   backward: the same with -a (the transpose of a rotation is the rotation back)
// pos = posOffset + t, or positions[b*T + t] when HAS_POS (packing). invFreq [D/2] comes from the CPU,
// rounded to f32 exactly as HF computes it (rope.ts). cos/sin are computed here with an explicit range
// reduction and polynomials, because WGSL's built-in sin/cos only promise 2^-11 absolute error on
// [-pi, pi] and nothing outside it, and angles reach thousands of radians.
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

// (cos a, sin a) for a >= 0 up to ~1e5, to about 1 ulp (cephes sinf/cosf).
// a = k*(pi/2) + r with |r| <= pi/4; pi/2 split in three parts (Cody-Waite) so k*PIO2_1 is exact.
const TWO_OVER_PI: f32 = 0.6366197723675814;
const PIO2_1: f32 = 1.5703125;
const PIO2_2: f32 = 4.837512969970703125e-4;
const PIO2_3: f32 = 7.549789954891882e-8;

fn cos_sin(a: f32) -> vec2<f32> {
  let k = round(a * TWO_OVER_PI);
  var r = fma(-k, PIO2_1, a);
  r = fma(-k, PIO2_2, r);
  r = fma(-k, PIO2_3, r);
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  switch (u32(k) & 3u) {
    case 0u: { return vec2<f32>(c, s); }
    case 1u: { return vec2<f32>(-s, c); }
    case 2u: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

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
