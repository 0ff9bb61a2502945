// Token/position embeddings: gather forward, deterministic scatter-add backward (no float atomics), with float64
// CPU references.
//   embeddingForward(out [N, C], ids u32 [N], table [V, C])       out[n] = table[ids[n]]   (id >= V gives zeros)
//   embeddingBackward(dtable [V, C], dout [N, C], idsCpu [N])      dtable[ids[n]] += dout[n]   (accumulates)
// Backward takes the ids on the CPU (batches are built there): positions are grouped by id with a stable sort,
// uploaded as one compact u32 list, and each touched table row is summed by one thread per channel in increasing
// position order. Rows of dtable whose id does not occur are not touched. V is dtable.size / C.
// Not here: tied output embeddings (that gradient comes from the LM-head matmul).
import type { Gpu, Tensor } from '../gpu/runtime';
import { elementwiseGrid } from './grid';
import { firstElements } from './elementwise';
import forwardWgsl from './embedding.wgsl?raw';
import backwardWgsl from './embedding_backward.wgsl?raw';

const WG = 256;

export function embeddingForward(gpu: Gpu, out: Tensor, ids: Tensor, table: Tensor, N: number, C: number): void {
  if (N === 0 || C === 0) return;
  gpu.dispatch({
    code: forwardWgsl, entryPoint: 'forward', label: 'embedding.forward',
    bindings: [firstElements(ids, N), table, firstElements(out, N * C)],
    params: [N, C, Math.floor(table.size / C)], workgroups: elementwiseGrid(N * C, WG),
  });
}

export function embeddingBackward(gpu: Gpu, dtable: Tensor, dout: Tensor, idsCpu: Uint32Array, N: number, C: number): void {
  if (N === 0 || C === 0) return;
  const V = Math.floor(dtable.size / C);
  const list = groupPositionsById(idsCpu, N, V);
  const U = (list.length - N - 1) / 2;
  const groups = gpu.fromU32([list.length], list, 'embedding.backward.groups');
  gpu.dispatch({
    code: backwardWgsl, entryPoint: 'backward', label: 'embedding.backward',
    bindings: [groups, firstElements(dout, N * C), dtable], params: [U, C], workgroups: elementwiseGrid(U * C, WG),
  });
  gpu.release(groups); // later writes to a reused buffer flush first, so this dispatch still sees the list
}

/**
 * [ unique ids (U, increasing) | starts (U + 1) | positions (N, grouped by id, increasing within a group) ].
 * Counting over the ids that occur: O(N + U log U).
 */
export function groupPositionsById(ids: ArrayLike<number>, N: number, V: number): Uint32Array {
  const counts = new Map<number, number>();
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    if (!(id >= 0 && id < V)) throw new Error(`embeddingBackward: id ${id} at position ${n} is outside [0, ${V})`);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const unique = [...counts.keys()].sort((a, b) => a - b);
  const U = unique.length;
  const list = new Uint32Array(2 * U + 1 + N);
  const next = new Map<number, number>(); // id -> next free slot in the positions section
  let start = 0;
  unique.forEach((id, u) => {
    list[u] = id;
    list[U + u] = start;
    next.set(id, start);
    start += counts.get(id)!;
  });
  list[2 * U] = N;
  const base = 2 * U + 1;
  for (let n = 0; n < N; n++) {
    const slot = next.get(ids[n])!;
    list[base + slot] = n;
    next.set(ids[n], slot + 1);
  }
  return list;
}

// ---- CPU reference (float64) ----------------------------------------------------------------------

export function embeddingForwardCpu(ids: ArrayLike<number>, table: ArrayLike<number>, N: number, C: number): Float64Array {
  const V = Math.floor(table.length / C);
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    if (id >= V) continue;
    for (let c = 0; c < C; c++) out[n * C + c] = table[id * C + c];
  }
  return out;
}

/** The table gradient [V, C] of one backward call (the GPU op adds it to dtable). */
export function embeddingBackwardCpu(dout: ArrayLike<number>, ids: ArrayLike<number>, V: number, N: number, C: number): Float64Array {
  const dtable = new Float64Array(V * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) dtable[ids[n] * C + c] += dout[n * C + c];
  return dtable;
}
