// A dismissible message the screen reader announces (role=alert). Text only: never HTML.
export function Alert({ message, onDismiss }: { message: string; onDismiss: () => void }) {
  return (
    <div role="alert" className="alert">
      <span>{message}</span>
      <button type="button" onClick={onDismiss} aria-label="Dismiss message">×</button>
    </div>
  );
}
