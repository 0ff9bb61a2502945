// The GRPO panel's state on the Train screen, one zustand store built like every store here (createGrpoStore(deps) for
// tests, appGrpoStore() the page's own, useGrpo(selector) in components): the GRPO settings (G, answer length,
// temperature, β, loss type, μ, the clip, reward scaling and time limit) and the rewards (built-ins and JavaScript
// functions, each with a weight), what the run starts from, "try it on 4 samples" (the engine's previewRewards on 4
// prompts of the open dataset's train split) and a message. start() hands the run to the engine store's startGrpoRun
// (runs are watched, stored and resumed there like every run). The settings, reward code included,
// are kept in localStorage: code the user wrote outlives a reload.
// Not here: the run's live state (app/store/engine.ts), the LoRA and optimizer settings (the form's), the panel.
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { DatasetRecord } from '../../../src/data/record';
import type { Engine, RewardPreview, StartGrpoRunArgs } from '../../../src/engine/api';
import { errorMessage } from '../../../src/errors';
import type { DatasetMeta } from '../../../src/storage/repository';
import { DEFAULT_GRPO, type GrpoConfig } from '../../../src/train/grpo';
import type { RunConfig } from '../../../src/train/presets';
import type { RewardCheck, RewardSpec } from '../../../src/train/rewards';
import { appDatasetsStore } from '../../store';
import { appEngineStore } from '../../store/engine';
import { appEngine } from '../../store/engine-worker';

/** How many prompts "try it" answers. */
export const TRY_PROMPTS = 4;

/** What a new JavaScript reward's editor holds: the contract, and a reward that works on the sample dataset. */
export const REWARD_TEMPLATE = `// One reward for one sampled answer: return a number (higher is better), or a Promise of one.
// prompt: the last user turn; messages: the turns answered; completion: the answer;
// reference: the row's assistant answer, or null. No imports; no network, DOM or storage.
export default ({ prompt, messages, completion, reference }) => {
  if (reference === null) return 0;
  const words = (s) => s.toLowerCase().match(/[a-z0-9']+/g) ?? [];
  const want = new Set(words(reference));
  const got = words(completion);
  return got.length ? got.filter((w) => want.has(w)).length / got.length : 0;
};
`;

/** The panel's GRPO settings before any change: TRL's defaults, sized for a browser (G 4, 32 new tokens). */
export const PANEL_GRPO: GrpoConfig = {
  ...DEFAULT_GRPO, numGenerations: 4, maxNewTokens: 32,
  rewards: [{ kind: 'exact', weight: 1 }, { kind: 'ends-cleanly', weight: 0.2 }],
};

/** A new reward of a kind, with its fields' starting values (a function's name made unique among `taken`). */
export function newReward(kind: RewardCheck['kind'], taken: readonly RewardSpec[]): RewardSpec {
  switch (kind) {
    case 'exact': case 'ends-cleanly': return { kind, weight: 1 };
    case 'contains': return { kind, text: 'lives in', weight: 1 };
    case 'regex': return { kind, pattern: '\\.$', weight: 1 };
    case 'length': return { kind, min: 1, max: 80, weight: 1 };
    case 'function': {
      const names = new Set(taken.flatMap((r) => (r.kind === 'function' ? [r.name] : [])));
      let n = 1;
      while (names.has(`reward${n}`)) n++;
      return { kind, name: `reward${n}`, source: REWARD_TEMPLATE, weight: 1 };
    }
  }
}

/** The run a GRPO start makes of the form's settings, as startGrpoRun does (runs.ts): no validation split, no packing; what the estimate and "try it" read. */
export function grpoRunConfig(form: RunConfig, grpo: GrpoConfig): RunConfig {
  const { preference: _, ...rest } = form;
  return { ...rest, evalEvery: 0, earlyStopPatience: 0, packing: false, grpo };
}

/** The prompts a GRPO run trains on: the open dataset's unflagged train split (a final assistant turn is the reference). */
export const promptRecords = (records: readonly DatasetRecord[]) => records.filter((r) => !r.flagged && r.split === 'train');

/** `n` rows spread evenly over `rows` (the first, and then every len/n-th): a look at more than the first few. */
export function spread<T>(rows: readonly T[], n: number): T[] {
  if (rows.length <= n) return [...rows];
  return Array.from({ length: n }, (_, i) => rows[Math.floor((i * rows.length) / n)]);
}

interface GrpoState {
  grpo: GrpoConfig;
  /** The run whose last checkpoint GRPO continues; '' for a new adapter. */
  startRun: string;
  /** "Try it on 4 samples": running, and its latest answer (cleared when a reward changes: it would not be theirs). */
  trying: boolean;
  preview: RewardPreview | null;
  message: string | null;
}

interface GrpoActions {
  set(patch: Partial<Omit<GrpoConfig, 'rewards'>>): void;
  setStart(runId: string): void;
  addReward(kind: RewardCheck['kind']): void;
  updateReward(index: number, spec: RewardSpec): void;
  removeReward(index: number): void;
  /** Answers TRY_PROMPTS prompts as the run would (the form's settings with these) and scores them. */
  tryRewards(form: RunConfig): Promise<void>;
  start(form: RunConfig): Promise<void>;
}

