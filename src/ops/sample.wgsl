// Choosing each sequence's next token on the GPU, one workgroup per sequence: the CPU sampler's rules
// (sample.ts sampleCpu) on a row of logits [V], so only the token id goes back to the host.
//   repetition penalty (PENALTY) on the tokens in the sequence's `seen` bitset → greedy (GREEDY: argmax, lowest
//   index on ties) or: top-k cut → softmax at temperature → top-p cut → the token where the running sum of the
//   kept probabilities, in order of logit (ties by index), first exceeds draw · their total.
// No sort: the order is (logit descending, index ascending); a cut is an element c = (key, index) of that order
// (key: the logit's bits mapped so that u32 order is float order), and "the first element whose running sum of
// weights passes a target" is found by bisection: on the key (32 passes over the row, each a sum of the weights of
// elements with key >= mid), then on the index among the elements with that key. Weights are 1 (top-k: the k-th
// element) or exp((logit - max) / temperature) (top-p, the draw).
// Each thread owns the row elements j = lid + n·WG in every pass (the penalty pass writes only its own), so only
// the reductions need barriers; a reduction writes WG partials and every thread adds them all (two barriers).
// The sequence's state (one u32 buffer, sections of `stride`): ids (next input), pos (its position), done,
// left (tokens it may still make), out (the token made this step, or NONE when the sequence was already done),
// step (steps its slot has run: the draw of a step is row step % drawRows of draws, so the host can write the draws
// of several steps before submitting them together).
// A token ends its sequence (done = 1, pos kept) when it is a stop id or the last one allowed; otherwise pos + 1.
// Bindings: logits (penalised in place), draws, stopIds, seen, state, params.

struct Params { B: u32, V: u32, topK: u32, nStop: u32, stride: u32, words: u32, drawRows: u32, temperature: f32, topP: f32, penalty: f32 }

override WG: u32 = 64;
override GREEDY: bool = true;
override PENALTY: bool = false;

const IDS: u32 = 0u;
const POS: u32 = 1u;
const DONE: u32 = 2u;
const LEFT: u32 = 3u;
const OUT: u32 = 4u;
const STEP: u32 = 5u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;  // [B, V]
@group(0) @binding(1) var<storage, read> draws: array<f32>;         // [drawRows, B] uniform in [0, 1)
@group(0) @binding(2) var<storage, read> stopIds: array<u32>;       // [max(nStop, 1)]
@group(0) @binding(3) var<storage, read_write> seen: array<u32>;    // [B, words] bitset (PENALTY)
@group(0) @binding(4) var<storage, read_write> state: array<u32>;   // [6, stride]
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> redF: array<f32, WG>;
var<workgroup> redU: array<u32, WG>;
var<workgroup> redI: array<u32, WG>;
var<workgroup> doneFlag: u32;

// Per invocation: this sequence's row, its max logit, and the cuts that bound the kept set.
var<private> row: u32;
var<private> maxLogit: f32;
var<private> cutK: vec2<u32>;   // the last element top-k keeps (everything: (0, NONE))
var<private> cutP: vec2<u32>;   // the last element top-p keeps

fn orderKey(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  if ((u & 0x80000000u) != 0u) { return ~u; }
  return u | 0x80000000u;
}

/** Element (key, j) comes no later than cut c in the order. */
fn upTo(key: u32, j: u32, c: vec2<u32>) -> bool {
  return key > c.x || (key == c.x && j <= c.y);
}

fn sumAll(x: f32, lid: u32) -> f32 {
  redF[lid] = x;
  workgroupBarrier();
  var s = 0.0;
  for (var t = 0u; t < WG; t++) { s += redF[t]; }
  workgroupBarrier();
  return s;
}

/** Element a comes before b in the order (higher key, or the same key and a lower index). */
fn precedes(a: vec2<u32>, b: vec2<u32>) -> bool {
  return a.x > b.x || (a.x == b.x && a.y < b.y);
}

/** Of c and best (index NONE: no element), the first in order, or with `last` the last. */
fn keep(c: vec2<u32>, best: vec2<u32>, last: bool) -> vec2<u32> {
  if (c.y != NONE && (best.y == NONE || select(precedes(c, best), precedes(best, c), last))) { return c; }
  return best;
}

/** The first (or last) element in order among every thread's candidate. */
fn extreme(c: vec2<u32>, last: bool, lid: u32) -> vec2<u32> {
  redU[lid] = c.x;
  redI[lid] = c.y;
  workgroupBarrier();
  var best = vec2<u32>(0u, NONE);
  for (var t = 0u; t < WG; t++) { best = keep(vec2<u32>(redU[t], redI[t]), best, last); }
  workgroupBarrier();
  return best;
}

