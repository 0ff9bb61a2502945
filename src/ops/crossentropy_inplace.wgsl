// Cross-entropy whose dlogits overwrite the logits (one read_write binding: WebGPU forbids binding the same
// range twice when one binding is writable). With p.writeGrad = 0 it only reads: the evaluation path, losses only.
// Prepended with crossentropy_common.wgsl, which holds the row body and the contract.
// Bindings: logits [N, V] (read_write; becomes dlogits), targets u32 [N], lossMask f32 [N], losses [N], params.
// Grid: one workgroup per row, folded 2-D: row = wid.x + wid.y * nwg.x.

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<u32>;
@group(0) @binding(2) var<storage, read> lossMask: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn logit(i: u32) -> f32 { return logits[i]; }
fn store_grad(i: u32, g: f32) { logits[i] = g; }

@compute @workgroup_size(WG)
fn forwardBackwardInPlace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  cross_entropy_row(row, lid);
}
