// The cosine and sine of a RoPE angle, shared by rope.wgsl and decode_step.wgsl (their modules prepend it).
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
