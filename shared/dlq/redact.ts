/** A payment token as Warren's events carry it (`tok_` then letters, digits and underscores). */
const TOKEN = /tok_[A-Za-z0-9_]+/g;
/** Keys whose values are never printed, whatever they hold. */
const SENSITIVE_KEY = /token|secret|password|passwd|card|cvv|authorization/i;

export const REDACTED = '[redacted]';

/** Replaces every payment token in a text; idempotent (`tok_[redacted]` is not matched again). */
export function redactText(text: string): string {
  return text.replace(TOKEN, `tok_${REDACTED}`);
}

/**
 * Returns a copy of a JSON-like value that is safe to print: values under sensitive keys are replaced, and every
 * string is passed through {@link redactText}, so a token hidden in a free-text field is caught as well.
 */
export function redactDeep<T>(value: T): T {
  return redactValue(value) as T;
}

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = SENSITIVE_KEY.test(key) && inner != null ? REDACTED : redactValue(inner);
    return out;
  }
  return value;
}

/** Bodies over this size are not parsed whole for display: only their head is read. */
const MAX_PARSED_BODY = 1024 * 1024;

/**
 * A message body as printable text, at most `maxChars` long. Valid JSON is redacted field by field; anything
 * else (a body truncated on dead-lettering, malformed JSON, plain text) by {@link redactJsonText}. Of a body too
 * large to parse whole, only the head that can be shown is decoded.
 */
export function redactBody(content: Buffer, maxChars = 2000): string {
  if (content.length <= MAX_PARSED_BODY) {
    try {
      return bounded(JSON.stringify(redactDeep(JSON.parse(content.toString('utf8')) as unknown)), false, content.length, maxChars);
    } catch {
      // Not JSON, or JSON cut short: read as text below.
    }
  }
  // A UTF-8 character is at most 4 bytes: this head holds every character that can be shown.
  const headBytes = maxChars * 4;
  return bounded(redactJsonText(content.subarray(0, headBytes).toString('utf8')), content.length > headBytes, content.length, maxChars);
}

function bounded(text: string, cut: boolean, bytes: number, maxChars: number): string {
  return text.length > maxChars || cut ? `${text.slice(0, maxChars)}… (${bytes} bytes)` : text;
}

/**
 * Redacts text that may be JSON cut short (a dead letter's truncated body) or not JSON at all, without parsing it
 * whole. Each string literal is decoded before it is checked, so an escaped token (`tok_\u0076isa`) is caught as
 * in parsed JSON; one that cannot be decoded is replaced. The value after a sensitive key is replaced whatever it
 * is (a string, a number, an object or array, up to its end or the end of the text), as is the value after a key
 * that cannot be decoded. Text outside string literals only has its payment tokens replaced.
 */
export function redactJsonText(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      const next = text.indexOf('"', i);
      const end = next === -1 ? text.length : next;
      out += redactText(text.slice(i, end));
      i = end;
      continue;
    }
    const literal = stringLiteralAt(text, i);
    const value = decodeLiteral(text.slice(i, literal.end), literal.closed);
    const shown = value === undefined ? `"${REDACTED}"` : JSON.stringify(redactText(value)).slice(0, literal.closed ? undefined : -1);
    const colon = skipSpace(text, literal.end);
    if (text[colon] === ':' && (value === undefined || SENSITIVE_KEY.test(value))) {
      out += `${shown}${text.slice(literal.end, colon + 1)}"${REDACTED}"`;
      i = endOfValue(text, colon + 1);
      continue;
    }
    out += shown;
    i = literal.end;
  }
  return out;
}

/** The string literal opening at `start`: where it ends (after its closing quote, or at the end of the text). */
function stringLiteralAt(text: string, start: number): { end: number; closed: boolean } {
  for (let j = start + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return { end: j + 1, closed: true };
  }
  return { end: text.length, closed: false };
}

/** A literal's string value; one cut short loses an escape cut in half. Undefined when it is not valid JSON. */
function decodeLiteral(literal: string, closed: boolean): string | undefined {
  const source = closed ? literal : `${literal.replace(/\\(u[0-9a-fA-F]{0,3})?$/, '')}"`;
  try {
    return JSON.parse(source) as string;
  } catch {
    return undefined;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/** Where the JSON value starting at `start` ends: after its closing quote or bracket, or at the end of the text. */
function endOfValue(text: string, start: number): number {
  let i = skipSpace(text, start);
  if (text[i] === '"') return stringLiteralAt(text, i).end;
  if (text[i] !== '{' && text[i] !== '[') {
    while (i < text.length && !',}]'.includes(text[i]!)) i++;
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      i = stringLiteralAt(text, i).end;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
    i++;
  }
  return i;
}
