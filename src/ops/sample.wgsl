// The sampling kernel: one workgroup per sequence runs sampleSequence (sample_sequence.wgsl, prepended by sample.ts).
// Bindings: logits (penalised in place), draws, stopIds, seen, state, params.

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;  // [B, V]
@group(0) @binding(1) var<storage, read> draws: array<f32>;         // [drawRows, B] uniform in [0, 1)
@group(0) @binding(2) var<storage, read> stopIds: array<u32>;       // [max(nStop, 1)]
@group(0) @binding(3) var<storage, read_write> seen: array<u32>;    // [B, words] bitset (PENALTY)
@group(0) @binding(4) var<storage, read_write> state: array<u32>;   // [6, stride]
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  sampleSequence(wid.x, lid);
}
