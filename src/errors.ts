// What a caught value says, and how it is shown on one line.
//  - errorMessage(e): an Error's message, anything else as text (a worker or a library may throw a string or
//    a DOMException-like object).
//  - oneLine(text, max): the text safe for a terminal or a status line: control characters (C0, DEL, C1 —
//    a config.json could otherwise set the terminal title or clear the screen) and the bidirectional
//    overrides are escaped as \n, \t or \xNN / \u{NNNN}, and the result is cut to `max` characters with a
//    note of how much was left out. The full text belongs in --json output, not on the error line.
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The longest error line the CLI prints; a CSV with 10 000 unknown columns must not print 89 KB. */
const ERROR_LINE_MAX = 400;

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

export function oneLine(text: string, max = ERROR_LINE_MAX): string {
  // Escaping first, then cutting: the cut never splits an escape into raw bytes.
  const escaped = text.replace(UNSAFE, escapeChar);
  if (escaped.length <= max) return escaped;
  const keep = escaped.slice(0, max).replace(/\\(x[0-9a-f]?|u\{[0-9a-f]*)?$/, '');
  return `${keep}… (${escaped.length - keep.length} more characters)`;
}
