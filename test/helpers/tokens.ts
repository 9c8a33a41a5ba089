import type { webcrypto } from 'node:crypto';
/** Test-only credentials: never used outside tests (the chart and compose take theirs from secrets or .env). */
export const TEST_JWT_SECRET = 'test-only-hs256-secret-0123456789abcdef';
export const TEST_OPS_TOKEN = 'test-only-ops-token-0123456789abcdef';
export const TEST_AUDIENCE = 'warren-test';

/** The environment of a fleet with authentication on, in the shared-secret mode. */
export const AUTH_ENV: Record<string, string> = {
  AUTH_MODE: 'hs256',
  AUTH_JWT_SECRET: TEST_JWT_SECRET,
  AUTH_AUDIENCE: TEST_AUDIENCE,
  OPS_TOKEN: TEST_OPS_TOKEN,
};

export interface TokenOptions {
  /** @defaultValue TEST_AUDIENCE */
  audience?: string;
  /** Seconds from now; negative for a token already expired. @defaultValue 300 */
  expiresIn?: number;
  /** @defaultValue TEST_JWT_SECRET */
  secret?: string;
  /** An asymmetric key (with its `kid`) instead of the secret, for the JWKS mode. */
  key?: { privateKey: webcrypto.CryptoKey; kid: string; alg: string };
}

/** A bearer JWT for `sub`, signed as the fleet under test expects unless the options say otherwise. */
export async function mintToken(sub: string, options: TokenOptions = {}): Promise<string> {
  const { SignJWT } = await import('jose');
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setSubject(sub)
    .setAudience(options.audience ?? TEST_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.key) return jwt.setProtectedHeader({ alg: options.key.alg, kid: options.key.kid }).sign(options.key.privateKey);
  return jwt.setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

/** `Authorization` header for a token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
