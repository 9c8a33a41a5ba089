/**
 * Secrets this repository publishes: `.env.example`'s placeholders (`change-me-...`) and compose's fallbacks without a
 * `.env` (`dev-only-...`). They let a laptop fleet start with nothing set; anyone can read them, so a production
 * fleet (NODE_ENV=production) refuses them, naming the variable, as it refuses a missing one.
 */
const PLACEHOLDER = /^(change-me|dev-only)/i;

export function isPublishedSecret(value: string): boolean {
  return PLACEHOLDER.test(value.trim());
}

/** The password of a URL (`amqp://user:PASSWORD@host`), decoded; undefined when it carries none or cannot be read. */
export function urlPassword(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
