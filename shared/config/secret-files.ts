import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error';

/**
 * The variables that hold a secret (a password inside a URL counts): each may come from a file instead, named by
 * `<NAME>_FILE`, as Docker and Kubernetes secrets are mounted. An environment variable is readable by anything
 * that may read the process's environment (`/proc/<pid>/environ`, `docker inspect`, a crash report); a file mounted
 * read-only for the app user is not.
 */
export const FILE_SECRET_VARIABLES = ['AMQP_URL', 'REDIS_URL', 'OPS_TOKEN', 'PAYMENT_TOKEN_KEYS', 'AUTH_JWT_SECRET'] as const;

type Env = Record<string, string | undefined>;

/**
 * `env` with every `<NAME>_FILE` of {@link FILE_SECRET_VARIABLES} read into `<NAME>` (trailing whitespace and the
 * final newline dropped, as `echo secret > file` leaves one). Setting both is refused: which one wins would be a
 * guess. The file's content never appears in an error.
 */
export function withFileSecrets(env: Env): Env {
  let resolved: Env | undefined;
  for (const name of FILE_SECRET_VARIABLES) {
    const file = env[`${name}_FILE`]?.trim();
    if (!file) continue;
    if (env[name]?.trim()) throw new ConfigError(`Invalid configuration: ${name}: set ${name} or ${name}_FILE, not both`);
    let content: string;
    try {
      content = readFileSync(file, 'utf8').trimEnd();
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration: ${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (!content) throw new ConfigError(`Invalid configuration: ${name}_FILE: ${file} is empty`);
    resolved ??= { ...env };
    resolved[name] = content;
  }
  return resolved ?? env;
}
