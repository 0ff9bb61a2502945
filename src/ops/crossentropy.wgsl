// Cross-entropy with a separate dlogits tensor. Prepended with crossentropy_common.wgsl (row body, contract).
// Bindings: logits [N, V], targets u32 [N], lossMask f32 [N], losses [N], dlogits [N, V], params.
// Every storage binding is read_write, as in all kernels here: WebGPU rejects a read-only and a writable
// binding of the same GPUBuffer in one dispatch, and callers pass disjoint views of one flat table.
// Entry points (see crossentropy_common.wgsl): rowPerWorkgroup, row = wid.x + wid.y * nwg.x;
// rowPerInvocation, row = the flat invocation index. Both grids fold to 2-D past 65535 workgroups.

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> lossMask: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn logit(i: u32) -> f32 { return logits[i]; }
fn store_grad(i: u32, g: f32) { dlogits[i] = g; }

@compute @workgroup_size(WG)
fn rowPerWorkgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  cross_entropy_row(row, lid);
}

@compute @workgroup_size(WG)
fn rowPerInvocation(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.N) { return; }
  cross_entropy_row_serial(row);
}