/** Sum of the weights (1, or the softmax numerator) of the kept elements no later than cut c. */
fn massUpTo(c: vec2<u32>, mass: bool, lid: u32) -> f32 {
  var s = 0.0;
  for (var j = lid; j < p.V; j += WG) {
    let l = logits[row + j];
    let key = orderKey(l);
    if (upTo(key, j, c) && upTo(key, j, cutK) && upTo(key, j, cutP)) {
      if (mass) { s += exp((l - maxLogit) / p.temperature); } else { s += 1.0; }
    }
  }
  return sumAll(s, lid);
}

/** a > goal, or a >= goal; an empty prefix (a = 0) never passes, so a goal of 0 finds the first element. */
fn passes(a: f32, goal: f32, inclusive: bool) -> bool {
  return select(a > goal, a >= goal, inclusive) && a > 0.0;
}

/** The first kept element whose running weight passes target (> or, inclusive, >=). */
fn selectFirst(mass: bool, goal: f32, inclusive: bool, lid: u32) -> vec2<u32> {
  var lo = 0u;
  var hi = NONE;
  for (var it = 0u; it < 32u; it++) {
    let d = hi - lo;
    let mid = lo + (d >> 1u) + (d & 1u);
    let a = massUpTo(vec2<u32>(mid, NONE), mass, lid);
    if (lo < hi) { if (passes(a, goal, inclusive)) { lo = mid; } else { hi = mid - 1u; } }
  }
  var ilo = 0u;
  var ihi = p.V - 1u;
  let iters = 32u - countLeadingZeros(p.V);
  for (var it = 0u; it < iters; it++) {
    let mid = ilo + ((ihi - ilo) >> 1u);
    let a = massUpTo(vec2<u32>(lo, mid), mass, lid);
    if (ilo < ihi) { if (passes(a, goal, inclusive)) { ihi = mid; } else { ilo = mid + 1u; } }
  }
  return vec2<u32>(lo, ilo);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  let s = p.stride;
  if (lid == 0u) { doneFlag = state[DONE * s + b]; }
  if (workgroupUniformLoad(&doneFlag) != 0u) {
    if (lid == 0u) { state[OUT * s + b] = NONE; state[STEP * s + b] += 1u; }
    return;
  }
  row = b * p.V;
  if (PENALTY) {
    for (var j = lid; j < p.V; j += WG) {
      if (((seen[b * p.words + j / 32u] >> (j % 32u)) & 1u) != 0u) {
        let v = logits[row + j];
        logits[row + j] = select(v / p.penalty, v * p.penalty, v < 0.0);
      }
    }
  }
  // The first element of the order: the argmax.
  var best = vec2<u32>(0u, NONE);
  for (var j = lid; j < p.V; j += WG) { best = keep(vec2<u32>(orderKey(logits[row + j]), j), best, false); }
  let top = extreme(best, false, lid);
  var token = top.y;
  if (!GREEDY) {
    maxLogit = bitcast<f32>(select(~top.x, top.x & 0x7fffffffu, (top.x & 0x80000000u) != 0u));   // orderKey inverted
    let all = vec2<u32>(0u, NONE);
    cutK = all;
    cutP = all;
    if (p.topK > 0u && p.topK < p.V) { cutK = selectFirst(false, f32(p.topK - 1u), false, lid); }
    if (p.topP < 1.0) { cutP = selectFirst(true, p.topP * massUpTo(all, true, lid), true, lid); }
    let total = massUpTo(all, true, lid);
    let draw = min(draws[(state[STEP * s + b] % p.drawRows) * p.B + b], 0.99999994);
    let chosen = selectFirst(true, draw * total, false, lid);
    // The draw passed the whole kept mass only by rounding: the CPU sampler then takes the last kept element.
    var last = vec2<u32>(0u, NONE);
    for (var j = lid; j < p.V; j += WG) {
      let key = orderKey(logits[row + j]);
      if (upTo(key, j, cutK) && upTo(key, j, cutP)) { last = keep(vec2<u32>(key, j), last, true); }
    }
    let fallback = extreme(last, true, lid);
    token = select(fallback.y, chosen.y, total > draw * total);
  }
  if (lid == 0u) {
    state[OUT * s + b] = token;
    state[IDS * s + b] = token;
    state[STEP * s + b] += 1u;
    if (PENALTY) { seen[b * p.words + token / 32u] |= 1u << (token % 32u); }
    let left = state[LEFT * s + b] - 1u;
    state[LEFT * s + b] = left;
    var stop = left == 0u;
    for (var i = 0u; i < p.nStop; i++) { if (stopIds[i] == token) { stop = true; } }
    if (stop) { state[DONE * s + b] = 1u; } else { state[POS * s + b] += 1u; }
  }
}
