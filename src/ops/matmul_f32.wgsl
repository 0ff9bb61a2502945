// The f32 matmul kernels' operand type (prepended by matmul.ts to matmul_tiled.wgsl, matmul_subgroup.wgsl and the
// blocked kernel): op(a) and op(b) in f32, b through weight_load.wgsl (f32, 16-bit or quantised storage, widened
// exactly), no row scaling. matmul_f16.wgsl defines the same names for the shader-f16 path.

alias op_t = f32;
const F16 = false;

fn weightOp(i: u32) -> f32 { return weightAt(i, p.bScales); }
fn weightQuadOp(i: u32) -> vec4<f32> { return weightQuad(i, p.bScales); }
fn rowShift(absMaxBits: u32) -> i32 { return 0; }
