// The Export tab's state, one zustand store built like every store here (createExportStore(deps) for tests,
// appExportStore() the page's own, useExport(selector) in components): which run and checkpoint (or imported adapter)
// is chosen, each format's dtype, what is being made, and the last outcome. exportFormat asks the engine for a
// format's files with their card and offers them as one zip; checkOnnx runs the ONNX export in onnxruntime-web beside
// our decoder. Every file is built whole before the download starts: a failure says why and writes nothing.
// pushToHub sends the same files (what the zip holds, at the repository's root) to a Hub repository with
// src/export/hub-push.ts, loaded when first used so the Hub client is not part of the page's first load.
// The Hub token: kept in this store's memory (gone on reload) unless "Remember on this device", which writes it to
// this browser's localStorage under one key (HUB_TOKEN_KEY) and nowhere else (never IndexedDB, where datasets and
// runs live); forgetToken clears both. It is sent only to the Hub endpoint, and never put in a message.
// Not here: the files and card (the engine: src/engine/exports.ts), the zip (build.ts), rendering (ExportPage.tsx).
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { DatasetRecord } from '../../../src/data/record';
import type { AdapterChoice, Engine, ModelInfo } from '../../../src/engine/api';
import { errorMessage } from '../../../src/errors';
import { EXPORT_FORMATS, type ExportFormat, type ExportFormatSpec } from '../../../src/export/formats';
import type { PushArgs, PushProgress, PushResult } from '../../../src/export/hub-push';
import type { AdapterRecord, CheckpointKind, RunRecord } from '../../../src/storage/runs';
import { download } from '../../components/download';
import { notify } from '../../components/toasts';
import { appEngine } from '../../store/engine-worker';
import { exportZip } from './build';

interface ExportState {
  /** 'run:<id>' or 'imported:<id>'; empty: the first run (or adapter) listed. */
  choice: string;
  checkpoint: CheckpointKind;
  dtypes: Partial<Record<ExportFormat, string>>;
  /** What is being made ('GGUF model export'), or null. */
  busy: string | null;
  error: string | null;
  /** The last download, in words. */
  done: string | null;
  /** The last ONNX check, in words. */
  onnxCheck: string | null;
  /** The Hub access token pasted (memory only, unless remembered). */
  hubToken: string;
  /** Whether the token is also kept in localStorage (HUB_TOKEN_KEY). */
  rememberToken: boolean;
  /** The push under way: what it is doing, and the share of the files' bytes uploaded (0..1). */
  pushing: { phase: string; fraction: number } | null;
  /** The repository's page after the last push that succeeded. */
  pushed: { url: string; files: number } | null;
}

/** Where to push: a Hub model repository (created if missing; `private` applies only then) at an endpoint. */
export interface PushTarget {
  repo: string;
  endpoint: string;
  private: boolean;
}

/** What the tab shows to export from: the chosen run or imported adapter, the loaded model, the open dataset's records. */
export interface ExportTarget {
  run: RunRecord | null;
  imported: AdapterRecord | null;
  model: ModelInfo | null;
  records: readonly DatasetRecord[];
}

interface ExportActions {
  choose(choice: string): void;
  setCheckpoint(checkpoint: CheckpointKind): void;
  setDtype(format: ExportFormat, dtype: string): void;
  exportFormat(format: ExportFormat, target: ExportTarget): Promise<void>;
  checkOnnx(target: ExportTarget): Promise<void>;
  /** Makes `format` as the download does and pushes its files (with the card) to `to` with the token held. */
  pushToHub(format: ExportFormat, target: ExportTarget, to: PushTarget): Promise<void>;
  setHubToken(token: string): void;
  /** Keeps the token in localStorage too (true), or in memory only (false: the stored copy is removed). */
  setRememberToken(remember: boolean): void;
  /** Clears the token from memory and localStorage. */
  forgetToken(): void;
  dismissError(): void;
}

export type ExportSlice = ExportState & ExportActions;
export type ExportStore = StoreApi<ExportSlice>;

export interface ExportStoreDeps {
  engine: () => Engine;
  /** Offers a finished zip to the user. */
  save: (name: string, bytes: Uint8Array) => void;
  /** Pushes files to the Hub (src/export/hub-push.ts pushToHub). */
  push: (args: PushArgs) => Promise<PushResult>;
  /** Where a remembered token is kept (the page's localStorage); null: nowhere, memory only. */
  tokenStorage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
}

