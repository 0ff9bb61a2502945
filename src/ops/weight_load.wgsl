// A frozen weight's value by element index, however it is stored (src/ops/weight-storage.ts has the layouts and the
// CPU reference, decodeWeights). Appended to a kernel that declares the weight as `wq: array<u32>`; `scales` is
// the word where a q8/q4 tensor's f16 scales start (weight-storage.ts scalesWord). Only core WGSL: bf16 is the high half
// of an f32, f16 goes through unpack2x16float, so no shader-f16 feature is needed.

override W_STORAGE: u32 = 0u;   // 0 f32, 1 bf16, 2 f16, 3 q8 (int8 codes × f16 scale per 32), 4 q4 (NF4 × f16 absmax per 64)

// Private, not const: WGSL indexes a const array only with a constant index.
var<private> NF4_LEVELS: array<f32, 16> = array<f32, 16>(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0);

// The f16 scale of quantisation block `blk`.
fn blockScale(scales: u32, blk: u32) -> f32 {
  return unpack2x16float(wq[scales + (blk >> 1u)])[blk & 1u];
}

// Values i .. i+3 (i a multiple of 4): whole words, and one quantisation block (blocks are multiples of 4 long).
fn weightQuad(i: u32, scales: u32) -> vec4<f32> {
  switch W_STORAGE {
    case 1u: {
      let x = wq[i >> 1u]; let y = wq[(i >> 1u) + 1u];
      return bitcast<vec4<f32>>(vec4<u32>(x << 16u, x & 0xffff0000u, y << 16u, y & 0xffff0000u));
    }
    case 2u: {
      return vec4<f32>(unpack2x16float(wq[i >> 1u]), unpack2x16float(wq[(i >> 1u) + 1u]));
    }
    case 3u: {
      let x = bitcast<i32>(wq[i >> 2u]);
      let q = vec4<i32>(extractBits(x, 0u, 8u), extractBits(x, 8u, 8u), extractBits(x, 16u, 8u), extractBits(x, 24u, 8u));
      return vec4<f32>(q) * blockScale(scales, i >> 5u);
    }
    case 4u: {
      let x = wq[i >> 3u] >> ((i & 4u) * 4u);
      let q = vec4<f32>(NF4_LEVELS[x & 15u], NF4_LEVELS[(x >> 4u) & 15u], NF4_LEVELS[(x >> 8u) & 15u], NF4_LEVELS[(x >> 12u) & 15u]);
      return q * blockScale(scales, i >> 6u);
    }
    default: {
      return bitcast<vec4<f32>>(vec4<u32>(wq[i], wq[i + 1u], wq[i + 2u], wq[i + 3u]));
    }
  }
}

fn weightAt(i: u32, scales: u32) -> f32 {
  switch W_STORAGE {
    case 1u: {
      let x = wq[i >> 1u];
      return bitcast<f32>(select(x << 16u, x & 0xffff0000u, (i & 1u) == 1u));
    }
    case 2u: {
      return unpack2x16float(wq[i >> 1u])[i & 1u];
    }
    case 3u: {
      let q = extractBits(bitcast<i32>(wq[i >> 2u]), (i & 3u) * 8u, 8u);   // sign-extended int8
      return f32(q) * blockScale(scales, i >> 5u);
    }
    case 4u: {
      let q = extractBits(wq[i >> 3u], (i & 7u) * 4u, 4u);
      return NF4_LEVELS[q] * blockScale(scales, i >> 6u);
    }
    default: {
      return bitcast<f32>(wq[i]);
    }
  }
}
