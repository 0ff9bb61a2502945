// The datasets slice's curation: duplicate groups (found by the data tools) and keeping one of each, the
// train/validation split, and the quality checks' options.
import { assignSplits } from '../../../src/data/split';
import type { DatasetsActions } from './actions';
import type { DatasetsContext } from './context';

export function curationActions({ set, get, deps, change, guarded }: DatasetsContext): Pick<DatasetsActions, 'findDuplicates' | 'keepOne' | 'keepFirstOfAll' | 'applySplit' | 'setQualityOptions'> {
  return {
    async findDuplicates(opts = { near: true, threshold: 0.8 }) {
      await guarded(async () => {
        const groups = await deps.tools.findDuplicates(get().records, opts, (p) => set({ progress: p }));
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
  };
}
