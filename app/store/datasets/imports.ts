// The datasets slice's imports: files read by the data tools (a worker in the app) into the open dataset, a column
// mapping for files whose shape is not detected, and fixing or dropping the rows an import could not read. A Hub
// dataset is listed, then its chosen split downloaded by the data tools and imported file by file the same way.
import { retryIssue } from '../../../src/data/import';
import type { ColumnMap } from '../../../src/data/record';
import { EMPTY_PATCH } from '../../../src/storage/journal';
import type { DatasetsActions } from './actions';
import type { DatasetsContext } from './context';

export function importActions({ set, get, deps, log, change, ensureDataset, guarded, byIds }: DatasetsContext): Pick<DatasetsActions, 'importFiles' | 'listHubDataset' | 'importHubSplit' | 'applyMapping' | 'skipMapping' | 'fixIssue' | 'dropIssues'> {
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
      const result = await deps.tools.importFile(file, { columnMaps, columnMap: map }, (p) => set({ progress: p }), (records) => staging.stage(records));
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
  return {
    async importFiles(files) {
      if (!files.length) return;
      await guarded(async () => {
        await ensureDataset(files[0].name.replace(/\.[^.]+$/, ''));
        for (const f of files) await importOne(f);
      });
      set({ progress: null });
    },

    async listHubDataset(spec, endpoint) {
      set({ hubListing: null });
      await guarded(async () => set({ hubListing: await deps.tools.listHubDataset(spec, endpoint) }));
    },

    async importHubSplit(config, split, endpoint) {
      const listing = get().hubListing;
      const files = listing?.layout.configs.find((c) => c.name === config)?.splits.find((s) => s.name === split)?.files;
      if (!listing || !files?.length) return;
      await guarded(async () => {
        const got = await deps.tools.downloadHubFiles({ repo: listing.repo, revision: listing.revision }, files, endpoint, (p) => set({ progress: p }));
        await ensureDataset(listing.repo.split('/').pop()!);
        for (const f of got) await importOne(f);
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
  };
}
