// One decoding step of a whole small transformer in one dispatch, one workgroup per sequence: embedding → every
// layer [norm → q, k, v (+bias) → per-head q/k norm? → RoPE? → append k, v at pos → attention over keys 0..pos (the
// last `window` of them on a sliding layer) → o → post-norm? → +x] [norm → act(gate)·up or act(up) → down →
// post-norm? → +x] → final norm → head → logits → sampleSequence (sample_sequence.wgsl) picks the token and advances the state.
// The module is activations.wgsl + cos_sin.wgsl + sample_sequence.wgsl + this file, which declares the bindings:
// sampleSequence's (logits, draws, stopIds, seen, state), then pack (u32) and kv (f32 [L, 2, B, cap, Hkv·D]: layer l's
// keys, then its values), then the sampler's params.
// Why one workgroup does it all: the sequences of a step are independent, and at a small model's sizes a dispatch
// costs more than its arithmetic (on a software adapter, tens to hundreds of µs each against a few µs of work), so
// a step that was ~40 dispatches becomes one. Every activation of the sequence lives in workgroup memory (`wsm`);
// the weights are read from `pack` (decode-step.ts lays it out: a u32 header of dimensions and element offsets, then
// the f32 weights, read through bitcast so integer words never pass through float registers).
// Matrices are read 4 weights at a time along their rows (vec4 loads: on a CPU adapter a lane's load costs about the
// same for 4 words as for 1), so the widths they are read along are multiples of 4 (decodeStepFits) and so are the
// offsets of every matrix and of every region of `wsm`.
// Work within a phase is split over the workgroup's threads by output element; norms, RoPE and softmax run one row
// per thread (rows are short here). Loop bounds come from the header, not from override constants, so compilers do
// not unroll them.
// A slot already done does nothing but what sampleSequence does for it (out = NONE, step + 1).

override NORM_LAYER: bool = false;   // LayerNorm (mean and bias) instead of RMSNorm
override NORM_OFFSET: f32 = 0.0;     // RMSNorm's weight offset: x·rstd·(offset + w) (Gemma: 1)
override GATED: bool = true;         // act(gate)·up, or act(up)
override GELU: bool = false;         // the tanh GELU, or SiLU
override CONV1D: bool = false;       // linear weights stored [in, out] (GPT-2) instead of [out, in]; the head is [V, C]
override WS4: u32 = 256;             // vec4s of workgroup memory (decodeStepWorkgroupFloats / 4)

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;  // [B, V]
@group(0) @binding(1) var<storage, read> draws: array<f32>;
@group(0) @binding(2) var<storage, read> stopIds: array<u32>;
@group(0) @binding(3) var<storage, read_write> seen: array<u32>;
@group(0) @binding(4) var<storage, read_write> state: array<u32>;
@group(0) @binding(5) var<storage, read> pack: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> kv: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> wsm: array<vec4<f32>, WS4>;
var<workgroup> seqPos: u32;

// Header words (decode-step.ts HEADER).
const H_L: u32 = 0u;
const H_C: u32 = 1u;
const H_H: u32 = 2u;
const H_HKV: u32 = 3u;
const H_D: u32 = 4u;
const H_F: u32 = 5u;
const H_CAP: u32 = 6u;
const H_MAXPOS: u32 = 7u;
const H_EPS: u32 = 8u;
const H_EMBED_SCALE: u32 = 9u;
const H_EMBED: u32 = 10u;
const H_POSITIONS: u32 = 11u;
const H_FINAL_NORM: u32 = 12u;   // weight, bias
const H_HEAD: u32 = 14u;
const HEADER: u32 = 16u;
// Layer words (decode-step.ts LAYER), at HEADER + l·LAYER.
const L_ATTN_NORM: u32 = 0u;     // weight, bias
const L_Q: u32 = 2u;             // at, ld, bias
const L_K: u32 = 5u;
const L_V: u32 = 8u;
const L_Q_NORM: u32 = 11u;       // weight (NONE: no norm), bias
const L_K_NORM: u32 = 13u;
const L_O: u32 = 15u;
const L_POST_ATTN_NORM: u32 = 18u;
const L_MLP_NORM: u32 = 20u;
const L_GATE: u32 = 22u;
const L_UP: u32 = 25u;
const L_DOWN: u32 = 28u;
const L_POST_MLP_NORM: u32 = 31u;
const L_INV_FREQ: u32 = 33u;     // NONE: no RoPE
const L_WINDOW: u32 = 34u;       // NONE: every earlier key
const L_SCALE: u32 = 35u;        // f32 bits
const LAYER: u32 = 36u;

fn word(i: u32) -> u32 { return pack[i >> 2u][i & 3u]; }
fn wt(i: u32) -> f32 { return bitcast<f32>(word(i)); }
/** Weights i .. i + 3 (i a multiple of 4). */
fn wt4(i: u32) -> vec4<f32> { return bitcast<vec4<f32>>(pack[i >> 2u]); }
fn ws(i: u32) -> f32 { return wsm[i >> 2u][i & 3u]; }
fn setWs(i: u32, v: f32) { wsm[i >> 2u][i & 3u] = v; }

