// Embedding gather: out[n, c] = table[ids[n], c]; rows with an id >= V are written as zeros.
// The table may be one row block (rows [first, first + rows)) of a larger one: ids in the block are gathered;
// the block at first = 0 writes zeros for all other ids, later blocks leave them (see embedding.ts).
// One thread per output element (adjacent threads read adjacent channels of one table row).
// The table is read through weight_load.wgsl (appended by embedding.ts) as `wq`: f32, 16-bit or quantised.
// Bindings: ids u32 [N], table [rows, C], out [N, C] (all read_write, see elementwise_add.wgsl),
// params { N, C, first, rows, scales }.

struct Params { N: u32, C: u32, first: u32, rows: u32, scales: u32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> ids: array<u32>;
@group(0) @binding(1) var<storage, read_write> wq: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N * p.C) { return; }
  let n = i / p.C;
  let c = i - n * p.C;
  let id = ids[n];
  if (id >= p.first && id - p.first < p.rows) {
    out[i] = weightAt((id - p.first) * p.C + c, p.scales);
  } else if (p.first == 0u) {
    out[i] = 0.0;
  }
}
