import { readFileSync } from 'node:fs';

/** PEM material for one TLS client, read once at start-up: a CA to trust, and a certificate and key to present. */
export interface TlsFiles {
  /** Trusted instead of the system's CAs, so a server certificate from any other CA is refused. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

type Env = Record<string, string | undefined>;

/**
 * `<PREFIX>_TLS_CA_FILE`, `<PREFIX>_TLS_CERT_FILE`, `<PREFIX>_TLS_KEY_FILE`: paths to PEM files. Returns undefined
 * when none is set; otherwise the files' contents, or a one-line reason naming the variable via `fail`. A client
 * certificate needs its key and the other way round; TLS material for a plain-text URL is a mistake, named too.
 */
export function readTlsFiles(env: Env, prefix: 'AMQP' | 'REDIS', secure: boolean, fail: (message: string) => never): TlsFiles | undefined {
  const names = { ca: `${prefix}_TLS_CA_FILE`, cert: `${prefix}_TLS_CERT_FILE`, key: `${prefix}_TLS_KEY_FILE` } as const;
  const paths = Object.fromEntries(Object.entries(names).map(([part, name]) => [part, env[name]?.trim() ?? ''])) as Record<
    keyof typeof names,
    string
  >;
  const set = (Object.keys(names) as (keyof typeof names)[]).filter((part) => paths[part] !== '');
  if (set.length === 0) return undefined;
  const url = prefix === 'AMQP' ? 'AMQP_URL (amqps://)' : 'REDIS_URL (rediss://)';
  if (!secure) fail(`${names[set[0]!]}: set, but ${url} does not ask for TLS`);
  if (paths.cert && !paths.key) fail(`${names.key}: required with ${names.cert}`);
  if (paths.key && !paths.cert) fail(`${names.cert}: required with ${names.key}`);
  const files: TlsFiles = {};
  for (const part of set) {
    try {
      files[part] = readFileSync(paths[part]);
    } catch (error) {
      fail(`${names[part]}: cannot read ${paths[part]} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (part !== 'key' && !files[part]!.includes('-----BEGIN CERTIFICATE-----'))
      fail(`${names[part]}: ${paths[part]} holds no PEM certificate`);
    if (part === 'key' && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(files[part]!.toString('latin1')))
      fail(`${names[part]}: ${paths[part]} holds no PEM private key`);
  }
  return files;
}

/** The TLS variables of both clients, in the order the docs list them. */
export const TLS_VARIABLES = [
  'AMQP_TLS_CA_FILE',
  'AMQP_TLS_CERT_FILE',
  'AMQP_TLS_KEY_FILE',
  'REDIS_TLS_CA_FILE',
  'REDIS_TLS_CERT_FILE',
  'REDIS_TLS_KEY_FILE',
] as const;