export type GrpoSlice = GrpoState & GrpoActions;
export type GrpoStore = StoreApi<GrpoSlice>;

export interface GrpoStoreDeps {
  engine: () => Engine;
  /** Starts a run where runs are watched (the engine store's startGrpoRun). */
  startGrpoRun: (args: StartGrpoRunArgs) => Promise<void>;
  /** The open dataset: its records and what it is. */
  dataset: () => { records: readonly DatasetRecord[]; current: DatasetMeta | null };
  /** The settings as they were left (null: the panel's defaults), and where changes go. */
  saved?: { load(): GrpoConfig | null; save(g: GrpoConfig): void };
}

export function createGrpoStore(deps: GrpoStoreDeps): GrpoStore {
  const store = createStore<GrpoSlice>()((set, get) => {
    const rewards = (f: (r: RewardSpec[]) => RewardSpec[]) => set({ grpo: { ...get().grpo, rewards: f([...get().grpo.rewards]) }, preview: null });
    return {
      grpo: deps.saved?.load() ?? PANEL_GRPO, startRun: '', trying: false, preview: null, message: null,
      set: (patch) => set({ grpo: { ...get().grpo, ...patch } }),
      setStart: (startRun) => set({ startRun, preview: null }),
      addReward: (kind) => rewards((r) => [...r, newReward(kind, r)]),
      updateReward: (index, spec) => rewards((r) => r.map((x, i) => (i === index ? spec : x))),
      removeReward: (index) => rewards((r) => r.filter((_, i) => i !== index)),

      async tryRewards(form) {
        const rows = spread(promptRecords(deps.dataset().records), TRY_PROMPTS);
        const { startRun } = get();
        set({ trying: true, message: null });
        try {
          if (rows.length === 0) throw new Error('the open dataset has no training rows to take prompts from');
          const preview = await deps.engine().previewRewards({
            adapter: startRun ? { kind: 'run', runId: startRun, checkpoint: 'last' } : { kind: 'base' },
            records: rows.map((r) => ({ messages: r.messages })), config: grpoRunConfig(form, get().grpo),
          });
          set({ preview });
        } catch (e) {
          set({ message: errorMessage(e), preview: null });
        } finally {
          set({ trying: false });
        }
      },

      async start(form) {
        const { records, current } = deps.dataset();
        const { startRun } = get();
        set({ message: null });
        await deps.startGrpoRun({
          name: `GRPO on ${current?.name ?? 'the current dataset'}`, config: form, grpo: get().grpo,
          records: promptRecords(records).map((r) => ({ messages: r.messages, split: r.split })),
          dataset: current ? { id: current.id, name: current.name, version: current.head } : null,
          start: startRun ? { kind: 'run', runId: startRun, checkpoint: 'last' } : null,
        });
      },
    };
  });
  if (deps.saved) {
    const { save } = deps.saved;
    store.subscribe((s, before) => { if (s.grpo !== before.grpo) save(s.grpo); });
  }
  return store;
}

const KEY = 'sft-studio.grpo-settings';

/**
 * Stored settings (JSON text) over the panel's defaults, field by field (a field of another type, an older shape, keeps
 * its default), or null when there are none. A number field left unparseable was written as null: it reads back as
 * NaN, which the checks then name, and the reward code around it is kept.
 */
export function readGrpoSettings(text: string | null): GrpoConfig | null {
  try {
    const v = JSON.parse(text ?? 'null') as Record<string, unknown> | null;
    if (!v || typeof v !== 'object') return null;
    const out: Record<string, unknown> = { ...PANEL_GRPO };
    for (const [k, d] of Object.entries(PANEL_GRPO)) {
      if (k === 'rewards') continue;
      if (typeof v[k] === typeof d) out[k] = v[k];
      else if (typeof d === 'number' && v[k] === null) out[k] = NaN;
    }
    if (Array.isArray(v.rewards)) {
      out.rewards = v.rewards.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object' && typeof r.kind === 'string')
        .map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k, x === null ? NaN : x])));
    }
    return out as unknown as GrpoConfig;
  } catch {
    return null;
  }
}

let shared: GrpoStore | null = null;

/** The page's GRPO panel store, on the page's engine and datasets; made on first use. */
export function appGrpoStore(): GrpoStore {
  shared ??= createGrpoStore({
    engine: appEngine,
    startGrpoRun: (args) => appEngineStore().getState().startGrpoRun(args),
    dataset: () => appDatasetsStore().getState(),
    saved: { load: () => readGrpoSettings(globalThis.localStorage?.getItem(KEY) ?? null), save: (g) => globalThis.localStorage?.setItem(KEY, JSON.stringify(g)) },
  });
  return shared;
}

export function useGrpo<T>(selector: (s: GrpoSlice) => T): T {
  return useStore(appGrpoStore(), selector);
}