/** The push's steps (hub-push's phases) as the panel says them. */
const PUSH_PHASE = {
  creating: 'creating the repository', preuploading: 'asking which files are new',
  uploadingLargeFiles: 'uploading the large files', committing: 'committing',
} as const satisfies Record<Exclude<PushProgress['phase'], 'file'>, string>;

/** The one localStorage key a remembered Hub token is kept under. */
export const HUB_TOKEN_KEY = 'sft-studio.hub-token';

const initialState: Omit<ExportState, 'hubToken' | 'rememberToken'> = { choice: '', checkpoint: 'last', dtypes: {}, busy: null, error: null, done: null, onnxCheck: null, pushing: null, pushed: null };

/** The weights the target stands for; `needsModel`: their model must be the one loaded (the engine reads the weights from it). */
function weightsOf(t: ExportTarget, checkpoint: CheckpointKind, needsModel: boolean): AdapterChoice {
  if (t.imported) {
    if (needsModel && t.model?.fingerprint !== t.imported.model.fingerprint) throw new Error(`this adapter was imported onto ${t.imported.model.name}; load that model on the Train tab first`);
    return { kind: 'imported', adapterId: t.imported.id };
  }
  if (!t.run) throw new Error('no run chosen');
  if (needsModel && !t.model) throw new Error('load the run\'s base model on the Train tab first (the adapter is read from the engine)');
  if (needsModel && t.model!.fingerprint !== t.run.model.fingerprint) throw new Error(`this run was trained on ${t.run.model.name}; load that model first`);
  return { kind: 'run', runId: t.run.id, checkpoint };
}

/** A prompt of the dataset for the ONNX check: a validation question, else the first question. */
const checkPrompt = (records: readonly DatasetRecord[]) => records.find((r) => r.split === 'validation')?.messages.find((m) => m.role === 'user')?.content
  ?? records[0]?.messages.find((m) => m.role === 'user')?.content ?? 'Hello.';

