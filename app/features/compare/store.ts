// The Compare screen's state, as one zustand store that outlives the tab (switching to Train and back keeps the
// answers, the marks and a finished batch): sampling settings, the columns (base, runs, imported adapters), the
// mode (one prompt, or a conversation: chat-store.ts), the current prompt and its answers, per-prompt verdicts,
// several sampled answers from one column with the one marked better (preference pairs beside the verdicts'), and
// the batch evaluation.
//
// Generation goes through the Engine (the page's: app/store/engine-worker.ts); calls are made one after another, never
// in parallel, because base and every adapter share one resident model in the worker. A batch is one engine
// call (evaluate: src/engine/evaluate.ts), its rows arriving as progress and its summaries at the end. A finished (or stopped)
// batch is stored through the engine with its sampling settings, dataset version and marks
// (EvaluationRecord), keyed by the runs and adapters it evaluated; a stored one can be shown again.
// Not here: scoring (src/eval/metrics.ts), files (src/eval/export.ts), rendering (the components).
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ChatMessage } from '../../../src/data/types';
import type { SamplingOptions } from '../../../src/generate/sampler';
import { DEFAULT_TRAIN } from '../../../src/train/trainer';
import { promptAndReference, type EvalSummary, type Generation, type Verdict } from '../../../src/eval/metrics';
import type { ChosenRejected, EvalPrompt, EvalRow, PreferenceMark } from '../../../src/eval/export';
import { promptText } from '../../../src/eval/export';
import { subjectOf, type EvaluationRecord } from '../../../src/storage/runs';
import { generateBackend, type GenerateBackend } from '../../../src/generate/decoder';
import type { AdapterChoice, Engine, GenerateArgs, GenerateResult } from '../../../src/engine/api';
import { enginePrompt } from '../../../src/engine/evaluate';
import { errorMessage } from '../../../src/errors';
import { appEngine } from '../../store/engine-worker';

export interface Sampling extends SamplingOptions { maxNewTokens: number; stopStrings: string[]; chatTemplate: boolean; backend: GenerateBackend }

const DEFAULT_SAMPLING: Sampling = {
  temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, maxNewTokens: 32, stopStrings: [], chatTemplate: true, backend: 'auto',
};

/** One answering model: a label for the user and what the engine loads. */
export interface Column { id: string; label: string; adapter: AdapterChoice }

const BASE_COLUMN: Column = { id: 'base', label: 'Base', adapter: { kind: 'base' } };

export interface Answer extends Generation { done: boolean; error: string | null; backend?: GenerateResult['backend']; cpuStep?: boolean }

/** The prompt on screen: from a dataset row (with its reference) or typed. */
interface CurrentPrompt { key: string; prompt: EvalPrompt; reference: string | null }

/** Several sampled answers from one column to the prompt on screen (generateSamples), and the one marked better. */
export interface SamplesState {
  /** This set's id: its marked pairs are kept under it. */
  id: string;
  prompt: EvalPrompt;
  column: Column;
  answers: Answer[];
  running: boolean;
  /** The answer marked better, or null. */
  better: number | null;
}

/** What a batch was run on, stored with it. */
interface BatchContext {
  model: { name: string; fingerprint: string };
  dataset: { id: string; name: string; version: number } | null;
}

export interface BatchState {
  /** The stored EvaluationRecord's id and time. */
  id: string;
  createdAt: number;
  context: BatchContext;
  sampling: Sampling;
  total: number;
  done: number;
  running: boolean;
  columns: Column[];
  rows: EvalRow[];
  summaries: Record<string, EvalSummary>;
  error: string | null;
}

interface CompareState {
  mode: 'prompt' | 'conversation';
  sampling: Sampling;
  columns: Column[];
  current: CurrentPrompt | null;
  answers: Record<string, Answer>;
  generating: boolean;
  /** Verdicts keyed by prompt key; base vs the first tuned column. */
  marks: Record<string, PreferenceMark>;
  samples: SamplesState | null;
  /** The pairs each marked set of samples gives (the better answer against each other one), by set id. */
  samplePairs: Record<string, ChosenRejected[]>;
  batch: BatchState | null;
  error: string | null;
}

