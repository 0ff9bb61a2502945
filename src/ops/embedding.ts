// Token/position embeddings: gather forward, deterministic scatter-add backward (no float atomics), with float64
// CPU references.
//   embeddingForward(out [N, C], ids u32 [N], table [V, C])       out[n] = table[ids[n]]   (id >= V gives zeros)
//   embeddingBackward(dtable [V, C], dout [N, C], idsCpu [N])      dtable[ids[n]] += dout[n]   (accumulates)
// Backward takes the ids on the CPU (batches are built there): positions are grouped by id with a stable sort,
// uploaded as one compact u32 list, and each touched table row is summed by one thread per channel in increasing
// position order. Rows of dtable whose id does not occur are not touched. V is dtable.size / C.
// A table larger than one storage binding is stored in row blocks (src/model/chunks.ts) and each call handles
// one block: `first` is the block's first row; the table rows are table.size / C. The block at first = 0 writes
// zeros for every id outside it, later blocks write only their own ids, so one call per block in order gathers
// the whole table; backward adds only the ids of its block.
// The forward's table may be a frozen weight in 16-bit or quantised storage (src/ops/weight-storage.ts): then `rows`
// says how many rows it holds. Backward's dtable is f32 (only a trained table has a gradient).
// Not here: tied output embeddings (that gradient comes from the LM-head matmul).
import type { Gpu, Tensor } from '../gpu/runtime';
import { scalesWord, STORAGE_CODE, type WeightStorage } from './weight-storage';
import weightLoadWgsl from './weight_load.wgsl?raw';
import { elementwiseGrid } from './grid';
import { firstElements } from './elementwise';
import forwardWgsl from './embedding.wgsl?raw';
import backwardWgsl from './embedding_backward.wgsl?raw';

const WG = 256;

const FORWARD_WGSL = `${forwardWgsl}\n${weightLoadWgsl}`;

/**
 * out [N, C] = table rows of ids; `table` holds rows [first, first + rows) in `storage` (f32: rows defaults to
 * table.size / C).
 */
export function embeddingForward(
  gpu: Gpu, out: Tensor, ids: Tensor, table: Tensor, N: number, C: number, first = 0,
  storage: WeightStorage = 'f32', rows = Math.floor(table.size / C),
): void {
  if (N === 0 || C === 0) return;
  gpu.dispatch({
    code: FORWARD_WGSL, entryPoint: 'forward', label: 'embedding.forward',
    bindings: [firstElements(ids, N), table, firstElements(out, N * C)],
    params: [N, C, first, rows, scalesWord(storage, rows * C)], workgroups: elementwiseGrid(N * C, WG),
    constants: { W_STORAGE: STORAGE_CODE[storage] },
  });
}

/**
 * dtable += scatter of dout by ids; `dtable` holds rows [first, first + dtable.size / C) of a table of V rows.
 * Every id must be in [0, V); ids outside the block are skipped, and so is `skipId` (torch's padding_idx: the
 * padding row gets no gradient).
 */
export function embeddingBackward(
  gpu: Gpu, dtable: Tensor, dout: Tensor, idsCpu: Uint32Array, N: number, C: number, first = 0, V = first + Math.floor(dtable.size / C),
  skipId = -1,
): void {
  if (N === 0 || C === 0) return;
  const { list, U } = groupPositionsById(idsCpu, N, V, first, Math.floor(dtable.size / C), skipId);
  if (U === 0) return;
  const groups = gpu.fromU32([list.length], list, 'embedding.backward.groups');
  gpu.dispatch({
    code: backwardWgsl, entryPoint: 'backward', label: 'embedding.backward',
    bindings: [groups, firstElements(dout, N * C), dtable], params: [U, C, first], workgroups: elementwiseGrid(U * C, WG),
  });
  gpu.release(groups); // later writes to a reused buffer flush first, so this dispatch still sees the list
}

/**
 * list = [ unique ids (U, increasing) | starts (U + 1) | positions (grouped by id, increasing within a group) ]
 * over the positions whose id is in [first, first + rows). Counting over the ids that occur: O(N + U log U).
 */
function groupPositionsById(
  ids: ArrayLike<number>, N: number, V: number, first = 0, rows = V, skipId = -1,
): { list: Uint32Array; U: number } {
  const counts = new Map<number, number>();
  let P = 0;
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    if (!(id >= 0 && id < V)) throw new Error(`embeddingBackward: id ${id} at position ${n} is outside [0, ${V})`);
    if (id < first || id >= first + rows || id === skipId) continue;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    P++;
  }
  const unique = [...counts.keys()].sort((a, b) => a - b);
  const U = unique.length;
  const list = new Uint32Array(2 * U + 1 + P);
  const next = new Map<number, number>(); // id -> next free slot in the positions section
  let start = 0;
  unique.forEach((id, u) => {
    list[u] = id;
    list[U + u] = start;
    next.set(id, start);
    start += counts.get(id)!;
  });
  list[2 * U] = P;
  const base = 2 * U + 1;
  for (let n = 0; n < N; n++) {
    const slot = next.get(ids[n]);
    if (slot === undefined) continue;
    list[base + slot] = n;
    next.set(ids[n], slot + 1);
  }
  return { list, U };
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
