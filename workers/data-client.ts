// The page's side of the data worker: a DataTools whose calls become DataRequests (protocol-data.ts) and whose promises settle on the matching 'return' / 'throw' reply. Same interface as
// createLocalDataTools, so the store cannot tell them apart.
import type { DataCalls, DataMethod, DataReply, DataRequest } from './protocol-data';
import { RECORDS_PER_MESSAGE, type DataTools, type Progress } from '../src/data/tools';
import { rememberPackedFacts } from '../src/data/quality';
import type { DatasetRecord } from '../src/data/record';
import type { TokenStats } from '../src/data/tokens';

/** The part of a duplicate search's progress bar given to sending the records. */
const SENDING_SHARE = 0.1;

interface Pending {
  method: DataMethod;
  /** Records sent ahead of an import's 'return'. */
  parts: DatasetRecord[][];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: Progress) => void;
  onRecords?: (records: DatasetRecord[]) => void;
}

export function dataToolsClient(worker: Worker): DataTools {
  let nextId = 1;
  let nextBatch = 1;
  const pending = new Map<number, Pending>();
  worker.onmessage = (ev: MessageEvent<DataReply>) => {
    const reply = ev.data;
    const p = pending.get(reply.id);
    if (!p) return;
    if (reply.kind === 'progress') { p.onProgress?.(reply.progress); return; }
    if (reply.kind === 'records') { rememberPackedFacts(reply.records, reply.facts); p.parts.push(reply.records); p.onRecords?.(reply.records); return; }
    pending.delete(reply.id);
    if (reply.kind === 'return' && reply.method === 'import') p.resolve({ ...reply.result, records: p.parts.flat() });
    else if (reply.kind === 'return') p.resolve(reply.result);
    else p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
  };
  worker.onerror = (ev) => {
    const err = new Error(`data worker failed: ${ev.message}`);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  function call<M extends DataMethod>(
    kind: M, args: DataCalls[M]['args'], onProgress?: (p: Progress) => void, onRecords?: (records: DatasetRecord[]) => void,
  ): Promise<DataCalls[M]['result']> {
    const id = nextId++;
    return new Promise<DataCalls[M]['result']>((resolve, reject) => {
      pending.set(id, { method: kind, parts: [], resolve: resolve as (v: unknown) => void, reject, onProgress, onRecords });
      worker.postMessage({ id, kind, args } as DataRequest);
    });
  }

  return {
    importFile: (file, options, onProgress, onRecords) => call('import', { file: file as File, name: file.name, options }, onProgress, onRecords),
    async findDuplicates(records, options, onProgress) {
      // The records go over in slices, one message each awaited (so the page runs between them), and the
      // worker searches them as one list: the groups are those of one whole run.
      const batch = nextBatch++;
      const progress = (fraction: number) => onProgress?.({ phase: 'duplicates', fraction, label: 'duplicates' });
      for (let i = 0; i < records.length; i += RECORDS_PER_MESSAGE) {
        progress(SENDING_SHARE * i / records.length);
        await call('dedupeRecords', { batch, records: records.slice(i, i + RECORDS_PER_MESSAGE).map((r) => ({ id: r.id, messages: r.messages, rejected: r.rejected })) });
      }
      return call('duplicates', { batch, options }, (p) => progress(SENDING_SHARE + (1 - SENDING_SHARE) * p.fraction));
    },
    loadTokenizer: (files) => call('loadTokenizer', { files }),
    loadModelTokenizer: () => call('loadModelTokenizer', {}),
    async tokenStats(records, options, onProgress) {
      // Posted in slices: cloning 100k conversations into one message would stall the page for seconds.
      // The statistics of the slices add up (lengths and failures listed, token sums summed).
      const out: TokenStats = { lengths: [], trainable: 0, total: 0, cut: 0, failures: [] };
      for (let i = 0; i < records.length || i === 0; i += RECORDS_PER_MESSAGE) {
        const slice = records.slice(i, i + RECORDS_PER_MESSAGE).map((r) => ({ id: r.id, messages: r.messages }));
        const part = await call('tokenStats', { records: slice, options }, (p) => onProgress?.({ ...p, fraction: (i + p.fraction * slice.length) / Math.max(1, records.length) }));
        for (const l of part.lengths) out.lengths.push(l);
        for (const f of part.failures) out.failures.push(f);
        out.trainable += part.trainable; out.total += part.total; out.cut += part.cut;
      }
      return out;
    },
    previewTokens: (messages, options) => call('previewTokens', { messages, options }),
    dispose: () => worker.terminate(),
  };
}
