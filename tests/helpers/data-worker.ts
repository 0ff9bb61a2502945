// The data worker as the page sees it, for Node tests: the real host (workers/data-host.ts, what data-worker.ts runs)
// and the real page client (workers/data-client.ts) joined by a stand-in for postMessage that structured-clones each
// message (ports transferred) and delivers it in a later task. `sent` holds the requests as the worker got them.
import { dataToolsClient } from '../../workers/data-client';
import { createDataHost } from '../../workers/data-host';
import type { DataReply, DataRequest, EngineLost, PortHandover } from '../../workers/protocol-data';

export function dataWorker() {
  const sent: (DataRequest | PortHandover | EngineLost)[] = [];
  const worker = {
    onmessage: null as ((ev: MessageEvent<DataReply>) => void) | null,
    postMessage(msg: DataRequest | PortHandover | EngineLost, transfer: Transferable[] = []) {
      const copy = structuredClone(msg, { transfer });
      sent.push(copy);
      setTimeout(() => void host(copy), 0);
    },
    terminate() {},
  };
  const host = createDataHost((reply) => {
    const copy = structuredClone(reply);
    setTimeout(() => worker.onmessage?.({ data: copy } as MessageEvent<DataReply>), 0);
  });
  return { worker, data: dataToolsClient(worker as unknown as Worker), sent };
}
