// Compare's conversation mode, as one zustand store (createChatStore(deps) for tests, appChatStore() the page's own,
// useChat(selector) in components): the conversation on screen, the stored ones, and the settings of a new one
// (history: the shared reference or each model's own answers; a system message).
//
// Contract: a conversation takes its columns, sampling settings and model when its first turn is sent and keeps them
// (answers are keyed by column; a later turn with another model loaded is refused by name). Sending a turn asks every
// column in turn (one resident model in the engine: never in parallel) through the engine's chat call, with the
// messages src/eval/conversation.ts gives it (askedMessages), streaming tokens; in the shared history the previous
// turn's reference is frozen first, so marking or editing it later never changes what was asked. The conversation is
// stored after every turn, mark and edit (saveConversation: with the runs and adapters it compared); a failure to store
// is shown and the conversation stays on screen.
// Not here: the histories, pairs and SFT rows (src/eval/conversation.ts), rendering (ConversationView.tsx).
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Engine } from '../../../src/engine/api';
import { askedMessages, referenceOf, type HistoryMode, type TurnAnswer } from '../../../src/eval/conversation';
import { errorMessage } from '../../../src/errors';
import { generateBackend } from '../../../src/generate/decoder';
import { subjectOf, type ConversationRecord } from '../../../src/storage/runs';
import { appEngine } from '../../store/engine-worker';
import { engineSampling, type Column, type Sampling } from './store';

/** What a new conversation is answered with: Compare's columns and sampling, and the loaded model. */
export interface ChatSetup { columns: Column[]; sampling: Sampling; model: { name: string; fingerprint: string } }

interface ChatState {
  conversation: ConversationRecord | null;
  /** Stored conversations, the last changed first. */
  stored: ConversationRecord[];
  generating: boolean;
  /** For the next new conversation. */
  history: HistoryMode;
  system: string;
  error: string | null;
}

interface ChatActions {
  setHistory(h: HistoryMode): void;
  setSystem(text: string): void;
  /** Sends the user's turn: a new conversation with `setup`, or the next turn of the one on screen. */
  send(text: string, setup: ChatSetup): Promise<void>;
  /** Marks `column`'s answer to turn t better (null: no mark). */
  markBetter(t: number, column: string | null): Promise<void>;
  /** The user's own text for turn t's reference (null: back to the models' answers). */
  edit(t: number, text: string | null): Promise<void>;
  /** Reads the stored conversations; shows the newest when none is on screen. */
  refresh(): Promise<void>;
  open(id: string): void;
  startNew(): void;
  remove(id: string): Promise<void>;
  dismissError(): void;
}

export type ChatStore = StoreApi<ChatState & ChatActions>;

const pending: TurnAnswer = { text: '', tokens: [], finishReason: null, tokensPerSecond: 0, done: false, error: null, note: null };