export function createExportStore(deps: ExportStoreDeps): ExportStore {
  const remembered = deps.tokenStorage?.getItem(HUB_TOKEN_KEY) ?? null;
  return createStore<ExportSlice>()((set, get) => {
    /** The engine's files of `format` with their card, for the target as chosen now. */
    function make(format: ExportFormat, target: ExportTarget) {
      const f: ExportFormatSpec = EXPORT_FORMATS[format];
      // An imported adapter's PEFT files go out as they came in (read from the store: no model needed); the kit needs none.
      const adapter = weightsOf(target, get().checkpoint, f.needs.weights && !(target.imported && format === 'peft'));
      const records = f.needs.records ? target.records.filter((r) => !r.flagged && r.split === 'train').map((r) => ({ messages: r.messages })) : undefined;
      return deps.engine().exportModel({ adapter, format, dtype: get().dtypes[format], records });
    }
    return {
      ...initialState,
      hubToken: remembered ?? '',
      rememberToken: remembered !== null,
      choose: (choice) => set({ choice }),
      setCheckpoint: (checkpoint) => set({ checkpoint }),
      setDtype: (format, dtype) => set({ dtypes: { ...get().dtypes, [format]: dtype } }),

      async exportFormat(format, target) {
        const label = `${EXPORT_FORMATS[format].label} export`;
        set({ busy: label, error: null, done: null });
        try {
          const made = await make(format, target);
          const { name, bytes } = exportZip(made.name, format, new Map(made.files));
          deps.save(name, bytes);
          set({ done: `Downloaded ${name} (${(bytes.length / 1024).toFixed(1)} KiB).` });
        } catch (e) {
          set({ error: `${label} failed, nothing was saved: ${errorMessage(e)}` });
        } finally {
          set({ busy: null });
        }
      },

      async checkOnnx(target) {
        set({ busy: 'Checking the ONNX export', error: null, done: null, onnxCheck: null });
        try {
          const c = await deps.engine().checkOnnx({ adapter: weightsOf(target, get().checkpoint, true), prompt: checkPrompt(target.records) });
          set({
            onnxCheck: c.ok
              ? `The ONNX export matches the engine: next-token logits within ${c.maxRelDiff.toExponential(1)} (relative), the same next token and the same greedy tokens. Decoding here: onnxruntime-web ${c.ortTokensPerSecond.toFixed(0)} tokens/s, WebGPU engine ${c.engineTokensPerSecond.toFixed(0)} tokens/s.`
              : `The ONNX export does NOT match the engine: logits differ by up to ${c.maxRelDiff.toExponential(1)} (relative)${c.sameArgmax ? '' : ', another next token'}${c.sameTokens ? '' : ', other greedy tokens'}.`,
          });
        } catch (e) {
          set({ error: `ONNX check failed: ${errorMessage(e)}` });
        } finally {
          set({ busy: null });
        }
      },

      async pushToHub(format, target, to) {
        const label = `Pushing the ${EXPORT_FORMATS[format].label} to ${to.repo}`;
        set({ busy: label, error: null, done: null, pushed: null, pushing: { phase: 'making the files', fraction: 0 } });
        try {
          const files = new Map((await make(format, target)).files);
          const sizes = new Map([...files].map(([path, bytes]) => [path, bytes.length]));
          const total = [...sizes.values()].reduce((a, b) => a + b, 0);
          const uploaded = new Map<string, number>();
          const r = await deps.push({
            files, repo: to.repo.trim(), token: get().hubToken, endpoint: to.endpoint, private: to.private,
            onProgress: (p) => {
              if (p.phase !== 'file') { set({ pushing: { phase: PUSH_PHASE[p.phase], fraction: get().pushing?.fraction ?? 0 } }); return; }
              if (p.state === 'uploading') uploaded.set(p.file, p.progress * (sizes.get(p.file) ?? 0));
              set({ pushing: { phase: `${p.state} ${p.file}`, fraction: [...uploaded.values()].reduce((a, b) => a + b, 0) / Math.max(1, total) } });
            },
          });
          set({ pushed: { url: r.url, files: files.size } });
        } catch (e) {
          // hub-push's lines already have the token cut out; cut again, so that no line from elsewhere can carry it.
          const token = get().hubToken.trim();
          const line = errorMessage(e);
          set({ error: `Push to the Hub failed: ${token ? line.split(token).join('[token]') : line}` });
        } finally {
          set({ busy: null, pushing: null });
        }
      },

      setHubToken(token) {
        set({ hubToken: token });
        if (get().rememberToken) deps.tokenStorage?.setItem(HUB_TOKEN_KEY, token);
      },
      setRememberToken(remember) {
        set({ rememberToken: remember });
        if (remember && get().hubToken) deps.tokenStorage?.setItem(HUB_TOKEN_KEY, get().hubToken);
        else if (!remember) deps.tokenStorage?.removeItem(HUB_TOKEN_KEY);
      },
      forgetToken() {
        set({ hubToken: '', rememberToken: false });
        deps.tokenStorage?.removeItem(HUB_TOKEN_KEY);
      },

      dismissError: () => set({ error: null }),
    };
  });
}

/** Which run or imported adapter the choice names among those listed (the first run with a checkpoint, else the first adapter, by default). */
export const exportSelectors = {
  exportable: (runs: readonly RunRecord[]) => runs.filter((r) => r.checkpoints.last !== null || r.checkpoints.best !== null),
  chosen(choice: string, runs: readonly RunRecord[], adapters: readonly AdapterRecord[]): { run: RunRecord | null; imported: AdapterRecord | null } {
    const exportable = exportSelectors.exportable(runs);
    const adapter = adapters.find((a) => `imported:${a.id}` === choice) ?? null;
    const run = adapter ? null : exportable.find((r) => `run:${r.id}` === choice) ?? exportable[0] ?? null;
    return { run, imported: adapter ?? (run ? null : adapters[0] ?? null) };
  },
};

let shared: ExportStore | null = null;

/** The page's Export store, on the page's engine; made on first use. */
export function appExportStore(): ExportStore {
  shared ??= createExportStore({
    engine: appEngine,
    save: (name, bytes) => { download(name, bytes.slice(), 'application/zip'); notify(`Downloaded ${name}.`, 'success'); },
    push: (args) => import('../../../src/export/hub-push').then((m) => m.pushToHub(args)),
    tokenStorage: globalThis.localStorage ?? null,
  });
  return shared;
}

export function useExport<T>(selector: (s: ExportSlice) => T): T {
  return useStore(appExportStore(), selector);
}
