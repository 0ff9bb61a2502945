// The datasets slice's tokens: the tokenizer the counts use (the loaded model's, read from whoever holds it, or picked
// files), token statistics, and a row's tokens as the loss sees them (a pair: both answers after the shared prompt).
import { preferenceParts } from '../../../src/data/record';
import type { TokenizerInfo } from '../../../src/data/tokens';
import { errorMessage } from '../../../src/errors';
import type { DatasetsActions } from './actions';
import type { DatasetsContext } from './context';

export function tokenActions({ set, get, deps, guarded }: DatasetsContext): Pick<DatasetsActions, 'loadTokenizer' | 'countWithModelTokenizer' | 'computeTokenStats' | 'setAssistantOnly' | 'previewExample'> {
  /** Loads a tokenizer into the data tools for statistics and previews, then counts with it. */
  async function switchTokenizer(origin: 'model' | 'files', load: () => Promise<{ name: string; info: TokenizerInfo }>) {
    const { name, info } = await load();
    set({ tokenizer: { name, origin, info }, tokenStats: null, tokenCounts: null, preview: null, ...(origin === 'model' ? { modelTokenizer: name } : {}) });
    await get().computeTokenStats();
  }
  return {
    async loadTokenizer(files) {
      const json = files.find((f) => f.name === 'tokenizer.json') ?? files.find((f) => /tokenizer.*\.json$/.test(f.name) && !/config/.test(f.name));
      const config = files.find((f) => f.name === 'tokenizer_config.json') ?? files.find((f) => /config.*\.json$/.test(f.name));
      if (!json) { set({ error: 'Pick the model\'s tokenizer.json (and tokenizer_config.json for its chat template).' }); return; }
      await guarded(async () => {
        const files = { name: json.name + (config ? ` + ${config.name}` : ''), tokenizerJson: await json.text(), tokenizerConfig: config ? await config.text() : null };
        await switchTokenizer('files', async () => ({ name: files.name, info: await deps.tools.loadTokenizer(files) }));
      });
    },

    async countWithModelTokenizer() {
      await guarded(() => switchTokenizer('model', () => deps.tools.loadModelTokenizer().catch((e: unknown) => {
        throw new Error(`Could not read the loaded model's tokenizer: ${errorMessage(e)}`);
      })));
    },

    async computeTokenStats() {
      if (!get().tokenizer) return;
      await guarded(async () => {
        const { records, quality, assistantOnly } = get();
        const stats = await deps.tools.tokenStats(records, { maxSeqLen: quality.maxSeqLen, assistantOnly }, (p) => set({ progress: p }));
        const rev = new Map(records.map((r) => [r.id, r.rev]));
        set({ tokenStats: stats, tokenCounts: new Map(stats.lengths.map(([id, n]) => [`${id}:${rev.get(id)}`, n])) });
      });
      set({ progress: null });
    },

    setAssistantOnly(on) {
      set({ assistantOnly: on });
      const p = get().preview;
      if (p) void get().previewExample(p.id);
      void get().computeTokenStats();
    },

    async previewExample(id) {
      const r = get().records.find((x) => x.id === id);
      if (!r || !get().tokenizer) return;
      await guarded(async () => {
        const opts = { maxSeqLen: get().quality.maxSeqLen, assistantOnly: get().assistantOnly };
        const pair = preferenceParts(r);
        if (!pair) {
          set({ preview: { id, rev: r.rev, tokens: await deps.tools.previewTokens(r.messages, opts) } });
          return;
        }
        // A pair as the preference loss sees it: each answer after the shared prompt, the answer's tokens counted.
        const answerFrom = pair.prompt.length;
        const tokens = await deps.tools.previewTokens(r.messages, { ...opts, answerFrom });
        const rejected = await deps.tools.previewTokens([...pair.prompt, ...pair.rejected], { ...opts, answerFrom });
        set({ preview: { id, rev: r.rev, tokens, rejected } });
      });
    },
  };
}
