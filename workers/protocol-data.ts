// Messages between the page and workers/data-worker.ts. Requests and replies are discriminated unions
// keyed by `kind`, matched by `id`; every request gets progress replies, then exactly one 'return' or
// 'throw'. DataCalls is the one table of method → (args, result), so both ends are typed from it.
import type { DedupeInput, DedupeRequestOptions, HubListing, ImportRequestOptions, Progress } from '../src/data/tools';
import type { DatasetFile, HubDatasetRef } from '../src/data/hub';
import type { DuplicateGroup } from '../src/data/dedupe';
import type { FileImport } from '../src/data/import';
import type { PackedFacts } from '../src/data/quality';
import type { DatasetRecord } from '../src/data/record';
import type { PreviewToken, TokenizerFiles, TokenizerInfo, TokenOptions, TokenStats } from '../src/data/tokens';
import type { ChatMessage } from '../src/data/types';

export interface DataCalls {
  import: { args: { file: File; name: string; options: ImportRequestOptions }; result: FileImport };
  /** Part of the records of duplicate search `batch`, in order; answers how many the batch holds now. */
  dedupeRecords: { args: { batch: number; records: DedupeInput[] }; result: number };
  /** Searches the records sent for `batch` (then forgets them). */
  duplicates: { args: { batch: number; options: DedupeRequestOptions }; result: DuplicateGroup[] };
  loadTokenizer: { args: { files: TokenizerFiles }; result: TokenizerInfo };
  /** The loaded model's tokenizer, asked of the engine worker over the port the page handed over. */
  loadModelTokenizer: { args: Record<string, never>; result: { name: string; info: TokenizerInfo } };
  tokenStats: { args: { records: DedupeInput[]; options: TokenOptions }; result: TokenStats };
  previewTokens: { args: { messages: ChatMessage[]; options: TokenOptions }; result: PreviewToken[] };
  hubList: { args: { spec: string; endpoint: string }; result: HubListing };
  /** The files come back as named Blobs (cloned by reference, not copied; a File's name does not survive every clone). */
  hubDownload: { args: { ref: HubDatasetRef; files: DatasetFile[]; endpoint: string }; result: { name: string; blob: Blob }[] };
}

export type DataMethod = keyof DataCalls;

export type DataRequest = { [M in DataMethod]: { id: number; kind: M; args: DataCalls[M]['args'] } }[DataMethod];

export type DataReply =
  | { id: number; kind: 'progress'; progress: Progress }
  /** Part of an import's records, sent ahead of its 'return' (which then carries none) so the page
   *  deserialises 100k records in slices between frames instead of in one long stall; with their quality
   *  facts (in order), computed here so the page does not normalise 100k texts on arrival. */
  | { id: number; kind: 'records'; records: DatasetRecord[]; facts: PackedFacts }
  | { [M in DataMethod]: { id: number; kind: 'return'; method: M; result: DataCalls[M]['result'] } }[DataMethod]
  | { id: number; kind: 'throw'; error: { name: string; message: string } };

// ---- the data worker's own channel to the engine worker ----
// The page makes a MessageChannel when it makes both workers and hands one port to each in a PortHandover
// (transferred, never answered). On it the engine worker serves the engine (workers/engine-channel.ts) and the data
// worker asks it for the loaded model's tokenizer files each time the studio takes the model's tokenizer: the
// answer is the model resident at that moment, so the counts follow the model, and the page never carries the files.
export interface PortHandover { kind: 'port'; port: MessagePort }
/**
 * The page's word that the engine worker at the other end of the port is gone: the requests waiting on it reject
 * with `message`, later ones at once, until the page hands over a port to a fresh engine worker.
 */
export interface EngineLost { kind: 'engine-lost'; message: string }
