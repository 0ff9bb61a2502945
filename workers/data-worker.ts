// The data worker: a thin entry point that runs the local engine off the main thread. All logic lives in
// src/data; this file only unpacks requests (protocol-data.ts) and posts progress and results back.
/// <reference lib="webworker" />
import { createLocalEngine } from '../src/data/engine';
import { packFacts } from '../src/data/quality';
import type { DataReply, DataRequest } from './protocol-data';

const engine = createLocalEngine();
const RECORDS_PER_MESSAGE = 2000;
const scope = self as unknown as DedicatedWorkerGlobalScope;

function post(reply: DataReply) {
  scope.postMessage(reply);
}

scope.onmessage = async (ev: MessageEvent<DataRequest>) => {
  const req = ev.data;
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
        const result = await engine.importFile(named, options, (pr) => progress({ id: req.id, kind: 'progress', progress: pr }));
        for (let i = 0; i < result.records.length; i += RECORDS_PER_MESSAGE) {
          const records = result.records.slice(i, i + RECORDS_PER_MESSAGE);
          const facts = packFacts(records);
          scope.postMessage({ id: req.id, kind: 'records', records, facts } satisfies DataReply, [facts.flags.buffer, facts.answerWords.buffer, facts.chars.buffer]);
        }
        post({ id: req.id, kind: 'return', method: 'import', result: { ...result, records: [] } });
        break;
      }
      case 'duplicates': {
        const result = await engine.findDuplicates(req.args.records, req.args.options, (pr) => progress({ id: req.id, kind: 'progress', progress: pr }));
        post({ id: req.id, kind: 'return', method: 'duplicates', result });
        break;
      }
      case 'loadTokenizer': {
        post({ id: req.id, kind: 'return', method: 'loadTokenizer', result: await engine.loadTokenizer(req.args.files) });
        break;
      }
      case 'tokenStats': {
        const result = await engine.tokenStats(req.args.records, req.args.options, (pr) => progress({ id: req.id, kind: 'progress', progress: pr }));
        post({ id: req.id, kind: 'return', method: 'tokenStats', result });
        break;
      }
      case 'previewTokens': {
        post({ id: req.id, kind: 'return', method: 'previewTokens', result: await engine.previewTokens(req.args.messages, req.args.options) });
        break;
      }
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ id: req.id, kind: 'throw', error: { name: err.name, message: err.message } });
  }
};
