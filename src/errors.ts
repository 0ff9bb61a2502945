// What a caught value says, for a message to the user: an Error's message, anything else as text
// (a worker or a library may throw a string or a DOMException-like object).
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
