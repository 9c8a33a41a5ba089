import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { exitWith } from '../shared/cli/tool';
import type { CliIo } from '../shared/cli/tool';
import { isProduction, readAuthConfig } from '../shared/config/auth-config';
import { CustomerId } from '../shared/events/common';

/** The token's subject becomes the order's customerId, so it must pass the API's rule for one. */
const CUSTOMER_ID = new RegExp(CustomerId.pattern!);
const USAGE = 'usage: npm run token -- <customerId> [--expires <seconds>]';

/**
 * `npm run token -- c-1`: the development identity. Prints a bearer JWT for customer `c-1`, signed with the shared
 * secret of `AUTH_MODE=hs256` (`AUTH_JWT_SECRET`, with `AUTH_AUDIENCE` and `AUTH_ISSUER` when set), read from the
 * environment or else from `./.env` (compose's file, so the token fits the fleet `docker compose up` started).
 * Production refuses hs256 (auth-config.ts), so these tokens open nothing where NODE_ENV=production.
 */
export async function runTokenCli(argv: readonly string[], io: CliIo, cwd = process.cwd()): Promise<number> {
  const [customerId, ...rest] = argv;
  const expires = rest[0] === '--expires' ? Number(rest[1]) : rest.length === 0 ? 3600 : NaN;
  if (!customerId || !CUSTOMER_ID.test(customerId) || !Number.isInteger(expires) || expires <= 0) {
    io.err(`${USAGE}\n`);
    return 64;
  }
  const env = { ...dotEnv(cwd), ...io.env };
  if (isProduction(env)) {
    io.err('token: NODE_ENV=production takes tokens from your identity provider, not this development identity\n');
    return 78;
  }
  const auth = readAuthConfig(env);
  if (auth.mode !== 'hs256' || !auth.secret) {
    io.err(`token: needs AUTH_MODE=hs256 and AUTH_JWT_SECRET (in the environment or ./.env); AUTH_MODE is ${auth.mode}\n`);
    return 78;
  }
  // jose is an ES module and this build CommonJS: imported on demand, as token-verifier.ts does.
  const { SignJWT } = await import('jose');
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(customerId).setIssuedAt().setExpirationTime(`${expires}s`);
  if (auth.audience) jwt = jwt.setAudience(auth.audience);
  if (auth.issuer) jwt = jwt.setIssuer(auth.issuer);
  io.out(`${await jwt.sign(new TextEncoder().encode(auth.secret))}\n`);
  return 0;
}

function dotEnv(cwd: string): Record<string, string | undefined> {
  const file = path.join(cwd, '.env');
  return existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
}

if (require.main === module)
  exitWith(
    'token',
    runTokenCli(process.argv.slice(2), { env: process.env, out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }),
  );