interface CompareActions {
  setMode(mode: CompareState['mode']): void;
  setSampling(patch: Partial<Sampling>): void;
  addColumn(c: Column): void;
  removeColumn(id: string): void;
  setColumns(cs: Column[]): void;
  /** Answers `prompt` with every column in turn, streaming into `answers`. */
  ask(p: CurrentPrompt): Promise<void>;
  mark(key: string, verdict: Verdict | null, answers?: { prompt: EvalPrompt; base: string; tuned: string }): void;
  /** `count` sampled answers from `column` to the prompt on screen, streaming into `samples`. */
  askSamples(column: Column, count: number): Promise<void>;
  /** Marks sample i better than the others (null: no mark); the pairs go with the preferences download. */
  markSample(i: number | null): void;
  /** Runs every column over `records` (prompt up to the last assistant turn, its content as reference), then stores it. */
  runBatch(records: { messages: ChatMessage[] }[], context: BatchContext): Promise<void>;
  /** Shows a stored evaluation as the batch (with its marks). */
  showStored(e: EvaluationRecord): void;
  cancelBatch(): void;
  dismissError(): void;
}

export type CompareStore = StoreApi<CompareState & CompareActions>;

const EMPTY_ANSWER: Answer = { text: '', tokens: [], finishReason: null, tokensPerSecond: 0, done: false, error: null };

/** The verdict key of a batch row (marks on batch rows are stored with the evaluation). */
export const batchKey = (r: { index: number; prompt: EvalRow['prompt'] }) => `batch:${r.index}:${promptText(r.prompt)}`;

/** The batch as the record the engine stores. */
function evaluationRecord(b: BatchState, marks: Record<string, PreferenceMark>): EvaluationRecord {
  const keys = new Set(b.rows.map(batchKey));
  return {
    id: b.id, createdAt: b.createdAt, model: b.context.model, dataset: b.context.dataset, sampling: b.sampling,
    columns: b.columns, subjects: [...new Set(b.columns.flatMap((c) => subjectOf(c.adapter) ?? []))], total: b.total,
    rows: b.rows, summaries: b.summaries, marks: Object.fromEntries(Object.entries(marks).filter(([k]) => keys.has(k))), error: b.error,
  };
}

export function engineSampling(s: Sampling): GenerateArgs['sampling'] {
  return { temperature: s.temperature, topK: s.topK, topP: s.topP, repetitionPenalty: s.repetitionPenalty, seed: s.seed, maxNewTokens: s.maxNewTokens, stopStrings: s.stopStrings };
}