/** Σ_i wsm[x + i]·W[o, i] over i < n: row o of W [out, in] at m with row stride ld, 4 weights a load. */
fn rowDot(m: u32, ld: u32, x: u32, n: u32, o: u32) -> f32 {
  var acc = vec4<f32>(0.0);
  let r = m + o * ld;
  for (var i = 0u; i < n; i += 4u) { acc = fma(wsm[(x + i) >> 2u], wt4(r + i), acc); }
  return acc.x + acc.y + acc.z + acc.w;
}

/** Σ_i wsm[x + i]·W[i, o .. o + 3] over i < n: four columns of W [in, out] at m with row stride ld (o a multiple of 4). */
fn columnDot(m: u32, ld: u32, x: u32, n: u32, o: u32) -> vec4<f32> {
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < n; i++) { acc = fma(vec4<f32>(ws(x + i)), wt4(m + i * ld + o), acc); }
  return acc;
}

/** wsm[y + o] = x·W + bias[o] for o < nOut, W the linear whose words start at header/layer word `slot`. */
fn linear(slot: u32, x: u32, nIn: u32, y: u32, nOut: u32, lid: u32) {
  let m = word(slot);
  let ld = word(slot + 1u);
  let bias = word(slot + 2u);
  if (CONV1D) {
    for (var o = 4u * lid; o < nOut; o += 4u * WG) {
      var acc = columnDot(m, ld, x, nIn, o);
      if (bias != NONE) { acc += vec4<f32>(wt(bias + o), wt(bias + o + 1u), wt(bias + o + 2u), wt(bias + o + 3u)); }
      wsm[(y + o) >> 2u] = acc;
    }
  } else {
    for (var o = lid; o < nOut; o += WG) {
      var acc = rowDot(m, ld, x, nIn, o);
      if (bias != NONE) { acc += wt(bias + o); }
      setWs(y + o, acc);
    }
  }
}

/** wsm[dst .. dst + n) = the recipe's norm of wsm[src .. src + n) (dst may be src), one thread's work. */
fn normRow(src: u32, dst: u32, n: u32, slot: u32, eps: f32) {
  let w = word(slot);
  let b = word(slot + 1u);
  var mean = 0.0;
  if (NORM_LAYER) {
    var s = 0.0;
    for (var i = 0u; i < n; i++) { s += ws(src + i); }
    mean = s / f32(n);
  }
  var ss = 0.0;
  for (var i = 0u; i < n; i++) { let d = ws(src + i) - mean; ss = fma(d, d, ss); }
  let rstd = inverseSqrt(ss / f32(n) + eps);
  for (var i = 0u; i < n; i++) {
    let y = (ws(src + i) - mean) * rstd;
    if (NORM_LAYER) { setWs(dst + i, y * wt(w + i) + wt(b + i)); } else { setWs(dst + i, y * (NORM_OFFSET + wt(w + i))); }
  }
}

/** x += post?(y) over C elements: the residual add of a sub-layer whose output is wsm[y ..]. */
fn residual(x: u32, y: u32, C: u32, slot: u32, eps: f32, lid: u32) {
  if (word(slot) != NONE) {
    if (lid == 0u) { normRow(y, y, C, slot, eps); }
    workgroupBarrier();
  }
  for (var i = lid; 4u * i < C; i += WG) { wsm[(x >> 2u) + i] += wsm[(y >> 2u) + i]; }
  workgroupBarrier();
}

fn activation(x: f32) -> f32 {
  if (GELU) { return gelu(x); }
  return silu(x);
}

