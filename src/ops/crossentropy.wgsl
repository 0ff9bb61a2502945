// Cross-entropy with a separate dlogits tensor. Prepended with crossentropy_common.wgsl (row body, contract).
// Bindings: logits [N, V], targets u32 [N], lossMask f32 [N], losses [N], dlogits [N, V], params.
// Every storage binding is read_write, as in all kernels here: WebGPU rejects a read-only and a writable
// binding of the same GPUBuffer in one dispatch, and callers pass disjoint views of one flat table.
// The entry points (rowPerWorkgroup, rowPerInvocation) are in crossentropy_common.wgsl.

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> lossMask: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn logit(i: u32) -> f32 { return logits[i]; }
fn store_grad(i: u32, g: f32) { dlogits[i] = g; }
