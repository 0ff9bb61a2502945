// The data worker as the page sees it, for Node tests: the real data host (workers/data-host.ts) behind a stand-in
// for postMessage (structured clone, ports transferred, answered in a later task), and the page's real client on it.
import { dataToolsClient } from '../../workers/data-client';
import { createDataHost } from '../../workers/data-host';
import type { DataReply, DataRequest, EngineLost, PortHandover } from '../../workers/protocol-data';

export function dataWorker() {
  const worker = {
    onmessage: null as ((ev: MessageEvent<DataReply>) => void) | null,
    postMessage(msg: DataRequest | PortHandover | EngineLost, transfer: Transferable[] = []) {
      const copy = structuredClone(msg, { transfer });
      setTimeout(() => void host(copy), 0);
    },
    terminate() {},
  };
  const host = createDataHost((reply) => {
    const copy = structuredClone(reply);
    setTimeout(() => worker.onmessage?.({ data: copy } as MessageEvent<DataReply>), 0);
  });
  return { worker, data: dataToolsClient(worker as unknown as Worker) };
}
