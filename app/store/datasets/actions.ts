// The datasets slice's actions. Every change to records goes through `change`, which records an undo
// entry, clears the redo stack and hands the step to the dataset log (src/storage/dataset-log.ts), which
// makes it durable at once (journal, then versions). Heavy work (parsing, duplicate search) goes to the
// DataEngine (a worker in the app); storage to the repository and the log.
import type { StoreApi } from 'zustand/vanilla';
import type { DataEngine } from '../../../src/data/engine';
import { retryIssue } from '../../../src/data/import';
import { warmQualityFacts } from '../../../src/data/quality';
import { preferenceParts, withFlag, withMessages, type ColumnMap } from '../../../src/data/record';
import { assignSplits, type SplitConfig } from '../../../src/data/split';
import type { ViewQuery } from '../../../src/data/view';
import type { TokenizerInfo } from '../../../src/data/tokens';
import type { ChatMessage } from '../../../src/data/types';
import { createDatasetLog, type Durability } from '../../../src/storage/dataset-log';
import { EMPTY_PATCH, replayJournal, type DatasetSnapshot } from '../../../src/storage/journal';
import type { DatasetRepository, LoadedDataset } from '../../../src/storage/repository';
import { datasetsInitialState, type DatasetsState, type UndoEntry } from './initialState';
import { errorMessage } from '../../../src/errors';

export interface DatasetsActions {
  init(): Promise<void>;
  importFiles(files: File[]): Promise<void>;
  applyMapping(map: ColumnMap, remember: boolean): Promise<void>;
  skipMapping(): void;
  /** `rejected`: a preference pair's rejected answer, edited beside its messages. */
  editRecord(id: string, messages: ChatMessage[], rejected?: ChatMessage[]): void;
  setFlag(ids: readonly string[], flagged: boolean): void;
  deleteRecords(ids: readonly string[]): void;
  undo(): void;
  redo(): void;
  fixIssue(issueId: string, raw: string): void;
  dropIssues(issueIds: readonly string[]): void;
  setQuery(q: Partial<ViewQuery>): void;
  setSelected(ids: readonly string[], selected: boolean): void;
  clearSelection(): void;
  findDuplicates(opts?: { near: boolean; threshold: number }): Promise<void>;
  /** Keeps `keepId` of a duplicate group and deletes the group's other members. */
  keepOne(groupIndex: number, keepId: string): void;
  /** Keeps the first member of every duplicate group. */
  keepFirstOfAll(): void;
  applySplit(cfg: SplitConfig): void;
  setQualityOptions(q: Partial<DatasetsState['quality']>): void;
  /** Loads tokenizer.json + tokenizer_config.json (picked together) into the engine: an override of the model's. */
  loadTokenizer(files: File[]): Promise<void>;
  /**
   * Counts with the loaded model's tokenizer, which the engine reads from whoever holds the model at this moment:
   * after each model load, and to go back after picked files.
   */
  countWithModelTokenizer(): Promise<void>;
  computeTokenStats(): Promise<void>;
  setAssistantOnly(on: boolean): void;
  previewExample(id: string): Promise<void>;
  newDataset(name: string): Promise<void>;
  openDataset(id: string, version?: number): Promise<void>;
  deleteDataset(id: string): Promise<void>;
  renameDataset(name: string): Promise<void>;
  restoreVersion(version: number): Promise<void>;
  /** Writes pending changes now (a new version if anything changed). */
  flush(): Promise<void>;
  dismissError(): void;
}

export interface DatasetsDeps {
  repo: DatasetRepository;
  engine: DataEngine;
  autosaveMs?: number;
  persistent?: boolean;
}

const UNDO_LIMIT = 50;

type Set_ = StoreApi<DatasetsState & DatasetsActions>['setState'];
type Get = StoreApi<DatasetsState & DatasetsActions>['getState'];

