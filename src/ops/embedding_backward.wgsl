// Embedding scatter-add without float atomics: dtable[id, c] += sum over positions n with ids[n] = id of
// dout[n, c]. The CPU groups positions by id (batches are built there) and uploads one u32 list:
//   groups = [ id_0 .. id_{U-1} | start_0 .. start_U | pos_0 .. pos_{N-1} ]
// where the positions of id_u are pos[start_u .. start_{u+1}), increasing. One thread owns one (u, c) and sums
// its positions in that order, so each gradient row is written by one thread in a fixed order: deterministic.
// dtable may be one row block of the table, starting at row `first` (the list then holds only the block's ids).
// Bindings: groups u32, dout [N, C], dtable [rows, C] (read_write, see elementwise_add.wgsl), params { U, C, first }.

struct Params { U: u32, C: u32, first: u32 }

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read_write> groups: array<u32>;
@group(0) @binding(1) var<storage, read_write> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.U * p.C) { return; }
  let u = i / p.C;
  let c = i - u * p.C;
  let id = groups[u];
  let start = groups[p.U + u];
  let end = groups[p.U + u + 1u];
  let posBase = 2u * p.U + 1u;
  var s = 0.0;
  for (var k = start; k < end; k++) {
    s += dout[groups[posBase + k] * p.C + c];
  }
  dtable[(id - p.first) * p.C + c] += s;
}
