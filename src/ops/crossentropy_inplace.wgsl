// Cross-entropy whose dlogits overwrite the logits: one binding, since WebGPU forbids two bindings of one
// range when either is writable. With p.writeGrad = 0 the logits are only read: the evaluation path (losses only).
// Prepended with crossentropy_common.wgsl (row body, contract).
// Bindings: logits [N, V] (becomes dlogits), targets u32 [N], lossMask f32 [N], losses [N], params.
// Every storage binding is read_write (see crossentropy.wgsl for why).
// Entry points (see crossentropy_common.wgsl): rowPerWorkgroup, row = wid.x + wid.y * nwg.x;
// rowPerInvocation, row = the flat invocation index. Both grids fold to 2-D past 65535 workgroups.

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> lossMask: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn logit(i: u32) -> f32 { return logits[i]; }
fn store_grad(i: u32, g: f32) { logits[i] = g; }

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
