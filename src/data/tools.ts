// The data tools: the heavy operations the page must not run on its main thread. One interface, two
// implementations: createLocalDataTools (in-thread; Node tests, and the worker's own body) and the worker
// client (workers/data-client.ts), which forwards each call to workers/data-worker.ts and has the same shape.
import { blobSource } from './bytes';
import { findDuplicates, type DedupeOptions, type DuplicateGroup } from './dedupe';
import { importSource, type FileImport, type ImportOptions } from './import';
import { loadTokenizerFiles, previewTokens, tokenStats, type LoadedTokenizer, type PreviewToken, type TokenizerFiles, type TokenizerInfo, type TokenOptions, type TokenStats } from './tokens';
import type { DatasetRecord } from './record';
import type { ChatMessage } from './types';

export interface Progress {
  phase: 'import' | 'duplicates' | 'tokens';
  /** 0..1 */
  fraction: number;
  label: string;
}

/** Records per message between the page and the worker, either way: one message of 100k records would
 *  stall the thread that clones it for seconds; 2000 take a few milliseconds. */
export const RECORDS_PER_MESSAGE = 2000;

export type ImportRequestOptions = Omit<ImportOptions, 'onProgress'>;
export type DedupeRequestOptions = Omit<DedupeOptions, 'onProgress'>;
export type DedupeInput = Pick<DatasetRecord, 'id' | 'messages' | 'rejected'>;

const noModel = (): Promise<TokenizerFiles> => Promise.reject(new Error('no model loaded'));

export interface DataTools {
  /**
   * onRecords gets the imported records in slices as they arrive, ahead of the result (which still holds
   * them all), so the caller can store them while the import runs.
   */
  importFile(
    file: File | (Blob & { name: string }), opts: ImportRequestOptions,
    onProgress?: (p: Progress) => void, onRecords?: (records: DatasetRecord[]) => void,
  ): Promise<FileImport>;
  findDuplicates(records: readonly DedupeInput[], opts: DedupeRequestOptions, onProgress?: (p: Progress) => void): Promise<DuplicateGroup[]>;
  /** Loads the tokenizer (and chat template) the next two calls use; replaces any earlier one. */
  loadTokenizer(files: TokenizerFiles): Promise<TokenizerInfo>;
  /** The same with the loaded model's tokenizer, read at this moment from whoever holds the model; `name` is the model's. */
  loadModelTokenizer(): Promise<{ name: string; info: TokenizerInfo }>;
  tokenStats(records: readonly DedupeInput[], opts: TokenOptions, onProgress?: (p: Progress) => void): Promise<TokenStats>;
  previewTokens(messages: ChatMessage[], opts: TokenOptions): Promise<PreviewToken[]>;
  dispose(): void;
}

/**
 * `modelTokenizer` reads the loaded model's tokenizer files (in the data worker: the engine worker, over their own
 * channel); without it, or while no model is loaded, loadModelTokenizer rejects with the reason.
 */
export function createLocalDataTools(modelTokenizer: () => Promise<TokenizerFiles> = noModel): DataTools {
  let tokenizer: LoadedTokenizer | null = null;
  const loaded = (): LoadedTokenizer => {
    if (!tokenizer) throw new Error('no tokenizer loaded');
    return tokenizer;
  };
  return {
    async importFile(file, opts, onProgress, onRecords) {
      const result = await importSource(blobSource(file.name, file), {
        ...opts, onProgress: (fraction) => onProgress?.({ phase: 'import', fraction, label: file.name }),
      });
      for (let i = 0; i < result.records.length; i += RECORDS_PER_MESSAGE) onRecords?.(result.records.slice(i, i + RECORDS_PER_MESSAGE));
      return result;
    },
    async findDuplicates(records, opts, onProgress) {
      return findDuplicates(records, { ...opts, onProgress: (fraction) => onProgress?.({ phase: 'duplicates', fraction, label: 'duplicates' }) });
    },
    async loadTokenizer(files) {
      tokenizer = await loadTokenizerFiles(files);
      return tokenizer.info;
    },
    async loadModelTokenizer() {
      const files = await modelTokenizer();
      return { name: files.name, info: await this.loadTokenizer(files) };
    },
    async tokenStats(records, opts, onProgress) {
      return tokenStats(loaded(), records, opts, (fraction) => onProgress?.({ phase: 'tokens', fraction, label: 'tokens' }));
    },
    async previewTokens(messages, opts) {
      return previewTokens(loaded(), messages, opts);
    },
    dispose() {},
  };
}
