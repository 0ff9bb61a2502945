// The f16 matmul kernels' operand type (shader-f16; prepended by matmul.ts in place of matmul_f32.wgsl): b is an
// f16 frozen weight read as f16 from `wq` (two per word, element 2j in the low half), op(a) is rounded to f16
// after its row is scaled by a power of two, each product is an f16 multiply and every sum is f32.
// Row scaling: op(a)'s row m is multiplied by 2^rowShift (exact in f32) so that its largest |value| lies in
// [32, 64), and the row's sums by 2^-rowShift after: activations above f16's range (65504) and gradients below its
// normal range (6.1e-5) keep 11 significant bits relative to their row's largest value, and a product with
// |b| < 1024 cannot overflow f16 (matmul.ts F16_MAX_WEIGHT: larger weights take the f32 kernels).
// Not here: which matmuls take this path (matmul.ts: an 'f16' b with f16Math on a device with shader-f16).

enable f16;

alias op_t = f16;
const F16 = true;

fn weightOp(i: u32) -> f16 { return bitcast<vec2<f16>>(wq[i >> 1u])[i & 1u]; }
fn weightQuadOp(i: u32) -> vec4<f16> { return bitcast<vec4<f16>>(vec2<u32>(wq[i >> 1u], wq[(i >> 1u) + 1u])); }

// The shift for a row whose largest |value| has these f32 bits (sign clear): 2^e <= max < 2^(e+1), e = field - 127,
// shift = 5 - e. Zero and subnormal rows (field 0) take the largest shift; Inf and NaN keep their value.
fn rowShift(absMaxBits: u32) -> i32 { return clamp(132 - i32(absMaxBits >> 23u), -126, 126); }
