import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken } from '../auth/token-verifier';
import { problemOf, sendProblem } from './problem';

/**
 * The only ops routes open without the token: the kubelet's probes and Prometheus' scrape carry no credential. Every
 * other route on an ops port, read or write (`GET /payments/:orderId` shows amounts, `GET /stock/:productId` the
 * stock), is admin and needs the token: an allow-list, so an admin route added later is closed until it is named here.
 */
export const OPEN_OPS_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

const OPEN_METHODS = new Set(['GET', 'HEAD']);

/** The OpenAPI security scheme of the ops ports' admin routes (`schema.security`), reads and writes alike. */
export const OPS_SECURITY = [{ opsToken: [] }];

const digest = (text: string) => createHash('sha256').update(text).digest();

/** True for a probe or a scrape: GET or HEAD of an {@link OPEN_OPS_PATHS} route (the route matched, not the raw URL). */
export function isOpenOpsRequest(req: FastifyRequest): boolean {
  return OPEN_METHODS.has(req.method) && OPEN_OPS_PATHS.has(req.routeOptions.url ?? '');
}

/**
 * Every request on an ops port but a probe or a scrape ({@link isOpenOpsRequest}) must carry
 * `Authorization: Bearer <OPS_TOKEN>`, else 401 problem+json; that includes unmatched URLs, so a caller without the
 * token cannot map the admin routes by their 404s. The token is compared by digest in constant time, so neither its
 * length nor its prefix leaks through timing.
 */
export function requireOpsToken(app: FastifyInstance, opsToken: string): void {
  const expected = digest(opsToken);
  app.addHook('onRequest', async (req, reply) => {
    if (isOpenOpsRequest(req)) return undefined;
    const token = bearerToken(req.headers.authorization);
    if (token && timingSafeEqual(digest(token), expected)) return undefined;
    reply.header('www-authenticate', `Bearer realm="ops"${token ? ', error="invalid_token"' : ''}`);
    return sendProblem(
      reply,
      problemOf(401, token ? 'the ops token is not valid' : 'this route needs the ops token (Authorization: Bearer <OPS_TOKEN>)'),
    );
  });
}
