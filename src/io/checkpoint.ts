// A model folder's safetensors checkpoint (model.safetensors, or model.safetensors.index.json + shards) as a
// tensor source: every header read and checked up front, then one tensor at a time on request, by byte range.
//
// Contract:
//  - `openCheckpoint` reads only headers (and the index). It fails, naming the folder and file, when there is
//    no checkpoint, a shard the index lists is missing, a shard holds a tensor the index does not list for it,
//    a tensor the index lists is in no shard, or a tensor name appears in two shards. Each shard stays open
//    (a file handle in Node, a Blob in the browser) until `close`.
//  - `tensors` lists every tensor in file order, shard by shard, with its dtype and shape from the header, so a
//    caller can check names and shapes before reading a byte of data.
//  - `read(name)` reads that tensor's range only, as stored (F16/BF16 bits kept; f32 on demand): the host holds one
//    tensor's bytes at a time, whatever the checkpoint's size.
// Not here: which tensors a model needs or how they are named (src/io/hf.ts), GPU upload (src/model).
import { openFile, type ModelFiles } from './model-files';
import { openSafetensors, parseShardIndex, SafetensorsError, type Dtype, type ReadTensor, type SafetensorsReader } from './safetensors';

export interface CheckpointTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  /** The file it is in: model.safetensors or a shard's name. */
  shard: string;
}

interface TensorSource {
  /** model.safetensors, or the index for a sharded checkpoint (for messages). */
  where: string;
  tensors: Map<string, CheckpointTensor>;
  /** Sum of every tensor's bytes: what reading them all reads. */
  totalBytes: number;
  read(name: string): Promise<ReadTensor>;
  close(): Promise<void>;
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

export async function openCheckpoint(files: ModelFiles): Promise<TensorSource> {
  const present = new Set(files.list());
  let shardNames: string[];
  let indexMap: Map<string, string> | null = null;
  if (present.has(SINGLE)) {
    shardNames = [SINGLE];
  } else if (present.has(INDEX)) {
    indexMap = parseShardIndex(new TextDecoder().decode(await files.read(INDEX)), `${files.name}/${INDEX}`).weightMap;
    shardNames = [...new Set(indexMap.values())];
    for (const shard of shardNames) if (!present.has(shard)) throw new Error(`${files.name}: missing file ${shard} (listed in ${INDEX})`);
  } else {
    throw new Error(`${files.name}: no weights: neither ${SINGLE} nor ${INDEX} (only safetensors checkpoints are supported)`);
  }
  const readers = new Map<string, SafetensorsReader>();
  const tensors = new Map<string, CheckpointTensor>();
  try {
    for (const shard of shardNames) {
      const file = await openSafetensors(await openFile(files, shard), `${files.name}/${shard}`);
      readers.set(shard, file);
      for (const t of file.tensors.values()) {
        if (indexMap && indexMap.get(t.name) !== shard) throw new SafetensorsError(file.name, `tensor "${t.name}" is not listed for this shard in ${INDEX}`);
        const other = tensors.get(t.name);
        if (other) throw new SafetensorsError(file.name, `tensor "${t.name}" also appears in ${other.shard}`);
        tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.byteLength, shard });
      }
    }
    for (const [tensor, shard] of indexMap ?? []) {
      if (!tensors.has(tensor)) throw new SafetensorsError(`${files.name}/${shard}`, `tensor "${tensor}" listed in ${INDEX} is missing`);
    }
  } catch (e) {
    await Promise.all([...readers.values()].map((r) => r.close()));
    throw e;
  }
  return {
    where: indexMap ? INDEX : SINGLE,
    tensors,
    totalBytes: [...tensors.values()].reduce((n, t) => n + t.byteLength, 0),
    read: (name) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`${files.name}: no tensor ${name} in the checkpoint`);
      return readers.get(t.shard)!.read(name);
    },
    close: async () => { await Promise.all([...readers.values()].map((r) => r.close())); },
  };
}