export function createCompareStore(engine: () => Engine, now: () => number = Date.now): CompareStore {
  return createStore<CompareState & CompareActions>()((set, get) => {
    /** Stores the finished batch; a failure to store is shown, the results stay on screen. */
    const persist = async () => {
      const b = get().batch;
      if (!b || b.running) return;
      try { await engine().saveEvaluation(evaluationRecord(b, get().marks)); } catch (e) { set({ error: `The results could not be stored: ${errorMessage(e)}` }); }
    };
    return {
      mode: 'prompt',
      sampling: DEFAULT_SAMPLING,
      columns: [BASE_COLUMN],
      current: null,
      answers: {},
      generating: false,
      marks: {},
      samples: null,
      samplePairs: {},
      batch: null,
      error: null,

      setMode: (mode) => set({ mode }),
      setSampling: (patch) => set({ sampling: { ...get().sampling, ...patch } }),
      addColumn: (c) => { if (!get().columns.some((x) => x.id === c.id)) set({ columns: [...get().columns, c] }); },
      removeColumn: (id) => set({ columns: get().columns.filter((c) => c.id !== id) }),
      setColumns: (cs) => set({ columns: cs }),

      ask: async (p) => {
        if (get().generating || get().batch?.running) return;
        const { columns, sampling } = get();
        set({ current: p, generating: true, error: null, answers: Object.fromEntries(columns.map((c) => [c.id, EMPTY_ANSWER])), samples: null });
        for (const c of columns) {
          const put = (a: Partial<Answer>) => set({ answers: { ...get().answers, [c.id]: { ...get().answers[c.id], ...a } } });
          const t0 = performance.now();
          const tokens: number[] = [];
          try {
            const r = await engine().generate({ adapter: c.adapter, prompt: enginePrompt(p.prompt, sampling.chatTemplate), sampling: engineSampling(sampling), backend: sampling.backend }, (e) => {
              if (e.type !== 'token') return;
              tokens.push(e.token);
              put({ text: e.text, tokens: [...tokens], tokensPerSecond: tokens.length / Math.max(1e-3, (performance.now() - t0) / 1000) });
            });
            put({ ...r, done: true });
          } catch (e) {
            put({ done: true, error: errorMessage(e) });
          }
        }
        set({ generating: false });
      },

      mark: (key, verdict, answers) => {
        const marks = { ...get().marks };
        if (verdict === null) delete marks[key];
        else {
          const prev = marks[key];
          const a = answers ?? prev;
          if (!a) return;
          marks[key] = { prompt: a.prompt, base: a.base, tuned: a.tuned, verdict };
        }
        set({ marks });
        if (key.startsWith('batch:')) void persist();
      },

      askSamples: async (column, count) => {
        const { current, sampling } = get();
        if (!current || get().generating || get().batch?.running) return;
        const id = `samples-${now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
        set({ generating: true, error: null, samples: { id, prompt: current.prompt, column, answers: Array(count).fill(EMPTY_ANSWER), running: true, better: null } });
        const put = (i: number, a: Partial<Answer>) => {
          const s = get().samples!;
          set({ samples: { ...s, answers: s.answers.map((x, j) => (j === i ? { ...x, ...a } : x)) } });
        };
        const t0 = performance.now();
        const tokens: number[][] = Array.from({ length: count }, () => []);
        try {
          const rs = await engine().generateSamples({ adapter: column.adapter, prompt: enginePrompt(current.prompt, sampling.chatTemplate), sampling: engineSampling(sampling), backend: sampling.backend, samples: count }, (e) => {
            if (e.type !== 'token' || e.sample === undefined) return;
            tokens[e.sample].push(e.token);
            put(e.sample, { text: e.text, tokens: [...tokens[e.sample]], tokensPerSecond: tokens[e.sample].length / Math.max(1e-3, (performance.now() - t0) / 1000) });
          });
          rs.forEach((r, i) => put(i, { ...r, done: true }));
        } catch (e) {
          const s = get().samples!;
          set({ samples: { ...s, answers: s.answers.map((a) => ({ ...a, done: true, error: a.done ? a.error : errorMessage(e) })) } });
        }
        set({ generating: false, samples: { ...get().samples!, running: false } });
      },

      markSample: (i) => {
        const s = get().samples;
        if (!s || s.running) return;
        const samplePairs = { ...get().samplePairs };
        if (i === null) delete samplePairs[s.id];
        else {
          const counted = (a: Answer) => a.done && a.error === null;
          if (!counted(s.answers[i])) return;
          samplePairs[s.id] = s.answers.filter((a, j) => j !== i && counted(a)).map((a) => ({ prompt: s.prompt, chosen: s.answers[i].text, rejected: a.text }));
        }
        set({ samples: { ...s, better: i }, samplePairs });
      },

      runBatch: async (records, context) => {
        if (get().generating || get().batch?.running) return;
        const { columns, sampling } = get();
        const t = now();
        set({
          batch: {
            id: `eval-${t.toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`, createdAt: t, context, sampling,
            total: records.filter((r) => promptAndReference(r.messages) !== null).length, done: 0, running: true, columns, rows: [], summaries: {}, error: null,
          },
        });
        try {
          // One engine call: the rows arrive as progress, the summaries (loss and perplexity as the CLI's `eval` computes them) at the end.
          const r = await engine().evaluate({
            records, columns: columns.map((c) => ({ id: c.id, adapter: c.adapter })), chatTemplate: sampling.chatTemplate,
            sampling: engineSampling(sampling), backend: sampling.backend, maxSeqLength: DEFAULT_TRAIN.maxSeqLength,
          }, (e) => { if (e.type === 'evaluate') set({ batch: { ...get().batch!, done: e.done, rows: [...get().batch!.rows, e.row] } }); });
          set({ batch: { ...get().batch!, running: false, total: r.total, done: r.rows.length, rows: r.rows, summaries: r.summaries, error: r.error } });
        } catch (e) {
          set({ batch: { ...get().batch!, running: false, error: errorMessage(e) } });
        }
        if (get().batch!.rows.length > 0) await persist();
      },

      showStored: (e) => {
        if (get().batch?.running) return;
        set({
          batch: {
            id: e.id, createdAt: e.createdAt, context: { model: e.model, dataset: e.dataset }, sampling: { ...e.sampling, backend: generateBackend(e.sampling.backend) },
            total: e.total, done: e.rows.length, running: false, columns: e.columns, rows: e.rows, summaries: e.summaries, error: e.error,
          },
          marks: { ...get().marks, ...e.marks },
        });
      },

      cancelBatch: () => { void engine().stopEvaluation(); },
      dismissError: () => set({ error: null }),
    };
  });
}

let shared: CompareStore | null = null;

/** The page's Compare store, on the page's engine; made on first use. */
export function appCompareStore(): CompareStore {
  shared ??= createCompareStore(appEngine);
  return shared;
}

export function useCompare<T>(selector: (s: CompareState & CompareActions) => T): T {
  return useStore(appCompareStore(), selector);
}
