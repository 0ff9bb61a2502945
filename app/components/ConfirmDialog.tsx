// A confirmation for destructive actions (Radix AlertDialog: focus trapped, Escape cancels, focus returns to
// the trigger), in place of window.confirm, which blocks the page and cannot be styled or tested.
import { AlertDialog } from 'radix-ui';
import type { ReactNode } from 'react';

export function ConfirmDialog({ trigger, title, description, confirmLabel, onConfirm }: {
  trigger: ReactNode;
  title: string;
  description: string;
  confirmLabel: string;
  onConfirm: () => void;
}) {
  return (
    <AlertDialog.Root>
      <AlertDialog.Trigger asChild>{trigger}</AlertDialog.Trigger>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="dialog-overlay" />
        <AlertDialog.Content className="dialog">
          <AlertDialog.Title>{title}</AlertDialog.Title>
          <AlertDialog.Description>{description}</AlertDialog.Description>
          <div className="dialog-actions">
            <AlertDialog.Cancel asChild><button type="button">Cancel</button></AlertDialog.Cancel>
            <AlertDialog.Action asChild><button type="button" className="primary" onClick={onConfirm}>{confirmLabel}</button></AlertDialog.Action>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}
