// The datasets slice's edits: a row's messages, flags, deletion, and undo / redo of every change.
import { withFlag, withMessages } from '../../../src/data/record';
import type { DatasetsActions } from './actions';
import type { DatasetsContext } from './context';

export function editActions({ set, get, log, change, refused, snapshotOf, snapshotFor, byIds }: DatasetsContext): Pick<DatasetsActions, 'editRecord' | 'setFlag' | 'deleteRecords' | 'undo' | 'redo'> {
  return {
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
  };
}
