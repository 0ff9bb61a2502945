// The worker's side of the data protocol (workers/protocol-data.ts): answers each DataRequest with the
// data tools (src/data/tools.ts), posting progress, then one 'return' or 'throw'. Kept apart from workers/data-worker.ts
// (which only wires it to the worker's global scope) so tests drive the real host and the real client
// (data-client.ts) over a stand-in channel.
// Hub datasets download into the models' Cache Storage (quota minded: src/storage/model-cache.ts).
// State it keeps between requests: the loaded tokenizer (in the data tools), the port to the engine worker (handed
// over by the page, again after each restart of the engine; the page says when that worker is gone) and the records
// of duplicate searches being sent in slices, keyed by batch until the search that takes them.
// The model's tokenizer is pulled, not pushed: it is asked of the engine worker when the studio takes it (after
// each model load, or back from picked files), so the answer is the model resident at that moment, and nothing
// is sent while nobody counts.
import type { DataReply, DataRequest, EngineLost, PortHandover } from './protocol-data';
import { engineClient, type EngineClient } from './engine-channel';
import { createLocalDataTools, RECORDS_PER_MESSAGE, type DedupeInput } from '../src/data/tools';
import { packFacts } from '../src/data/quality';
import { browserModelCache } from '../src/storage/model-cache';

type PostReply = (reply: DataReply, transfer?: Transferable[]) => void;

export function createDataHost(post: PostReply): (msg: DataRequest | PortHandover | EngineLost) => Promise<void> {
  let engine: EngineClient | null = null;
  const tools = createLocalDataTools(() => (engine ? engine.tokenizerFiles() : Promise.reject(new Error('the engine worker is not connected'))), browserModelCache);
  const batches = new Map<number, DedupeInput[]>();

  return async (msg) => {
    if (msg.kind === 'port') { engine = engineClient(msg.port); return; }
    if (msg.kind === 'engine-lost') { engine?.lose(msg.message); return; }
    const req = msg;
    // Progress is throttled to ~20 messages a second so a 100k-row import does not flood the page.
    let last = 0;
    const progress = (p: DataReply & { kind: 'progress' }) => {
      const now = performance.now();
      if (now - last > 50 || p.progress.fraction >= 1) { last = now; post(p); }
    };
    try {
      switch (req.kind) {
        case 'import': {
          const { file, name, options } = req.args;
          const named = Object.assign(file.slice(0, file.size, file.type), { name });
          const result = await tools.importFile(named, options, (pr) => progress({ id: req.id, kind: 'progress', progress: pr }));
          for (let i = 0; i < result.records.length; i += RECORDS_PER_MESSAGE) {
            const records = result.records.slice(i, i + RECORDS_PER_MESSAGE);
            const facts = packFacts(records);
            post({ id: req.id, kind: 'records', records, facts }, [facts.flags.buffer, facts.answerWords.buffer, facts.chars.buffer]);
          }
          post({ id: req.id, kind: 'return', method: 'import', result: { ...result, records: [] } });
          break;
        }
        case 'dedupeRecords': {
          const list = batches.get(req.args.batch) ?? [];
          for (const r of req.args.records) list.push(r);
          batches.set(req.args.batch, list);
          post({ id: req.id, kind: 'return', method: 'dedupeRecords', result: list.length });
          break;
        }
        case 'duplicates': {
          const records = batches.get(req.args.batch) ?? [];
          batches.delete(req.args.batch);
          const result = await tools.findDuplicates(records, req.args.options, (pr) => progress({ id: req.id, kind: 'progress', progress: pr }));
          post({ id: req.id, kind: 'return', method: 'duplicates', result });
          break;
        }
        case 'loadTokenizer': {
          post({ id: req.id, kind: 'return', method: 'loadTokenizer', result: await tools.loadTokenizer(req.args.files) });
          break;
        }
        case 'loadModelTokenizer': {
          post({ id: req.id, kind: 'return', method: 'loadModelTokenizer', result: await tools.loadModelTokenizer() });
          break;
        }
        case 'tokenStats': {
          const result = await tools.tokenStats(req.args.records, req.args.options, (pr) => progress({ id: req.id, kind: 'progress', progress: pr }));
          post({ id: req.id, kind: 'return', method: 'tokenStats', result });
          break;
        }
        case 'hubList': {
          post({ id: req.id, kind: 'return', method: 'hubList', result: await tools.listHubDataset(req.args.spec, req.args.endpoint) });
          break;
        }
        case 'hubDownload': {
          const { ref, files, endpoint } = req.args;
          const got = await tools.downloadHubFiles(ref, files, endpoint, (pr) => progress({ id: req.id, kind: 'progress', progress: pr }));
          post({ id: req.id, kind: 'return', method: 'hubDownload', result: got.map((f) => ({ name: f.name, blob: f })) });
          break;
        }
        case 'previewTokens': {
          post({ id: req.id, kind: 'return', method: 'previewTokens', result: await tools.previewTokens(req.args.messages, req.args.options) });
          break;
        }
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      post({ id: req.id, kind: 'throw', error: { name: err.name, message: err.message } });
    }
  };
}
