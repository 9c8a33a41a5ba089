import { CustomerId } from '../events/common';
import type { AuthConfig } from '../config/auth-config';
import { ConfigError } from '../config/config';

/** Who a verified token speaks for. */
export interface Caller {
  /** The token's `sub`: the customer every order the caller places belongs to. */
  customerId: string;
}

/** Verifies a bearer JWT; throws {@link AuthError} (401) or {@link VerifierUnavailableError} (503). */
export type TokenVerifier = (token: string) => Promise<Caller>;

/** The token is missing, malformed, badly signed, expired, or for another audience or issuer: 401. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  /** The jose error code (`ERR_JWT_EXPIRED`, ...) for logs and metrics; never the token. */
  constructor(
    message: string,
    readonly code = 'ERR_UNAUTHENTICATED',
  ) {
    super(message);
  }
}

/** The identity provider's keys cannot be fetched: the caller may be fine, so 503 rather than 401. */
export class VerifierUnavailableError extends Error {
  override readonly name = 'VerifierUnavailableError';
}

/** Identity providers sign with asymmetric keys; an HMAC `alg` against a public JWKS is the classic forgery. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Clocks of the provider and of this host may differ this much. */
const CLOCK_TOLERANCE_S = 30;
/**
 * After a failed JWKS fetch, tokens are answered "unavailable" for this long without a new fetch: otherwise every
 * request with an unknown `kid` (anyone can send one) would make one, driving load onto the failing provider.
 */
export const JWKS_FAILURE_COOLDOWN_MS = 5000;
const CUSTOMER_ID = new RegExp(CustomerId.pattern!);

/**
 * A verifier for the configured mode, on `jose` (imported on demand: it is an ES module and this build is
 * CommonJS). `jwt`: keys from the JWKS URL, fetched and cached by jose, refetched on an unknown `kid` (how keys
 * rotate); `hs256`: the shared secret. Every token must carry `sub` and `exp`.
 */
export async function createTokenVerifier(auth: Exclude<AuthConfig, { mode: 'off' }>): Promise<TokenVerifier> {
  if (auth.mode === 'hs256' && !auth.secret) throw new ConfigError('Invalid configuration: AUTH_JWT_SECRET: required with AUTH_MODE=hs256');
  const jose = await import('jose');
  const options = {
    algorithms: auth.mode === 'jwt' ? JWKS_ALGORITHMS : ['HS256'],
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ['sub', 'exp'],
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
  };
  const remote = auth.mode === 'jwt' ? guardedKeys(jose, jose.createRemoteJWKSet(new URL(auth.jwksUrl))) : undefined;
  const secret = auth.mode === 'hs256' ? new TextEncoder().encode(auth.secret) : undefined;
  const verify = (token: string) => (remote ? jose.jwtVerify(token, remote, options) : jose.jwtVerify(token, secret!, options));
  return async (token) => {
    let payload;
    try {
      ({ payload } = await verify(token));
    } catch (error) {
      if (error instanceof VerifierUnavailableError) throw error;
      if (error instanceof jose.errors.JWKSTimeout || !(error instanceof jose.errors.JOSEError))
        throw new VerifierUnavailableError("the identity provider's keys cannot be fetched");
      throw new AuthError(error instanceof jose.errors.JWTExpired ? 'the token has expired' : 'the token is not valid', error.code);
    }
    // The subject becomes the order's customerId, so it must pass the same rule as one sent in a body.
    if (typeof payload.sub !== 'string' || !CUSTOMER_ID.test(payload.sub))
      throw new AuthError('the token names no valid subject', 'ERR_SUBJECT');
    return { customerId: payload.sub };
  };
}

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });
type KeyGetter = ReturnType<Jose['createRemoteJWKSet']>;

/**
 * The remote key set, with the provider's failures told apart from verdicts on the token: a JWKS that answers 500,
 * is not JSON or times out means "unavailable" (503), and starts a cool-down in which no token causes another fetch.
 * A key set that was fetched but holds no key for the token's `kid` is a verdict (401).
 */
function guardedKeys(jose: Jose, remote: KeyGetter): KeyGetter {
  let failedAt = Number.NEGATIVE_INFINITY;
  const verdicts = [jose.errors.JWKSNoMatchingKey, jose.errors.JWKSMultipleMatchingKeys, jose.errors.JOSENotSupported];
  const guarded = async (...args: Parameters<KeyGetter>) => {
    if (Date.now() - failedAt < JWKS_FAILURE_COOLDOWN_MS)
      throw new VerifierUnavailableError("the identity provider's keys could not be fetched a moment ago");
    try {
      return await remote(...args);
    } catch (error) {
      if (verdicts.some((kind) => error instanceof kind)) throw error;
      failedAt = Date.now();
      throw new VerifierUnavailableError("the identity provider's keys cannot be fetched");
    }
  };
  return Object.assign(guarded, remote) as KeyGetter;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header ?? '');
  return match?.[1];
}
