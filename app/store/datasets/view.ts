// The datasets slice's view: the table's query (search, filters, sort) and the selected rows.
import type { DatasetsActions } from './actions';
import type { DatasetsContext } from './context';

export function viewActions({ set }: DatasetsContext): Pick<DatasetsActions, 'setQuery' | 'setSelected' | 'clearSelection'> {
  return {
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
  };
}
