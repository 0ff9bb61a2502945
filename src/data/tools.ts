// The data tools: the heavy operations the page must not run on its main thread. One interface, two
// implementations: createLocalDataTools (in-thread; Node tests, and the worker's own body) and the worker
// client (workers/data-client.ts), which forwards each call to workers/data-worker.ts and has the same shape.
// Hub datasets are listed and downloaded here too (hub.ts, loaded on first use so that @huggingface/hub stays out of
// the worker's start), and handed back as Files for importFile: the usual import, with its mapping and refused rows.
import { blobSource } from './bytes';
import { findDuplicates, type DedupeOptions, type DuplicateGroup } from './dedupe';
import { importSource, type FileImport, type ImportOptions } from './import';
import { loadTokenizerFiles, previewTokens, tokenStats, type LoadedTokenizer, type PreviewToken, type TokenizerFiles, type TokenizerInfo, type TokenOptions, type TokenStats } from './tokens';
import type { DatasetFile, DatasetLayout, HubDatasetRef } from './hub';
import type { DatasetRecord } from './record';
import type { ByteCache } from '../io/download';
import type { ChatMessage } from './types';

export interface Progress {
  phase: 'import' | 'duplicates' | 'tokens' | 'download';
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

/** A Hub dataset as listed: the repository, the revision asked for, its configs and splits. */
export interface HubListing extends HubDatasetRef {
  layout: DatasetLayout;
}

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
  /** The configs and splits of Hub dataset `spec` (OWNER/NAME[@revision], `hub:` optional) at `endpoint`. */
  listHubDataset(spec: string, endpoint: string): Promise<HubListing>;
  /**
   * A listed split's files from `endpoint`, resumable and cached as model files are, with byte progress; as Files
   * named OWNER/NAME/path, for importFile.
   */
  downloadHubFiles(ref: HubDatasetRef, files: DatasetFile[], endpoint: string, onProgress?: (p: Progress) => void): Promise<File[]>;
  dispose(): void;
}

/**
 * `modelTokenizer` reads the loaded model's tokenizer files (in the data worker: the engine worker, over their own
 * channel); without it, or while no model is loaded, loadModelTokenizer rejects with the reason. `hubCache` keeps Hub
 * downloads (in the data worker: the models' Cache Storage); without it they are not cached.
 */
export function createLocalDataTools(
  modelTokenizer: () => Promise<TokenizerFiles> = noModel, hubCache: () => Promise<ByteCache | undefined> = async () => undefined,
): DataTools {
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
    async listHubDataset(spec, endpoint) {
      const { listHubDataset, parseHubDataset } = await import('./hub');
      const ref = parseHubDataset(spec.trim());
      return { ...ref, layout: await listHubDataset(ref, { endpoint }) };
    },
    async downloadHubFiles(ref, files, endpoint, onProgress) {
      const { downloadHubDataset } = await import('./hub');
      const got = await downloadHubDataset(ref, files, {
        endpoint, cache: await hubCache(),
        onProgress: (p) => onProgress?.({ phase: 'download', fraction: p.total > 0 ? p.loaded / p.total : 1, label: `${ref.repo}/${p.file}` }),
      });
      return got.map((f) => new File([f.bytes as Uint8Array<ArrayBuffer>], `${ref.repo}/${f.path}`));
    },
    dispose() {},
  };
}
