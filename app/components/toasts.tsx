// Non-blocking notifications (Radix Toast, styled with our tokens): any code calls notify('…') and a toast
// appears bottom-right, is announced politely to screen readers, and goes after a few seconds (errors stay
// until dismissed). Replaces window.alert: nothing here stops the page. Text only, never HTML.
import { Toast } from 'radix-ui';
import { useStore } from 'zustand';
import { createStore } from 'zustand/vanilla';

type ToastTone = 'info' | 'success' | 'error';
interface Note { id: number; text: string; tone: ToastTone }

const toasts = createStore<{ notes: Note[] }>(() => ({ notes: [] }));
let nextId = 1;

export function notify(text: string, tone: ToastTone = 'info') {
  toasts.setState((s) => ({ notes: [...s.notes.slice(-3), { id: nextId++, text, tone }] }));
}

const drop = (id: number) => toasts.setState((s) => ({ notes: s.notes.filter((n) => n.id !== id) }));

export function Toasts() {
  const notes = useStore(toasts, (s) => s.notes);
  return (
    <Toast.Provider swipeDirection="right" label="Notification">
      {notes.map((n) => (
        <Toast.Root
          key={n.id} className={`toast ${n.tone}`} type={n.tone === 'error' ? 'foreground' : 'background'}
          duration={n.tone === 'error' ? Infinity : 5000} onOpenChange={(open) => { if (!open) drop(n.id); }}
        >
          <Toast.Description>{n.text}</Toast.Description>
          <Toast.Close asChild><button type="button" className="ghost" aria-label="Dismiss notification">×</button></Toast.Close>
        </Toast.Root>
      ))}
      <Toast.Viewport className="toast-viewport" />
    </Toast.Provider>
  );
}
