import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { bearerToken } from '../auth/token-verifier';
import { problemOf, sendProblem } from './problem';

/** Reads: `/metrics`, `/healthz`, `/readyz` stay open to the scraper and the orchestrator, as do admin reads. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The OpenAPI security scheme of the ops ports' state-changing routes (`schema.security`). */
export const OPS_SECURITY = [{ opsToken: [] }];

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Every request that can change state on an ops port (any method but GET, HEAD, OPTIONS: `PUT /stock`, and any
 * admin mutation added later) must carry `Authorization: Bearer <OPS_TOKEN>`, else 401 problem+json. The token is
 * compared by digest in constant time, so neither its length nor its prefix leaks through timing.
 */
export function requireOpsToken(app: FastifyInstance, opsToken: string): void {
  const expected = digest(opsToken);
  app.addHook('onRequest', async (req, reply) => {
    if (READ_METHODS.has(req.method)) return undefined;
    const token = bearerToken(req.headers.authorization);
    if (token && timingSafeEqual(digest(token), expected)) return undefined;
    reply.header('www-authenticate', `Bearer realm="ops"${token ? ', error="invalid_token"' : ''}`);
    return sendProblem(
      reply,
      problemOf(401, token ? 'the ops token is not valid' : 'this route needs the ops token (Authorization: Bearer <OPS_TOKEN>)'),
    );
  });
}