@compute @workgroup_size(WG)
fn step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  let s = p.stride;
  if (lid == 0u) { doneFlag = state[DONE * s + b]; seqPos = state[POS * s + b]; }
  if (workgroupUniformLoad(&doneFlag) != 0u) {
    if (lid == 0u) { state[OUT * s + b] = NONE; state[STEP * s + b] += 1u; }
    return;
  }
  let pos = workgroupUniformLoad(&seqPos);
  let L = word(H_L);
  let C = word(H_C);
  let H = word(H_H);
  let Hkv = word(H_HKV);
  let D = word(H_D);
  let F = word(H_F);
  let cap = word(H_CAP);
  let eps = wt(H_EPS);
  let qDim = H * D;
  let kvDim = Hkv * D;
  let group = H / Hkv;
  // Regions of wsm (element offsets, multiples of 4): the residual x, the normed input n, q, k, v, the attention
  // output a, a sub-layer's output y, and z: the scores [H, maxPositions] in attention, the MLP's gate and up [2, F]
  // after it.
  let X = 0u;
  let N = X + C;
  let Q = N + C;
  let K = Q + qDim;
  let V = K + kvDim;
  let A = V + kvDim;
  let Y = A + qDim;
  let Z = Y + C;
  let S = word(H_MAXPOS);

  let id = state[IDS * s + b];
  let positions = word(H_POSITIONS);
  for (var i = lid; i < C; i += WG) {
    var x = wt(word(H_EMBED) + id * C + i) * wt(H_EMBED_SCALE);
    if (positions != NONE) { x += wt(positions + pos * C + i); }
    setWs(X + i, x);
  }
  workgroupBarrier();

  for (var l = 0u; l < L; l++) {
    let r = HEADER + l * LAYER;
    // Attention.
    if (lid == 0u) { normRow(X, N, C, r + L_ATTN_NORM, eps); }
    workgroupBarrier();
    linear(r + L_Q, N, C, Q, qDim, lid);
    linear(r + L_K, N, C, K, kvDim, lid);
    linear(r + L_V, N, C, V, kvDim, lid);
    workgroupBarrier();
    let invFreq = word(r + L_INV_FREQ);
    for (var h = lid; h < H + Hkv; h += WG) {                       // q heads, then k heads
      let isQ = h < H;
      let at = select(K + (h - H) * D, Q + h * D, isQ);
      let normSlot = select(r + L_K_NORM, r + L_Q_NORM, isQ);
      if (word(normSlot) != NONE) { normRow(at, at, D, normSlot, eps); }
      if (invFreq != NONE) {
        let half = D / 2u;
        for (var i = 0u; i < half; i++) {
          let cs = cos_sin(f32(pos) * wt(invFreq + i));
          let x1 = ws(at + i);
          let x2 = ws(at + i + half);
          setWs(at + i, x1 * cs.x - x2 * cs.y);
          setWs(at + i + half, x2 * cs.x + x1 * cs.y);
        }
      }
    }
    workgroupBarrier();
    let keys = ((2u * l) * p.B + b) * cap * kvDim;                  // kv[l, 0, b, 0, 0]
    let values = keys + p.B * cap * kvDim;                          // kv[l, 1, b, 0, 0]
    for (var i = lid; i < kvDim; i += WG) {
      kv[keys + pos * kvDim + i] = ws(K + i);
      kv[values + pos * kvDim + i] = ws(V + i);
    }
    let window = word(r + L_WINDOW);
    var first = 0u;
    if (window != NONE && pos + 1u > window) { first = pos + 1u - window; }
    let n = pos + 1u - first;
    let scale = wt(r + L_SCALE);
    for (var e = lid; e < H * n; e += WG) {                         // scores: one (head, key) each
      let h = e / n;
      let j = first + e % n;
      let q = Q + h * D;
      let g = (h / group) * D;
      var dot = 0.0;
      if (j == pos) {
        for (var d = 0u; d < D; d++) { dot = fma(ws(q + d), ws(K + g + d), dot); }
      } else {
        let k = keys + j * kvDim + g;
        for (var d = 0u; d < D; d++) { dot = fma(ws(q + d), kv[k + d], dot); }
      }
      setWs(Z + h * S + j - first, dot * scale);
    }
    workgroupBarrier();
    for (var h = lid; h < H; h += WG) {                             // softmax: one head each
      let z = Z + h * S;
      var m = -3.0e38;
      for (var j = 0u; j < n; j++) { m = max(m, ws(z + j)); }
      var sum = 0.0;
      for (var j = 0u; j < n; j++) { let e = exp(ws(z + j) - m); setWs(z + j, e); sum += e; }
      for (var j = 0u; j < n; j++) { setWs(z + j, ws(z + j) / sum); }
    }
    workgroupBarrier();
    for (var e = lid; e < qDim; e += WG) {                          // weighted values: one (head, dim) each
      let h = e / D;
      let d = e % D;
      let z = Z + h * S;
      let g = (h / group) * D + d;
      var acc = 0.0;
      for (var j = first; j < pos; j++) { acc = fma(ws(z + j - first), kv[values + j * kvDim + g], acc); }
      setWs(A + e, fma(ws(z + pos - first), ws(V + g), acc));
    }
    workgroupBarrier();
    linear(r + L_O, A, qDim, Y, C, lid);
    workgroupBarrier();
    residual(X, Y, C, r + L_POST_ATTN_NORM, eps, lid);
    // MLP.
    if (lid == 0u) { normRow(X, N, C, r + L_MLP_NORM, eps); }
    workgroupBarrier();
    linear(r + L_UP, N, C, Z, F, lid);
    if (GATED) { linear(r + L_GATE, N, C, Z + F, F, lid); }
    workgroupBarrier();
    for (var f = lid; f < F; f += WG) {
      if (GATED) { setWs(Z + f, activation(ws(Z + F + f)) * ws(Z + f)); } else { setWs(Z + f, activation(ws(Z + f))); }
    }
    workgroupBarrier();
    linear(r + L_DOWN, Z, F, Y, C, lid);
    workgroupBarrier();
    residual(X, Y, C, r + L_POST_MLP_NORM, eps, lid);
  }

  if (lid == 0u) { normRow(X, N, C, H_FINAL_NORM, eps); }
  workgroupBarrier();
  let head = word(H_HEAD);
  for (var v = lid; v < p.V; v += WG) { logits[b * p.V + v] = rowDot(head, C, N, C, v); }
  storageBarrier();
  sampleSequence(b, lid);
}
