// A DatasetRepository usable before its database has opened: each call waits for the real one. Lets the
// app create its store synchronously at start-up while IndexedDB opens (or falls back to memory). `refuse`
// cannot wait: it asks the tab's writer role directly (writer.ts), when there is one.
import type { DatasetRepository } from './repository';
import type { WriterGate } from './writer';

export function deferredRepository(ready: Promise<DatasetRepository>, writer?: WriterGate): DatasetRepository {
  const call = <K extends keyof DatasetRepository>(k: K) =>
    (async (...args: unknown[]) => {
      const repo = await ready;
      return (repo[k] as (...a: unknown[]) => unknown)(...args);
    }) as DatasetRepository[K];
  return {
    list: call('list'), create: call('create'), rename: call('rename'), remove: call('remove'), save: call('save'), appendJournal: call('appendJournal'),
    load: call('load'), versions: call('versions'), columnMaps: call('columnMaps'), putColumnMap: call('putColumnMap'),
    refuse: (doing) => writer?.refuse(doing) ?? null,
  };
}
