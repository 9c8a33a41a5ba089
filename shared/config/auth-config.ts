import { ConfigError } from './config-error';
import { isPublishedSecret } from './published-secrets';

/**
 * Who may call what. `jwt`: the order API takes bearer JWTs signed by a key of the identity provider's JWKS
 * (`AUTH_JWKS_URL`), for `AUTH_AUDIENCE` (and `AUTH_ISSUER` when set). `hs256`: JWTs signed with a shared secret
 * (`AUTH_JWT_SECRET`): the development identity (`npm run token`, compose's `.env`), refused in production. Both
 * need `OPS_TOKEN` for the ops ports' state-changing routes.
 * `off`: no authentication at all, for a laptop (`npm run fleet`): the body's customerId is trusted.
 */
export type AuthConfig =
  | { mode: 'off'; opsToken?: string }
  | { mode: 'jwt'; jwksUrl: string; issuer?: string; audience: string; opsToken: string }
  | { mode: 'hs256'; secret?: string; issuer?: string; audience?: string; opsToken: string };

/**
 * The settings {@link readAuthConfig} reads that every service gets. `OPS_TOKEN` (every service) and
 * `AUTH_JWT_SECRET` (order only: it alone verifies customer tokens) are secrets: config.ts SECRET_VARIABLES.
 */
export const AUTH_VARIABLES = ['AUTH_MODE', 'AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE'] as const;

/** HS256 keys and the ops token: at least 256 bits of text (RFC 7518 §3.2 asks as much of an HMAC key). */
const MIN_SECRET_LENGTH = 32;

type Env = Record<string, string | undefined>;

/** True where Warren runs for real: the image sets `NODE_ENV=production` (Dockerfile). */
export function isProduction(env: Env): boolean {
  return env['NODE_ENV'] === 'production';
}

/**
 * Reads the auth settings; throws {@link ConfigError} naming the first missing or bad variable. Outside production
 * an unset `AUTH_MODE` means `off` (the services warn at start-up); in production it must be set, so an image
 * never runs open by accident.
 */
export function readAuthConfig(env: Env): AuthConfig {
  const mode = value(env, 'AUTH_MODE') ?? (isProduction(env) ? undefined : 'off');
  if (mode === undefined)
    throw new ConfigError(
      'Invalid configuration: AUTH_MODE: required when NODE_ENV=production: jwt (with AUTH_JWKS_URL) or hs256 (with AUTH_JWT_SECRET), or off to run without authentication',
    );
  // An ops token that is set guards the ops ports' writes in every mode: setting one and finding it ignored (auth
  // off) would be a silent hole.
  if (mode === 'off') return value(env, 'OPS_TOKEN') === undefined ? { mode } : { mode, opsToken: secret(env, 'OPS_TOKEN', '') };
  if (mode !== 'jwt' && mode !== 'hs256')
    throw new ConfigError(`Invalid configuration: AUTH_MODE: expected jwt, hs256 or off, got "${mode.slice(0, 32)}"`);
  // Anyone holding the shared secret mints any customer's token (`npm run token` does): a development identity only.
  if (mode === 'hs256' && isProduction(env))
    throw new ConfigError(
      'Invalid configuration: AUTH_MODE: hs256 is the development identity and is refused when NODE_ENV=production: use jwt (your identity provider) or off',
    );
  const issuer = value(env, 'AUTH_ISSUER');
  const opsToken = secret(env, 'OPS_TOKEN', `required with AUTH_MODE=${mode} (the ops ports' admin credential)`);
  if (mode === 'jwt') {
    const jwksUrl = httpUrl(env, 'AUTH_JWKS_URL');
    const audience = value(env, 'AUTH_AUDIENCE');
    // Without an audience any token the identity provider signs, for any application, would be accepted.
    if (!audience) throw new ConfigError('Invalid configuration: AUTH_AUDIENCE: required with AUTH_MODE=jwt');
    return { mode, jwksUrl, audience, opsToken, ...(issuer ? { issuer } : {}) };
  }
  const audience = value(env, 'AUTH_AUDIENCE');
  // Only the order service holds (and needs) the secret; it refuses to start without one (token-verifier.ts).
  const key = value(env, 'AUTH_JWT_SECRET') === undefined ? undefined : secret(env, 'AUTH_JWT_SECRET', '');
  return { mode, opsToken, ...(key ? { secret: key } : {}), ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) };
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** A secret is never echoed back, even in part. */
function secret(env: Env, name: string, whenMissing: string): string {
  const v = value(env, name);
  if (!v) throw new ConfigError(`Invalid configuration: ${name}: ${whenMissing}`);
  if (v.length < MIN_SECRET_LENGTH)
    throw new ConfigError(`Invalid configuration: ${name}: must be at least ${MIN_SECRET_LENGTH} characters`);
  if (isProduction(env) && isPublishedSecret(v))
    throw new ConfigError(`Invalid configuration: ${name}: is a published placeholder (.env.example, compose): set your own secret`);
  return v;
}

function httpUrl(env: Env, name: string): string {
  const v = value(env, name);
  if (!v) throw new ConfigError(`Invalid configuration: ${name}: required with AUTH_MODE=jwt (the identity provider's JWKS URL)`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError(`Invalid configuration: ${name}: not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`Invalid configuration: ${name}: expected https://`);
  // Whoever answers the JWKS fetch chooses the keys every token is checked with: over plain http on a network between
  // here and the identity provider, that is anyone on the path. In production only https, or http to a host that
  // stays inside the cluster or the machine (a Kubernetes Service name, loopback), where no foreign network is crossed.
  if (url.protocol === 'http:' && isProduction(env) && !isLocalHost(url.hostname))
    throw new ConfigError(
      `Invalid configuration: ${name}: must be https:// when NODE_ENV=production (http only to a cluster-local *.svc host or loopback)`,
    );
  return v;
}

/** A Kubernetes Service name (`idp.shop.svc`, `….svc.cluster.local`) or the loopback interface. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || /\.svc(\.cluster\.local)?$/.test(host);
}
