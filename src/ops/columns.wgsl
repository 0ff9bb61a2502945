// dst[n, dstCol + c] = src[n, srcCol + c] for n < N, c < width. One thread per copied element.
struct Params { N: u32, width: u32, srcCols: u32, srcCol: u32, dstCols: u32, dstCol: u32 }

@group(0) @binding(0) var<storage, read_write> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.N * p.width) { return; }
  let n = i / p.width;
  let c = i % p.width;
  dst[n * p.dstCols + p.dstCol + c] = src[n * p.srcCols + p.srcCol + c];
}
