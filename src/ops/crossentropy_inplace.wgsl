// Cross-entropy whose dlogits overwrite the logits: one binding, since WebGPU forbids two bindings of one
// range when either is writable. With p.writeGrad = 0 the logits are only read: the evaluation path (losses only).
// Prepended with crossentropy_common.wgsl (row body, contract).
// Bindings: logits [N, V] (becomes dlogits), targets u32 [N], lossMask f32 [N], losses [N], params.
// Every storage binding is read_write (see crossentropy.wgsl for why).
// The entry points (rowPerWorkgroup, rowPerInvocation) are in crossentropy_common.wgsl.

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> lossMask: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn logit(i: u32) -> f32 { return logits[i]; }
fn store_grad(i: u32, g: f32) { logits[i] = g; }
