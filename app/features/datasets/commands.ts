// The table's commands, declared once: name, when enabled, what it does, and its keyboard shortcut. The
// bulk-actions toolbar renders buttons from this list and useCommandShortcuts binds the same shortcuts,
// so a button and its key can never disagree. Shortcuts are ignored while typing in a text field.
import { useEffect } from 'react';
import type { DatasetsSlice, DatasetsStore } from '../../store/datasets';

interface Shortcut {
  key: string;
  mod?: boolean; // Ctrl, or ⌘ on macOS
  shift?: boolean;
}

interface Command {
  id: string;
  label: string;
  shortcut?: Shortcut;
  enabled(s: DatasetsSlice): boolean;
  perform(s: DatasetsSlice): void;
}

const selected = (s: DatasetsSlice) => [...s.selection];

export const TABLE_COMMANDS: readonly Command[] = [
  { id: 'flag-selected', label: 'Flag selected', shortcut: { key: 'f', mod: true, shift: true }, enabled: (s) => s.selection.size > 0, perform: (s) => s.setFlag(selected(s), true) },
  { id: 'unflag-selected', label: 'Unflag selected', enabled: (s) => s.selection.size > 0, perform: (s) => s.setFlag(selected(s), false) },
  { id: 'delete-selected', label: 'Delete selected', shortcut: { key: 'Delete' }, enabled: (s) => s.selection.size > 0, perform: (s) => { s.deleteRecords(selected(s)); s.clearSelection(); } },
  { id: 'undo', label: 'Undo', shortcut: { key: 'z', mod: true }, enabled: (s) => s.undoStack.length > 0, perform: (s) => s.undo() },
  { id: 'redo', label: 'Redo', shortcut: { key: 'z', mod: true, shift: true }, enabled: (s) => s.redoStack.length > 0, perform: (s) => s.redo() },
];

/** The aria-keyshortcuts value for a shortcut ("Control+Shift+Z"). */
export function ariaShortcut(k: Shortcut | undefined): string | undefined {
  if (!k) return undefined;
  return [k.mod ? 'Control' : null, k.shift ? 'Shift' : null, k.key.length === 1 ? k.key.toUpperCase() : k.key].filter(Boolean).join('+');
}

function matches(e: KeyboardEvent, k: Shortcut): boolean {
  return e.key.toLowerCase() === k.key.toLowerCase() && !!k.mod === (e.ctrlKey || e.metaKey) && !!k.shift === e.shiftKey && !e.altKey;
}

function typing(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  return t.isContentEditable || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement
    || (t instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'submit', 'file'].includes(t.type));
}

export function useCommandShortcuts(store: DatasetsStore, commands: readonly Command[] = TABLE_COMMANDS): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typing(e.target)) return;
      const s = store.getState();
      const cmd = commands.find((c) => c.shortcut && matches(e, c.shortcut));
      if (cmd && cmd.enabled(s)) { e.preventDefault(); cmd.perform(s); }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [store, commands]);
}
