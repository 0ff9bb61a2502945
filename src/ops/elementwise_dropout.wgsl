// Inverted dropout with a stateless counter-based mask (LoRA dropout on the adapter input).
//   forward:  out[i]  = keep(seed, i) ? inp[i] * scale : 0,   scale = 1 / (1 - p)
//   backward: dinp[i] = keep(seed, i) ? dout[i] * scale : 0   (same entry point, same mask)
// keep(seed, i) = hash(seed, i) >= threshold, threshold = round(p * 2^32) (computed on the CPU), so
// P(keep) = 1 - p up to 2^-32 and p = 0 keeps everything. The mask is a pure function of (seed, i):
// backward regenerates it instead of storing it, and runs are reproducible. The hash is Chris Wellons'
// lowbias32, keyed twice by the seed; elementwise.ts has the identical CPU version.
// Bindings: src, dst (read_write, see elementwise_add.wgsl), params { n, seed, threshold, scale }.

struct Params { n: u32, seed: u32, threshold: u32, scale: f32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn dropout_hash(seed: u32, i: u32) -> u32 {
  let k1 = lowbias32(seed ^ 0x9e3779b9u);
  let k2 = lowbias32(seed + 0x7f4a7c15u);
  return lowbias32(lowbias32(i ^ k1) ^ k2);
}

@compute @workgroup_size(WG)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let keep = dropout_hash(p.seed, i) >= p.threshold;
  dst[i] = select(0.0, src[i] * p.scale, keep);
}
