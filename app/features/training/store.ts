// The preference panel's state on the Train screen, one zustand store built like every store here
// (createTrainingStore(deps) for tests, appTrainingStore() the page's own, useTraining(selector) in components): the
// preference pairs to train on (a JSONL file, the built-in sample set, or the open dataset's curated pairs: its train
// split, the validation split held out), the method and its weights, what the run starts from, a pair's tokens as the
// preference loss sees them, and a message. start() hands the run to the engine store (runs are watched, stored and
// resumed there like SFT runs).
// Not here: the run's live state (app/store/engine.ts), the LoRA and optimizer settings (the form's).
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { DatasetRecord } from '../../../src/data/record';
import type { PreviewToken } from '../../../src/data/tokens';
import type { Engine, StartPreferenceRunArgs } from '../../../src/engine/api';
import { errorMessage } from '../../../src/errors';
import type { DatasetMeta } from '../../../src/storage/repository';
import { type PreferenceMethod } from '../../../src/train/preference';
import { pairOfRecord, preferencePairsFromJsonl, type PreferencePair } from '../../../src/train/preference-pairs';
import type { RunConfig } from '../../../src/train/presets';
import { appDatasetsStore } from '../../store';
import { appEngineStore } from '../../store/engine';
import { appEngine } from '../../store/engine-worker';

const PREFERENCE_SAMPLE_URL = 'samples/world-pref.train.jsonl';

interface TrainingState {
  pairs: { name: string; pairs: PreferencePair[]; heldOut?: number; dataset?: { id: string; name: string; version: number } } | null;
  method: PreferenceMethod;
  /** DPO's β or ORPO's λ. */
  beta: number;
  /** RPO's weight on the chosen answers' NLL (DPO only). */
  rpoAlpha: number;
  /** The run whose last checkpoint the preference run continues; '' for a new adapter. */
  startRun: string;
  /** A pair's chosen and rejected tokens, as the loss sees them. */
  mask: { index: number; chosen: PreviewToken[]; rejected: PreviewToken[] } | null;
  message: string | null;
}

interface TrainingActions {
  set(patch: Partial<Pick<TrainingState, 'method' | 'beta' | 'rpoAlpha' | 'startRun'>>): void;
  /** Pairs from a preference JSONL file's text (refused whole, with the line, on a bad row). */
  readPairs(name: string, text: string): void;
  loadSample(): Promise<void>;
  /** The open dataset's curated pairs: unflagged, the train split trained on, the validation split held out. */
  readDataset(): void;
  showMask(index: number, maxSeqLength: number): Promise<void>;
  start(config: RunConfig): Promise<void>;
}

export type TrainingSlice = TrainingState & TrainingActions;
export type TrainingStore = StoreApi<TrainingSlice>;

export interface TrainingStoreDeps {
  engine: () => Engine;
  /** Starts a preference run where runs are watched (the engine store's startPreferenceRun). */
  startPreferenceRun: (args: StartPreferenceRunArgs) => Promise<void>;
  /** The open dataset: its records and what it is. */
  dataset: () => { records: readonly DatasetRecord[]; current: DatasetMeta | null };
  fetchText: (url: string) => Promise<string>;
}

const initialState: TrainingState = { pairs: null, method: 'dpo', beta: 0.1, rpoAlpha: 0, startRun: '', mask: null, message: null };

export function createTrainingStore(deps: TrainingStoreDeps): TrainingStore {
  return createStore<TrainingSlice>()((set, get) => ({
    ...initialState,
    set: (patch) => set(patch),

    readPairs(name, text) {
      try {
        set({ pairs: { name, pairs: preferencePairsFromJsonl(text, name) }, mask: null, message: null });
      } catch (e) {
        set({ message: errorMessage(e) });
      }
    },

    async loadSample() {
      try {
        get().readPairs('world-pref.train.jsonl', await deps.fetchText(PREFERENCE_SAMPLE_URL));
      } catch (e) {
        set({ message: errorMessage(e) });
      }
    },

    readDataset() {
      const { records, current } = deps.dataset();
      const usable = records.filter((r) => r.rejected && !r.flagged);
      try {
        const train = usable.filter((r) => r.split === 'train').map((r) => {
          try { return pairOfRecord(r); } catch (e) { throw new Error(`${r.source.file} line ${r.source.line}: ${errorMessage(e)}`); }
        });
        if (!train.length) throw new Error('the current dataset has no preference pairs in its train split (import pairs in the Data step)');
        set({
          pairs: { name: current?.name ?? 'the current dataset', pairs: train, heldOut: usable.length - train.length, dataset: current ? { id: current.id, name: current.name, version: current.head } : undefined },
          mask: null, message: null,
        });
      } catch (e) {
        set({ message: errorMessage(e) });
      }
    },

    async showMask(index, maxSeqLength) {
      const pairs = get().pairs;
      if (!pairs) return;
      try {
        set({ mask: { index, ...await deps.engine().previewPreference({ pair: pairs.pairs[index], maxSeqLength }) } });
      } catch (e) {
        set({ message: errorMessage(e) });
      }
    },

    async start(config) {
      const { pairs, method, beta, rpoAlpha, startRun } = get();
      if (!pairs) return;
      set({ message: null });
      await deps.startPreferenceRun({
        name: `${method.toUpperCase()} on ${pairs.name}`, config, pairs: pairs.pairs,
        preference: { method, beta, labelSmoothing: 0, reference: 'start', ...(method === 'dpo' && rpoAlpha > 0 ? { rpoAlpha } : {}) },
        start: startRun ? { kind: 'run', runId: startRun, checkpoint: 'last' } : null, dataset: pairs.dataset ?? null,
      });
    },
  }));
}

let shared: TrainingStore | null = null;

/** The page's preference panel store, on the page's engine and datasets; made on first use. */
export function appTrainingStore(): TrainingStore {
  shared ??= createTrainingStore({
    engine: appEngine,
    startPreferenceRun: (args) => appEngineStore().getState().startPreferenceRun(args),
    dataset: () => appDatasetsStore().getState(),
    fetchText: async (url) => (await fetch(url)).text(),
  });
  return shared;
}

export function useTraining<T>(selector: (s: TrainingSlice) => T): T {
  return useStore(appTrainingStore(), selector);
}
