/** A payment token as Warren's events carry it (`tok_` then letters, digits and underscores). */
const TOKEN = /tok_[A-Za-z0-9_]+/g;
/** Keys whose values are never printed, whatever they hold. */
const SENSITIVE_KEY = /token|secret|password|passwd|card|cvv|authorization/i;
/** The same keys as they appear in a body that is not valid JSON: `"paymentToken": "..."`. */
const SENSITIVE_PAIR = /("[^"]*(?:token|secret|password|passwd|card|cvv|authorization)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"?/gi;

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

/** A message body as printable text: JSON is redacted field by field; anything else as text; both bounded. */
export function redactBody(content: Buffer, maxChars = 2000): string {
  const raw = content.toString('utf8');
  let text: string;
  try {
    text = JSON.stringify(redactDeep(JSON.parse(raw) as unknown));
  } catch {
    text = redactText(raw.replace(SENSITIVE_PAIR, `$1"${REDACTED}"`));
  }
  return text.length > maxChars ? `${text.slice(0, maxChars)}… (${content.length} bytes)` : text;
}
