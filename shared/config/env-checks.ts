import { ConfigError } from './config-error';
import { isPublishedSecret, urlPassword } from './published-secrets';

export type Env = Record<string, string | undefined>;

/** envalid's reporter: the first bad variable, named, in one line. */
export function throwOneLine({ errors }: { errors: Partial<Record<string, Error>> }): void {
  const [name, error] = Object.entries(errors)[0] ?? [];
  if (!name) return;
  const why = error?.message && !/^Missing|^Invalid/.test(error.message) ? error.message : 'invalid value';
  throw new ConfigError(`Invalid configuration: ${name}: ${why}`);
}

/** Production refuses a broker or Redis password this repository publishes (published-secrets.ts), naming the URL. */
export function refusePublishedPasswords(urls: Record<string, readonly string[]>): void {
  for (const [name, list] of Object.entries(urls)) {
    if (list.some((url) => isPublishedSecret(urlPassword(url) ?? '')))
      throw new ConfigError(
        `Invalid configuration: ${name}: its password is a published placeholder (.env.example, compose): set your own`,
      );
  }
}
