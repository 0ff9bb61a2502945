// What differs between the places the engine runs: a page's worker (host-page.ts) and Node, where the command line
// and the tests run it (host-node.ts). Everything else (which model is resident, memory admission, runs, adapters,
// generation, evaluation, exports) is the engine's own (engine.ts), the same in both.
//
// Contract: createGpu is called again after the device is lost; the run store is opened once, when first used;
// modelFiles resolves a ModelSource (a host refuses sources it cannot reach: a page has no folder paths);
// ort loads onnxruntime-web once, on first use (the ONNX decoder and check); openSandbox runs a GRPO run's JavaScript
// reward in a sandbox of its own (src/train/rewards.ts; null: the host offers none, and such a reward is refused by
// name); now is the clock of ids and timestamps.
import type { Gpu } from '../gpu/runtime';
import type { Ort } from '../generate/onnx-decoder';
import { downloadModel, folderUrlFor, hubUrlFor, type ByteCache } from '../io/download';
import { filesFromBlobs, type ModelFiles } from '../io/model-files';
import type { RunStore } from '../storage/runs';
import type { OpenSandbox } from '../train/rewards';
import type { ModelSource } from './api';

/** Download progress of a model's files, with what is being fetched. */
export type FilesProgress = (message: string, p: { loaded: number; total: number }) => void;

export interface EngineHost {
  createGpu(): Promise<Gpu>;
  runStore(): Promise<RunStore>;
  modelFiles(source: ModelSource, onProgress: FilesProgress): Promise<ModelFiles>;
  ort(): Promise<Ort>;
  openSandbox: OpenSandbox | null;
  now(): number;
}

/**
 * The sources every host reaches: dropped files, a served folder and the hub, downloads kept in `cache` (resumable,
 * offline after the first time). A folder on disk is the Node host's own.
 */
export async function fetchedModelFiles(
  source: ModelSource, onProgress: FilesProgress, opts: { cache: () => Promise<ByteCache>; fetch?: typeof fetch },
): Promise<ModelFiles> {
  const progress = (message: string) => (p: { loaded: number; total: number }) => onProgress(message, p);
  switch (source.kind) {
    case 'files': return filesFromBlobs(source.name, source.files);
    case 'url': return downloadModel(source.name, folderUrlFor(source.baseUrl), { cache: await opts.cache(), fetch: opts.fetch, onProgress: progress(`Loading ${source.name}`) });
    case 'hub': return downloadModel(source.repo, hubUrlFor(source.repo, source.revision, source.endpoint), { cache: await opts.cache(), fetch: opts.fetch, onProgress: progress(`Downloading ${source.repo}`) });
    case 'folder': throw new Error(`A model folder on disk (${source.path}) is read by the command line, not in a page: drop its files instead.`);
  }
}