export function createChatStore(deps: { engine: () => Engine; now?: () => number }): ChatStore {
  const now = deps.now ?? Date.now;
  return createStore<ChatState & ChatActions>()((set, get) => {
    /** The user asked for a new conversation: a refresh leaves the screen blank. */
    let blank = false;
    const replace = (c: ConversationRecord) => set({ conversation: c, stored: [c, ...get().stored.filter((x) => x.id !== c.id)] });
    /** Stores the conversation on screen; a failure is shown, the conversation stays. */
    const persist = async () => {
      const c = get().conversation;
      if (!c) return;
      try { await deps.engine().saveConversation(c); } catch (e) { set({ error: `The conversation could not be stored: ${errorMessage(e)}` }); }
    };
    const change = async (t: number, patch: Partial<ConversationRecord['turns'][number]>) => {
      const c = get().conversation;
      if (!c || get().generating || !c.turns[t]) return;
      replace({ ...c, updatedAt: now(), turns: c.turns.map((x, i) => (i === t ? { ...x, ...patch } : x)) });
      await persist();
    };
    return {
      conversation: null,
      stored: [],
      generating: false,
      history: 'shared',
      system: '',
      error: null,

      setHistory: (history) => set({ history }),
      setSystem: (system) => set({ system }),

      send: async (text, setup) => {
        if (get().generating || !text.trim()) return;
        let c = get().conversation;
        if (c && c.model.fingerprint !== setup.model.fingerprint) {
          set({ error: `This conversation was answered by ${c.model.name}; load that model to go on, or start a new conversation.` });
          return;
        }
        const t0 = now();
        blank = false;
        c ??= {
          id: `chat-${t0.toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`, createdAt: t0, updatedAt: t0, title: text.trim().slice(0, 120),
          model: setup.model, sampling: setup.sampling, columns: setup.columns,
          subjects: [...new Set(setup.columns.flatMap((x) => subjectOf(x.adapter) ?? []))],
          history: get().history, system: get().system.trim() || null, turns: [],
        };
        const t = c.turns.length;
        // The shared history's last reference is frozen now: what this turn is asked with stays what was asked.
        const turns = c.history === 'shared' && t > 0 ? c.turns.map((x, i) => (i === t - 1 ? { ...x, reference: referenceOf(c!, i) } : x)) : c.turns;
        replace({ ...c, updatedAt: t0, turns: [...turns, { user: text, answers: Object.fromEntries(c.columns.map((x) => [x.id, pending])), better: null, edited: null, reference: null }] });
        set({ generating: true, error: null });
        const put = (column: string, a: Partial<TurnAnswer>) => {
          const cur = get().conversation!;
          const turn = cur.turns[t];
          set({ conversation: { ...cur, turns: [...cur.turns.slice(0, t), { ...turn, answers: { ...turn.answers, [column]: { ...turn.answers[column], ...a } } }] } });
        };
        const stored = get().conversation!.sampling;
        const sampling = { ...stored, backend: generateBackend(stored.backend) };
        for (const col of c.columns) {
          const started = performance.now();
          const tokens: number[] = [];
          try {
            const messages = askedMessages(get().conversation!, col.id, t);
            const r = await deps.engine().chat({ adapter: col.adapter, messages, sampling: engineSampling(sampling), backend: sampling.backend }, (e) => {
              if (e.type === 'note') put(col.id, { note: e.message });
              if (e.type !== 'token') return;
              tokens.push(e.token);
              put(col.id, { text: e.text, tokens: [...tokens], tokensPerSecond: tokens.length / Math.max(1e-3, (performance.now() - started) / 1000) });
            });
            put(col.id, { text: r.text, tokens: r.tokens, finishReason: r.finishReason, tokensPerSecond: r.tokensPerSecond, done: true });
          } catch (e) {
            put(col.id, { done: true, error: errorMessage(e) });
          }
        }
        replace({ ...get().conversation!, updatedAt: now() });
        set({ generating: false });
        await persist();
      },

      markBetter: (t, column) => change(t, { better: column }),
      edit: (t, text) => change(t, { edited: text }),

      refresh: async () => {
        try {
          const stored = await deps.engine().listConversations({});
          const on = get().conversation;
          set({ stored, conversation: on ? stored.find((x) => x.id === on.id) ?? (get().generating ? on : null) : blank ? null : stored[0] ?? null });
        } catch (e) {
          set({ error: errorMessage(e) });
        }
      },

      open: (id) => {
        if (get().generating) return;
        const c = get().stored.find((x) => x.id === id);
        if (c) { blank = false; set({ conversation: c, error: null }); }
      },

      startNew: () => { if (!get().generating) { blank = true; set({ conversation: null, error: null }); } },

      remove: async (id) => {
        if (get().generating) return;
        try {
          await deps.engine().deleteConversation({ conversationId: id });
          set({ stored: get().stored.filter((x) => x.id !== id), conversation: get().conversation?.id === id ? null : get().conversation });
        } catch (e) {
          set({ error: `The conversation could not be deleted: ${errorMessage(e)}` });
        }
      },

      dismissError: () => set({ error: null }),
    };
  });
}

let shared: ChatStore | null = null;

/** The page's conversation store, on the page's engine; made on first use. */
export function appChatStore(): ChatStore {
  shared ??= createChatStore({ engine: appEngine });
  return shared;
}

export function useChat<T>(selector: (s: ChatState & ChatActions) => T): T {
  return useStore(appChatStore(), selector);
}
