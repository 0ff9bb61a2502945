// The page's side of the data worker: a DataTools whose calls become DataRequests (protocol-data.ts) and whose promises settle on the matching 'return' / 'throw' reply. Same interface as
// createLocalDataTools, so the store cannot tell them apart. When the worker is gone its owner says so (lose: workers/life.ts
// notices it in a page), and no call waits for an answer that cannot come.
import type { DataCalls, DataMethod, DataReply, DataRequest } from './protocol-data';
import { RECORDS_PER_MESSAGE, type DataTools, type Progress } from '../src/data/tools';
import { rememberPackedFacts } from '../src/data/quality';
import type { DatasetRecord } from '../src/data/record';
import type { TokenStats } from '../src/data/tokens';
import { Requests } from './requests';

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

/** The page's end: DataTools, told by its owner when the worker is gone. */
export interface DataToolsClient extends DataTools {
  /** The worker is gone: every call waiting rejects with `message` (a WorkerLost error), every later call at once. */
  lose(message: string): void;
}

export function dataToolsClient(worker: Worker): DataToolsClient {
  let nextBatch = 1;
  const requests = new Requests<Pending>();
  worker.onmessage = (ev: MessageEvent<DataReply>) => {
    const reply = ev.data;
    // Messages without a request's id are no replies (the worker's notice that it is alive, workers/life.ts).
    const p = requests.get(reply.id);
    if (!p) return;
    if (reply.kind === 'progress') { p.onProgress?.(reply.progress); return; }
    if (reply.kind === 'records') { rememberPackedFacts(reply.records, reply.facts); p.parts.push(reply.records); p.onRecords?.(reply.records); return; }
    requests.take(reply.id);
    if (reply.kind === 'return' && reply.method === 'import') p.resolve({ ...reply.result, records: p.parts.flat() });
    else if (reply.kind === 'return') p.resolve(reply.result);
    else p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
  };

  function call<M extends DataMethod>(
    kind: M, args: DataCalls[M]['args'], onProgress?: (p: Progress) => void, onRecords?: (records: DatasetRecord[]) => void,
  ): Promise<DataCalls[M]['result']> {
    return new Promise<DataCalls[M]['result']>((resolve, reject) => {
      requests.open({ method: kind, parts: [], resolve: resolve as (v: unknown) => void, reject, onProgress, onRecords },
        (id) => worker.postMessage({ id, kind, args } as DataRequest));
    });
  }

  return {
    lose: (message) => requests.lose(message),
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
    listHubDataset: (spec, endpoint) => call('hubList', { spec, endpoint }),
    downloadHubFiles: async (ref, files, endpoint, onProgress) =>
      (await call('hubDownload', { ref, files, endpoint }, onProgress)).map((f) => new File([f.blob], f.name)),
    dispose: () => { requests.lose('the data worker was closed'); worker.terminate(); },
  };
}