export function createDatasetsActions(set: Set_, get: Get, deps: DatasetsDeps): DatasetsActions {
  const snapshotOf = (s: DatasetsState): DatasetSnapshot => ({ records: s.records, issues: s.issues, files: s.files, splitConfig: s.splitConfig });

  const log = createDatasetLog({
    repo: deps.repo,
    autosaveMs: deps.autosaveMs,
    current: () => { const s = get(); return s.current ? { datasetId: s.current.id, snapshot: snapshotOf(s) } : null; },
    onStatus: (save) => set(save.kind === 'error' ? { save, error: save.message } : { save }),
    async onSaved(v) {
      const [datasets, versions] = await Promise.all([deps.repo.list(), deps.repo.versions(v.datasetId)]);
      set({ datasets, versions, current: datasets.find((d) => d.id === v.datasetId) ?? get().current });
    },
  });

  function snapshotFor(label: string): UndoEntry {
    const s = get();
    return { label, records: s.records, issues: s.issues, files: s.files };
  }

  /** True (and the reason shown) when this tab may not write the change: another tab holds the writer role. */
  function refused(label: string): boolean {
    const e = log.refuse(label);
    if (e) set({ error: e.message });
    return e !== null;
  }

  /** Applies a change to records/issues/files as one undoable, durable step. */
  function change(label: string, next: Partial<Pick<DatasetsState, 'records' | 'issues' | 'files' | 'duplicates' | 'splitConfig'>>, durability: Durability = 'diff') {
    if (refused(label)) return;
    const before = snapshotOf(get());
    const entry = snapshotFor(label);
    set((s) => ({ ...next, undoStack: [...s.undoStack, entry].slice(-UNDO_LIMIT), redoStack: [] }));
    log.record(label, before, durability);
  }

  /** Opens a loaded version with its journal replayed over it; each replayed change can be undone. */
  async function loadInto(loaded: LoadedDataset) {
    const { snapshot, steps } = replayJournal(loaded.snapshot, loaded.journal);
    // Quality facts in slices between tasks: a replayed import may hold 100k records.
    await warmQualityFacts(snapshot.records);
    const undoStack: UndoEntry[] = steps.map(({ label, before }) => ({ label, records: before.records, issues: before.issues, files: before.files }));
    set({
      current: loaded.meta, records: snapshot.records, issues: snapshot.issues, files: snapshot.files,
      splitConfig: snapshot.splitConfig, selection: new Set(), duplicates: null, undoStack: undoStack.slice(-UNDO_LIMIT), redoStack: [],
      tokenCounts: null, save: loaded.journal.length ? { kind: 'unsaved' } : { kind: 'saved', version: loaded.version.version },
    });
    log.opened(loaded.journal, steps.map((e) => e.label));
  }

  async function ensureDataset(name: string) {
    if (get().current) return;
    const meta = await deps.repo.create(name);
    log.reset();
    set({ current: meta, datasets: await deps.repo.list(), versions: [] });
  }

  async function guarded(f: () => Promise<void>) {
    try { await f(); } catch (e) { set({ error: errorMessage(e), progress: null }); }
  }

  /**
   * Imports one file into the open dataset. Its records are journaled as staged slices while they arrive,
   * and the entry that inserts them is written in the task that shows them, so the rows are on disk when
   * they appear; a version of its own follows (curation then starts from it).
   */
  async function importOne(file: File, map?: ColumnMap) {
    const columnMaps = await deps.repo.columnMaps();
    const label = `import ${file.name}`;
    const staging = log.beginImport(label, file.size);
    try {
      await staging.ready;
      const result = await deps.engine.importFile(file, { columnMaps, columnMap: map }, (p) => set({ progress: p }), (records) => staging.stage(records));
      const seqs = await staging.written();
      if (result.needsMapping) {
        set((s) => ({ pendingMappings: [...s.pendingMappings, { file, needs: result.needsMapping! }] }));
        return;
      }
      const s = get();
      const issues = [...s.issues, ...result.issues];
      const files = [...s.files.filter((f) => f.file !== file.name), result.context];
      change(label, { records: [...s.records, ...result.records], issues, files, duplicates: null },
        { ...EMPTY_PATCH, issues, files, insertStaged: { at: s.records.length, seqs } });
    } finally {
      staging.end();
    }
  }

  const byIds = (ids: readonly string[]) => new Set(ids);

  /** The state with no dataset open; what belongs to the studio (storage kind, tokenizer, settings) stays. */
  const emptied = (): DatasetsState => {
    const { persistent, tokenizer, modelTokenizer, quality, assistantOnly } = get();
    return { ...datasetsInitialState, persistent, tokenizer, modelTokenizer, quality, assistantOnly };
  };

  /** Loads a tokenizer into the engine for statistics and previews, then counts with it. */
  async function switchTokenizer(origin: 'model' | 'files', load: () => Promise<{ name: string; info: TokenizerInfo }>) {
    const { name, info } = await load();
    set({ tokenizer: { name, origin, info }, tokenStats: null, tokenCounts: null, preview: null, ...(origin === 'model' ? { modelTokenizer: name } : {}) });
    await get().computeTokenStats();
  }

  return {
    async init() {
      await guarded(async () => {
        const datasets = await deps.repo.list();
        set(deps.persistent === undefined ? { datasets } : { datasets, persistent: deps.persistent });
        if (datasets.length) await get().openDataset(datasets[0].id);
      });
    },

    async importFiles(files) {
      if (!files.length) return;
      await guarded(async () => {
        await ensureDataset(files[0].name.replace(/\.[^.]+$/, ''));
        for (const f of files) await importOne(f);
      });
      set({ progress: null });
    },

    async applyMapping(map, remember) {
      const pending = get().pendingMappings[0];
      if (!pending) return;
      set((s) => ({ pendingMappings: s.pendingMappings.slice(1) }));
      await guarded(async () => {
        if (remember) await deps.repo.putColumnMap(pending.needs.signature, map);
        await importOne(pending.file, map);
      });
      set({ progress: null });
    },

    skipMapping() {
      set((s) => ({ pendingMappings: s.pendingMappings.slice(1) }));
    },

    editRecord(id, messages, rejected) {
      change('edit row', { records: get().records.map((r) => (r.id === id ? withMessages(r, messages, rejected) : r)) });
    },

    setFlag(ids, flagged) {
      const want = byIds(ids);
      change(flagged ? `flag ${ids.length}` : `unflag ${ids.length}`, {
        records: get().records.map((r) => (want.has(r.id) && r.flagged !== flagged ? withFlag(r, flagged) : r)),
      });
    },

    deleteRecords(ids) {
      if (!ids.length) return;
      const gone = byIds(ids);
      const s = get();
      change(`delete ${ids.length} row${ids.length > 1 ? 's' : ''}`, {
        records: s.records.filter((r) => !gone.has(r.id)),
        duplicates: s.duplicates
          ?.map((g) => ({ ...g, ids: g.ids.filter((i) => !gone.has(i)) }))
          .filter((g) => g.ids.length > 1) ?? null,
      });
      set((st) => ({ selection: new Set([...st.selection].filter((i) => !gone.has(i))) }));
    },

    undo() {
      const s = get();
      const entry = s.undoStack[s.undoStack.length - 1];
      if (!entry || refused(`undo ${entry.label}`)) return;
      set({
        records: entry.records, issues: entry.issues, files: entry.files,
        undoStack: s.undoStack.slice(0, -1), redoStack: [...s.redoStack, snapshotFor(entry.label)],
      });
      log.record(`undo ${entry.label}`, snapshotOf(s));
    },

    redo() {
      const s = get();
      const entry = s.redoStack[s.redoStack.length - 1];
      if (!entry || refused(`redo ${entry.label}`)) return;
      set({
        records: entry.records, issues: entry.issues, files: entry.files,
        redoStack: s.redoStack.slice(0, -1), undoStack: [...s.undoStack, snapshotFor(entry.label)],
      });
      log.record(`redo ${entry.label}`, snapshotOf(s));
    },

    fixIssue(issueId, raw) {
      const s = get();
      const issue = s.issues.find((i) => i.id === issueId);
      if (!issue) return;
      const ctx = s.files.find((f) => f.file === issue.file);
      if (!ctx) { set({ error: `no import context for ${issue.file}` }); return; }
      const out = retryIssue(issue, raw, ctx);
      if ('messages' in out) {
        change(`fix ${issue.file}:${issue.line}`, { records: [...s.records, out], issues: s.issues.filter((i) => i.id !== issueId) });
      } else {
        set({ issues: s.issues.map((i) => (i.id === issueId ? out : i)) });
      }
    },

    dropIssues(issueIds) {
      const gone = byIds(issueIds);
      change(`drop ${issueIds.length} issue${issueIds.length > 1 ? 's' : ''}`, { issues: get().issues.filter((i) => !gone.has(i.id)) });
    },

    setQuery(q) {
      set((s) => ({ query: { ...s.query, ...q } }));
    },

    setSelected(ids, selected) {
      set((s) => {
        const next = new Set(s.selection);
        for (const id of ids) if (selected) next.add(id); else next.delete(id);
        return { selection: next };
      });
    },

    clearSelection() {
      set({ selection: new Set() });
    },

    async findDuplicates(opts = { near: true, threshold: 0.8 }) {
      await guarded(async () => {
        const groups = await deps.engine.findDuplicates(get().records, opts, (p) => set({ progress: p }));
        set({ duplicates: groups });
      });
      set({ progress: null });
    },

    keepOne(groupIndex, keepId) {
      const g = get().duplicates?.[groupIndex];
      if (!g) return;
      get().deleteRecords(g.ids.filter((i) => i !== keepId));
    },

    keepFirstOfAll() {
      const groups = get().duplicates ?? [];
      get().deleteRecords(groups.flatMap((g) => g.ids.slice(1)));
    },

    applySplit(cfg) {
      change(cfg.kind === 'random' ? `split ${Math.round(cfg.validationFraction * 100)}% (seed ${cfg.seed})` : `split by ${cfg.column}`, {
        records: assignSplits(get().records, cfg), splitConfig: cfg,
      });
    },

    setQualityOptions(q) {
      set((s) => ({ quality: { ...s.quality, ...q } }));
    },

    async loadTokenizer(files) {
      const json = files.find((f) => f.name === 'tokenizer.json') ?? files.find((f) => /tokenizer.*\.json$/.test(f.name) && !/config/.test(f.name));
      const config = files.find((f) => f.name === 'tokenizer_config.json') ?? files.find((f) => /config.*\.json$/.test(f.name));
      if (!json) { set({ error: 'Pick the model\'s tokenizer.json (and tokenizer_config.json for its chat template).' }); return; }
      await guarded(async () => {
        const files = { name: json.name + (config ? ` + ${config.name}` : ''), tokenizerJson: await json.text(), tokenizerConfig: config ? await config.text() : null };
        await switchTokenizer('files', async () => ({ name: files.name, info: await deps.engine.loadTokenizer(files) }));
      });
    },

    async countWithModelTokenizer() {
      await guarded(() => switchTokenizer('model', () => deps.engine.loadModelTokenizer().catch((e: unknown) => {
        throw new Error(`Could not read the loaded model's tokenizer: ${errorMessage(e)}`);
      })));
    },

    async computeTokenStats() {
      if (!get().tokenizer) return;
      await guarded(async () => {
        const { records, quality, assistantOnly } = get();
        const stats = await deps.engine.tokenStats(records, { maxSeqLen: quality.maxSeqLen, assistantOnly }, (p) => set({ progress: p }));
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
          set({ preview: { id, rev: r.rev, tokens: await deps.engine.previewTokens(r.messages, opts) } });
          return;
        }
        // A pair as the preference loss sees it: each answer after the shared prompt, the answer's tokens counted.
        const answerFrom = pair.prompt.length;
        const tokens = await deps.engine.previewTokens(r.messages, { ...opts, answerFrom });
        const rejected = await deps.engine.previewTokens([...pair.prompt, ...pair.rejected], { ...opts, answerFrom });
        set({ preview: { id, rev: r.rev, tokens, rejected } });
      });
    },

    async newDataset(name) {
      await guarded(async () => {
        await get().flush();
        const meta = await deps.repo.create(name);
        log.reset();
        set({ ...emptied(), current: meta, datasets: await deps.repo.list() });
      });
    },

    async openDataset(id, version) {
      await guarded(async () => {
        await get().flush();
        const loaded = await deps.repo.load(id, version);
        if (loaded) await loadInto(loaded);
        else {
          const meta = (await deps.repo.list()).find((d) => d.id === id) ?? null;
          log.reset();
          set({ ...emptied(), datasets: get().datasets, current: meta });
        }
        set({ versions: await deps.repo.versions(id) });
      });
    },

    async deleteDataset(id) {
      await guarded(async () => {
        if (get().current?.id === id) log.discard();
        await deps.repo.remove(id);
        const datasets = await deps.repo.list();
        if (get().current?.id === id) set({ ...emptied(), datasets });
        else set({ datasets });
      });
    },

    async renameDataset(name) {
      const cur = get().current;
      if (!cur) return;
      await guarded(async () => {
        await deps.repo.rename(cur.id, name);
        const datasets = await deps.repo.list();
        set({ datasets, current: datasets.find((d) => d.id === cur.id) ?? cur });
      });
    },

    async restoreVersion(version) {
      const cur = get().current;
      if (!cur) return;
      await guarded(async () => {
        await get().flush();
        const loaded = await deps.repo.load(cur.id, version);
        if (!loaded) throw new Error(`version ${version} not found`);
        change(`restore version ${version}`, {
          records: loaded.snapshot.records, issues: loaded.snapshot.issues, files: loaded.snapshot.files,
          splitConfig: loaded.snapshot.splitConfig, duplicates: null,
        }, 'version');
        await get().flush();
      });
    },

    flush: () => log.flush(),

    dismissError() {
      set({ error: null });
    },
  };
}
