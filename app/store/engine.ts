// The engine's state on the page, one zustand store built like every store here (createEngineStore(deps) for tests,
// appEngineStore() the page's own on the engine worker, useEngine(selector) in components): the adapter report, the
// loaded model, load progress, the run being watched (live curves; a GRPO run's latest groups), the run history,
// imported PEFT adapters, stored batch evaluations, and messages. Actions call the Engine (src/engine/api.ts: the worker's client in the app, any
// Engine in tests); components read the state and dispatch the actions, and never call the engine.
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AdapterRecord, EvalPoint, EvaluationRecord, MetricPoint, RunRecord, RunStatus } from '../../src/storage/runs';
import type { WeightStorage } from '../../src/ops/weight-storage';
import type {
  AdapterFiles, AdapterReport, Engine, EngineEvent, ImportAdapterArgs, ModelInfo, ModelSource, StartGrpoRunArgs, StartPreferenceRunArgs, StartRunArgs,
} from '../../src/engine/api';
import type { PreferenceMethod } from '../../src/train/preference';
import type { GrpoGroup } from '../../src/train/grpo';
import { appEngine, restartAppEngine } from './engine-worker';
import { isWorkerLost } from '../../workers/requests';
import { rememberModel } from '../features/model/lastModel';
import { errorMessage } from '../../src/errors';
import { BASE_MODEL_MISMATCH } from '../../src/io/validate';

export interface LiveRun {
  runId: string;
  name: string;
  /** 'sft', the preference method (its points then carry rewards, margins and accuracy), or 'grpo' (rewards, KL, clipping). */
  method: 'sft' | PreferenceMethod | 'grpo';
  status: RunStatus;
  points: MetricPoint[];
  evals: EvalPoint[];
  totalSteps: number;
  etaSeconds: number | null;
  lastCheckpoint: number | null;
  /** A GRPO run's latest generation batch as groups (prompt, answers, rewards, advantages), from the step that sampled it. */
  groups: { step: number; groups: GrpoGroup[] } | null;
}

interface EngineState {
  adapter: AdapterReport | null;
  model: ModelInfo | null;
  loading: { message: string; loaded: number; total: number } | null;
  live: LiveRun | null;
  runs: RunRecord[];
  /** Imported PEFT adapters, newest first. */
  adapters: AdapterRecord[];
  /** Stored batch evaluations, newest first. */
  evaluations: EvaluationRecord[];
  /** A message for the user (role=alert). */
  error: string | null;
  deviceLost: string | null;
  /** The engine's worker is gone (one line saying so); restartEngine brings it back. */
  engineLost: string | null;
}

interface EngineActions {
  probe(): Promise<void>;
  /** `weights`: how the frozen base is kept on the GPU (absent: as the checkpoint ships it). */
  loadModel(source: ModelSource, weights?: WeightStorage): Promise<void>;
  startRun(args: StartRunArgs): Promise<void>;
  /** A DPO / ORPO run: watched, stored and resumed like an SFT run. */
  startPreferenceRun(args: StartPreferenceRunArgs): Promise<void>;
  /** A GRPO run: watched like the others, with its latest groups. */
  startGrpoRun(args: StartGrpoRunArgs): Promise<void>;
  resumeRun(runId: string): Promise<void>;
  control(action: 'pause' | 'resume' | 'cancel'): Promise<void>;
  refreshRuns(): Promise<void>;
  deleteRun(runId: string): Promise<void>;
  /** The run's adapter as PEFT files (adapter_model.safetensors + adapter_config.json), or null on failure (error set). */
  exportAdapter(runId: string, checkpoint: 'last' | 'best'): Promise<AdapterFiles | null>;
  /**
   * Imports onto the loaded model: the stored record, or why it was refused (nothing stored; `error` untouched,
   * the caller shows it). `otherBaseModel`: refused only because it names another base model (the caller may
   * offer to import it anyway with ignoreBaseModel).
   */
  importAdapter(args: ImportAdapterArgs): Promise<{ record: AdapterRecord } | { refused: string; otherBaseModel: boolean }>;
  refreshAdapters(): Promise<void>;
  renameAdapter(adapterId: string, name: string): Promise<void>;
  deleteAdapter(adapterId: string): Promise<void>;
  saveEvaluation(e: EvaluationRecord): Promise<void>;
  refreshEvaluations(): Promise<void>;
  dismissError(): void;
  /** A fresh engine after a loss: probed, the lists re-read, and the model that was loaded loaded again from where the page has it. */
  restartEngine(): Promise<void>;
}

