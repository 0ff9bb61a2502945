// How the row kernels (norm_forward.wgsl, norm_backward.wgsl) split a row on software adapters: one thread per
// row, summing over C in order, so there is nothing to reduce across threads. On SwiftShader a barrier costs
// more than the parallelism buys (measured 10-60x faster there at C = 64..2048). Same names as
// norm_rows_workgroup.wgsl, which norm.ts prepends instead on GPUs.

override WG: u32 = 32;
const STRIDE = 1u;

fn row_index(wid: vec3<u32>, gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

fn first_column(lid: u32) -> u32 { return 0u; }

fn row_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> { return v; }

fn row_sum(v: f32, lid: u32) -> f32 { return v; }
