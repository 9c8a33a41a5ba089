/**
 * What a terminal acts on rather than shows: C0 controls (ESC opens ANSI sequences that recolour, move the
 * cursor or set the window title; CR and LF forge lines of output), DEL, C1 controls (0x9B is a one-byte CSI),
 * the Unicode line and paragraph separators, and the bidi overrides that reorder what the reader sees.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e', '\\': '\\\\' };
/** The unsafe characters and the backslash: escapes are only unambiguous if a literal backslash is escaped too. */
const UNSAFE_OR_BACKSLASH = new RegExp(`${UNSAFE.source.slice(0, -1)}\\\\]`, 'g');

/**
 * A string from a message (its id, type, order id, reason, body) made safe to print: every unsafe character is
 * written as an escape (`\n`, `\e`, `\x07`, `\u202e`), so the operator sees it instead of the terminal obeying it,
 * and a backslash as `\\`, so a message that spells `\n` out cannot pass for one that holds a line break.
 */
export function printable(value: string | number | undefined): string {
  return String(value ?? '').replace(UNSAFE_OR_BACKSLASH, (c) => NAMED[c] ?? escapeOf(c.charCodeAt(0)));
}

/**
 * JSON for a terminal or a log pipeline: JSON.stringify escapes C0 controls but leaves DEL, C1 controls, the line
 * separators and the bidi overrides raw; those are written as `\uXXXX` escapes, which every JSON parser reads back.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function escapeOf(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