export type EngineSlice = EngineState & EngineActions;
export type EngineStore = StoreApi<EngineSlice>;

export interface EngineStoreDeps {
  engine: Engine;
  /** Told of each model that loads (the page remembers it for a one-click reload). */
  onModelLoaded?: (source: ModelSource) => void;
  /** Starts a fresh worker behind `engine` after it was lost (the page's: restartAppEngine). */
  restart?: () => void;
}

const engineInitialState: EngineState = {
  adapter: null, model: null, loading: null, live: null, runs: [], adapters: [], evaluations: [], error: null, deviceLost: null, engineLost: null,
};

export function createEngineStore({ engine, onModelLoaded, restart }: EngineStoreDeps): EngineStore {
  /** What loaded last, to load it again after a restart (the page's own files included: the page still has them). */
  let lastLoad: { source: ModelSource; weights?: WeightStorage } | null = null;
  const store: EngineStore = createStore<EngineSlice>()((set, get) => {
    /** A failed call's message; a lost engine's is the banner's (engineLost), not said twice. */
    const fail = (e: unknown) => { if (!isWorkerLost(e)) set({ error: errorMessage(e) }); };
    /** Folds a run's events into `live`. */
    const onRunEvent = (e: EngineEvent) => {
      const live = get().live;
      switch (e.type) {
        case 'run':
          set({ live: { runId: e.run.id, name: e.run.name, method: e.run.config.grpo ? 'grpo' : e.run.config.preference?.method ?? 'sft', status: e.run.status, points: e.run.metrics, evals: e.run.evals, totalSteps: e.run.totalSteps, etaSeconds: null, lastCheckpoint: e.run.checkpoints.last, groups: null } });
          void get().refreshRuns(); // the run history lists the new run at once
          break;
        case 'step':
          if (live?.runId === e.runId) set({ live: { ...live, points: [...live.points, e.point], totalSteps: e.totalSteps, etaSeconds: e.etaSeconds } });
          break;
        case 'groups':
          if (live?.runId === e.runId) set({ live: { ...live, groups: { step: e.step, groups: e.groups } } });
          break;
        case 'eval':
          if (live?.runId === e.runId) set({ live: { ...live, evals: [...live.evals, { step: e.step, valLoss: e.valLoss }] } });
          break;
        case 'checkpoint':
          if (live?.runId === e.runId && e.kind === 'last') set({ live: { ...live, lastCheckpoint: e.step } });
          void get().refreshRuns(); // the stored record moved on: the history follows the run while it goes
          break;
        case 'status':
          if (live?.runId === e.runId) set({ live: { ...live, status: e.status, etaSeconds: e.status === 'running' ? live.etaSeconds : null } });
          void get().refreshRuns();
          break;
        default:
      }
    };
    const run = async (f: () => Promise<unknown>) => {
      try { await f(); } catch (e) { fail(e); } finally { void get().refreshRuns(); }
    };
    return {
      ...engineInitialState,
      probe: async () => {
        try { set({ adapter: await engine.probe() }); } catch (e) { fail(e); }
      },
      loadModel: async (source, weights) => {
        set({ loading: { message: 'Starting', loaded: 0, total: 0 }, error: null });
        try {
          const model = await engine.loadModel({ source, weights }, (e) => { if (e.type === 'load') set({ loading: { message: e.message, loaded: e.loaded, total: e.total } }); });
          set({ model, deviceLost: null });
          lastLoad = { source, weights };
          onModelLoaded?.(source);
        } catch (e) {
          fail(e);
        } finally {
          set({ loading: null });
        }
      },
      startRun: (args) => run(() => engine.startRun(args, onRunEvent)),
      startPreferenceRun: (args) => run(() => engine.startPreferenceRun(args, onRunEvent)),
      startGrpoRun: (args) => run(() => engine.startGrpoRun(args, onRunEvent)),
      resumeRun: (runId) => run(() => engine.resumeRun({ runId }, onRunEvent)),
      control: async (action) => {
        const live = get().live;
        if (!live) return;
        try { await engine.control({ runId: live.runId, action }); } catch (e) { fail(e); }
      },
      refreshRuns: async () => {
        try { set({ runs: await engine.listRuns() }); } catch (e) { fail(e); }
      },
      deleteRun: (runId) => run(async () => { await engine.deleteRun({ runId }); await get().refreshEvaluations(); }),
      exportAdapter: async (runId, checkpoint) => {
        try { return await engine.exportAdapter({ runId, checkpoint }); } catch (e) { fail(e); return null; }
      },
      importAdapter: async (args) => {
        try {
          const record = await engine.importAdapter(args);
          await get().refreshAdapters();
          return { record };
        } catch (e) {
          return { refused: errorMessage(e), otherBaseModel: e instanceof Error && e.name === BASE_MODEL_MISMATCH };
        }
      },
      refreshAdapters: async () => {
        try { set({ adapters: await engine.listAdapters() }); } catch (e) { fail(e); }
      },
      renameAdapter: async (adapterId, name) => {
        try { await engine.renameAdapter({ adapterId, name }); } catch (e) { fail(e); } finally { await get().refreshAdapters(); }
      },
      deleteAdapter: async (adapterId) => {
        try { await engine.deleteAdapter({ adapterId }); } catch (e) { fail(e); } finally { await get().refreshAdapters(); await get().refreshEvaluations(); }
      },
      saveEvaluation: async (e) => {
        try { await engine.saveEvaluation(e); } catch (err) { fail(err); } finally { await get().refreshEvaluations(); }
      },
      refreshEvaluations: async () => {
        try { set({ evaluations: await engine.listEvaluations({}) }); } catch (e) { fail(e); }
      },
      dismissError: () => set({ error: null }),
      restartEngine: async () => {
        if (!restart) return;
        restart();
        set({ engineLost: null, deviceLost: null, model: null, error: null });
        await get().probe();
        await Promise.all([get().refreshRuns(), get().refreshAdapters(), get().refreshEvaluations()]);
        if (lastLoad) await get().loadModel(lastLoad.source, lastLoad.weights);
      },
    };
  });
  engine.onUnsolicited((e) => {
    // The worker keeps the model's weights on the CPU and makes a new device on the next call.
    if (e.type === 'device-lost') store.setState({ deviceLost: e.message });
    // Nothing of it is left: no model, no load going on, and a run it trained ends where its last checkpoint is.
    if (e.type === 'engine-lost') {
      const live = store.getState().live;
      store.setState({
        engineLost: e.message, model: null, loading: null,
        live: live && (live.status === 'running' || live.status === 'paused') ? { ...live, status: 'interrupted', etaSeconds: null } : live,
      });
    }
  });
  return store;
}

let shared: EngineStore | null = null;

/** The app's engine store, on the engine worker; created on first use. */
export function appEngineStore(): EngineStore {
  if (!shared) {
    const s = createEngineStore({ engine: appEngine(), onModelLoaded: rememberModel, restart: restartAppEngine });
    shared = s;
    void s.getState().probe();
    void s.getState().refreshRuns();
    void s.getState().refreshAdapters();
    void s.getState().refreshEvaluations();
  }
  return shared;
}

export function useEngine<T>(selector: (s: EngineState & EngineActions) => T): T {
  return useStore(appEngineStore(), selector);
}

export const engineSelectors = {
  /** Training refused or slow: what to tell the user about WebGPU here. */
  adapterMessage: (s: Pick<EngineState, 'adapter'>): { level: 'error' | 'warning'; text: string } | null => {
    const a = s.adapter;
    if (!a) return null;
    if (!a.available) return { level: 'error', text: `No WebGPU here: ${a.reason ?? ''} You can still prepare and export datasets, and train them with the command line (npm run studio -- train).` };
    if (a.software) return { level: 'warning', text: `Only a software GPU adapter is available (${a.architecture || a.description || 'software'}). Training works but is very slow; use a tiny model, or a browser and machine with a real GPU (check chrome://gpu).` };
    return null;
  },
  isRunning: (s: EngineState) => s.live !== null && (s.live.status === 'running' || s.live.status === 'paused'),
};
